"""User-facing texts: the reporting calendar and the guided periodic report (part of bot.texts)."""

from __future__ import annotations

from bot.texts import COMMANDS, e

COMMANDS.update(
    {
        "baocao": "Làm báo cáo định kỳ (quý, 6 tháng, 9 tháng, năm)",
        "lich": "Lịch báo cáo: xem, đổi giờ nhắc, chạy ngay",
    }
)

PERIODIC_TOPICS = ("nhan_dan", "dan_toc", "ton_giao")
PERIODIC_QUESTIONS = {
    "nhan_dan": "1/4. <b>Tình hình Nhân dân</b> (tư tưởng, đời sống, kiến nghị, khiếu nại, an ninh trật tự…) trong kỳ?",
    "dan_toc": "2/4. <b>Tình hình dân tộc</b> (đồng bào dân tộc thiểu số, chính sách, người có uy tín, di cư…) trong kỳ?",
    "ton_giao": "3/4. <b>Tình hình tôn giáo</b> (hoạt động tôn giáo, cơ sở thờ tự, truyền đạo trái phép…) trong kỳ?",
    "kien_nghi": "4/4. <b>Kiến nghị, đề xuất</b> với cấp trên (nếu có)?",
}
PERIODIC_SECTION = {
    "nhan_dan": "Tình hình Nhân dân", "dan_toc": "Tình hình dân tộc", "ton_giao": "Tình hình tôn giáo",
    "kien_nghi": "Kiến nghị, đề xuất",
}
BUTTON_STABLE = "Ổn định, không có gì mới"
BUTTON_NO_PROPOSAL = "Không có kiến nghị"
BUTTON_START_PERIODIC = "📝 Bắt đầu báo cáo"
BUTTON_SUBMIT = "✅ Gửi báo cáo"
BUTTON_CANCEL = "Hủy"
STABLE = "Ổn định, không có gì mới."
NO_PROPOSAL = "Không có."
TYPE_OR_TAP = "Gõ nội dung, hoặc bấm nút nếu không có gì mới."


def edit_button(part: str) -> str:
    return "Sửa: " + PERIODIC_SECTION[part]


def periodic_intro(label: str, deadline: str, resumed: bool) -> str:
    head = "Tiếp tục báo cáo" if resumed else "Báo cáo định kỳ"
    return f"<b>{head} {e(label)}</b> (hạn: hết ngày {e(deadline)})."


def periodic_summary(label: str, unit: str, answers: dict[str, str | None], adhoc: list[str], late: bool) -> str:
    lines = [f"<b>Tóm tắt báo cáo {e(label)}</b> – {e(unit)}", ""]
    for part in ("nhan_dan", "dan_toc", "ton_giao", "kien_nghi"):
        value = answers.get(part)
        shown = value if value else (NO_PROPOSAL if part == "kien_nghi" else STABLE)
        lines.append(f"<b>{PERIODIC_SECTION[part]}:</b> {e(shown)}")
    if adhoc:
        lines += ["", f"<b>Báo cáo đột xuất trong kỳ ({len(adhoc)}):</b>"] + [f"• {e(a)}" for a in adhoc[:10]]
        if len(adhoc) > 10:
            lines.append(f"… và {len(adhoc) - 10} báo cáo khác.")
    if late:
        lines += ["", "⚠️ Đã quá hạn nộp; báo cáo sẽ được ghi nhận là nộp muộn."]
    lines += ["", "Kiểm tra lại rồi bấm «Gửi báo cáo», hoặc chọn phần cần sửa."]
    return "\n".join(lines)


def periodic_submitted(label: str, late: bool, resubmitted: bool) -> str:
    text = f"Đã nộp báo cáo {e(label)}. Cảm ơn anh/chị!"
    if resubmitted:
        text += " Bản này thay cho bản đã nộp trước (bản cũ vẫn được lưu)."
    if late:
        text += " (Nộp muộn.)"
    return text


PERIODIC_CANCELLED = "Đã dừng báo cáo định kỳ. Gõ /baocao để làm lại khi cần."
PERIODIC_NO_UNIT = "Tài khoản của bạn chưa gắn với đơn vị nên chưa làm được báo cáo định kỳ."
PERIODIC_STALE = "Kỳ báo cáo này đã qua. Gõ /baocao để làm báo cáo kỳ hiện tại."


