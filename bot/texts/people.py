"""Texts of the operator's people commands (``danvan people ...``): plain text for a terminal."""

from __future__ import annotations

PERSON_NOT_FOUND = "Không tìm thấy người có mã số {id}."
UNIT_NOT_FOUND = "Không tìm thấy đơn vị {code}."
NOTHING_TO_CHANGE = "Hãy cho biết thay đổi: --role và/hoặc --unit."
NO_PEOPLE = "Không có ai."
STATE_ACTIVE = "đang hoạt động"
STATE_INACTIVE = "đã khóa"


def person_line(person_id: int, name: str, role: str, unit: str, channels: str, active: bool) -> str:
    from bot.texts import role_label

    state = STATE_ACTIVE if active else STATE_INACTIVE
    return f"{person_id:>6}  {name} · {role_label(role)} · {unit or '—'} · {channels or '—'} · {state}"


def person_changed(name: str, role: str, unit: str) -> str:
    from bot.texts import role_label

    return f"Đã cập nhật {name}: {role_label(role)}, đơn vị {unit or '—'}."


def person_deactivated(name: str) -> str:
    return f"Đã khóa tài khoản của {name}: người này không dùng được bot và không nhận thông báo nữa."


def person_activated(name: str) -> str:
    return f"Đã mở lại tài khoản của {name}."
