"""Texts of the operator's command line (``danvan ...``): plain text for a terminal, no HTML."""

from __future__ import annotations

from bot.texts import role_label

# danvan db, lexicon, units, invite, admin, group-add, init
SCHEMA_UP_TO_DATE = "Cơ sở dữ liệu đã ở phiên bản mới nhất."
LEXICON_VALID = "Từ điển hợp lệ."
IMPORT_NOTHING_WRITTEN = "Không nhập gì: hãy sửa các dòng trên rồi chạy lại."
GIVE_AN_ACCOUNT = "Hãy cho biết --telegram-id hoặc --zalo-id."
ACCOUNT_EXISTS = "Tài khoản này đã được đăng ký."
GROUP_ADDED = "Đã đăng ký nhóm làm việc của văn phòng."
ADMIN_EXISTS = "Đã có quản trị viên; không tạo mã khởi tạo."

# danvan jobs, schedule
BAD_MOMENT = "Thời điểm chưa đúng dạng ISO 8601, ví dụ 2026-03-08T08:00:00+07:00."
RECENT_RUNS = "Đã chạy gần đây:"
NOTHING_DUE = "Không có việc nào đến hạn."
SCHEDULE_SAVED = "Đã lưu lịch mới."

# danvan people

PERSON_NOT_FOUND = "Không tìm thấy người có mã số {id}."
UNIT_NOT_FOUND = "Không tìm thấy đơn vị {code}."
NOTHING_TO_CHANGE = "Hãy cho biết thay đổi: --role và/hoặc --unit."
NO_PEOPLE = "Không có ai."
STATE_ACTIVE = "đang hoạt động"
STATE_INACTIVE = "đã khóa"


def person_line(person_id: int, name: str, role: str, unit: str, channels: str, active: bool) -> str:
    state = STATE_ACTIVE if active else STATE_INACTIVE
    return f"{person_id:>6}  {name} · {role_label(role)} · {unit or '—'} · {channels or '—'} · {state}"


def person_changed(name: str, role: str, unit: str) -> str:
    return f"Đã cập nhật {name}: {role_label(role)}, đơn vị {unit or '—'}."


def person_deactivated(name: str) -> str:
    return f"Đã khóa tài khoản của {name}: người này không dùng được bot và không nhận thông báo nữa."


def person_activated(name: str) -> str:
    return f"Đã mở lại tài khoản của {name}."


def imported(created: int, updated: int, unchanged: int) -> str:
    return f"Đã nhập: {created} mới, {updated} cập nhật, {unchanged} không đổi."


def admin_added(name: str) -> str:
    return f"Đã thêm quản trị viên {name}."


def bootstrap_code(code: str) -> str:
    return f"Mã khởi tạo quản trị (dùng một lần, hạn 3 ngày): {code}\nGửi cho bot: /dangky {code}"


def job_outcome(job: str, period_key: str, status: str, queued: int) -> str:
    return f"{job:<10} {period_key}  {status}  {queued} tin nhắn"


def unknown_schedule_key(key: str, keys: list[str]) -> str:
    return f"Không có mục lịch {key}; các mục: {', '.join(keys)}."


def unknown_role(value: str) -> str:
    return f"Không có vai trò {value}; dùng reporter, officer hoặc admin."


def unknown_format(value: str, formats: list[str]) -> str:
    return f"Không có định dạng {value}; dùng {', '.join(formats)}."