def prompt_message(label: str, deadline: str) -> str:
    return (
        f"📅 <b>Đến kỳ báo cáo {e(label)}</b>\n"
        f"Đề nghị đơn vị gửi báo cáo tình hình Nhân dân, dân tộc, tôn giáo; hạn: hết ngày {e(deadline)}.\n"
        "Bấm «Bắt đầu báo cáo» (hoặc gõ /baocao) – chỉ mất vài phút."
    )


def reminder_message(label: str, deadline: str) -> str:
    return (
        f"⏰ Nhắc: đơn vị chưa nộp báo cáo {e(label)}. Hạn: hết ngày {e(deadline)}.\n"
        "Bấm «Bắt đầu báo cáo» hoặc gõ /baocao."
    )


def escalation_message(label: str, missing: list[str], expected: int) -> str:
    if not missing:
        return f"✅ Báo cáo {e(label)}: tất cả {expected} đơn vị trong phạm vi đã nộp."
    lines = [f"⚠️ <b>Báo cáo {e(label)}: {len(missing)}/{expected} đơn vị chưa nộp</b>"]
    lines += [f"• {e(name)}" for name in missing[:60]]
    if len(missing) > 60:
        lines.append(f"… và {len(missing) - 60} đơn vị khác.")
    return "\n".join(lines)


def missed_job(job: str, label: str, due: str) -> str:
    return (
        f"⚠️ Lịch báo cáo: việc «{e(JOB_LABELS.get(job, job))}» kỳ {e(label)} (đến hạn {e(due)}) "
        "đã bị lỡ vì bot không chạy vào lúc đó và đã quá thời gian bù. Có thể chạy tay bằng /lich chay."
    )


JOB_LABELS = {"prompt": "gửi lời nhắc báo cáo", "reminder": "nhắc đơn vị chưa nộp",
              "escalation": "báo đơn vị chưa nộp cho Ban", "digest": "gửi bản tổng hợp"}
JOB_WORDS = {"moi": "prompt", "nhac": "reminder", "canhbao": "escalation", "tonghop": "digest"}


def schedule_view(lines: list[str], upcoming: list[str]) -> str:
    parts = ["<b>Lịch báo cáo</b>"] + [e(x) for x in lines]
    if upcoming:
        parts += ["", "<b>Sắp tới:</b>"] + [e(x) for x in upcoming]
    parts += [
        "",
        "Đổi: <code>/lich moi|nhac NGÀY GIỜ</code> (ngày của tháng cuối quý), "
        "<code>/lich canhbao|tonghop SỐ_NGÀY_SAU_HẠN GIỜ</code>, ví dụ <code>/lich nhac 12 08:00</code>.",
        "Chạy ngay cho kỳ hiện tại: <code>/lich chay moi|nhac|canhbao|tonghop</code>.",
    ]
    return "\n".join(parts)


def schedule_line(job: str, when: str) -> str:
    return f"{JOB_LABELS[job].capitalize()}: {when}"


def schedule_day_of_month(day: int, at: str) -> str:
    return f"ngày {day} tháng cuối quý, {at}"


def schedule_days_after(days: int, at: str) -> str:
    return f"{days} ngày sau hạn, {at}"


SCHEDULE_BAD_SYNTAX = "cú pháp chưa đúng"
SCHEDULE_BAD_TIME = "giờ phải dạng HH:MM"
SCHEDULE_PICK_JOB = "cần chọn việc: moi, nhac, canhbao hoặc tonghop"
SCHEDULE_BAD_PERIOD = "mã kỳ phải dạng 2026-Q1"


def schedule_changed(job: str) -> str:
    return f"Đã đổi lịch «{JOB_LABELS[job]}». Áp dụng ngay, không cần khởi động lại."


def schedule_invalid(reason: str) -> str:
    return f"Không đổi được lịch: {e(reason)}"


def job_ran(job: str, label: str, queued: int) -> str:
    return (
        f"Đã chạy «{JOB_LABELS[job]}» kỳ {e(label)}: {queued} tin nhắn mới được xếp hàng gửi "
        "(ai đã nhận trước đó sẽ không nhận lại)."
    )
