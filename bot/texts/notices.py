"""User-facing texts: notices (part of the catalogue in bot.texts)."""

from __future__ import annotations

from bot.texts import CHANNEL_LABELS, COMMANDS, e, role_label

COMMANDS.update(
    {
        "thongbao": "Gửi thông báo tới cán bộ: /thongbao [nội dung]",
        "thongbao_ketqua": "Kết quả thông báo, ai đã nhận: /thongbao_ketqua [SỐ]",
    }
)


def fmt_count(value: int) -> str:
    """Format a count the Vietnamese way: 5.000, 12.345."""
    return f"{value:,}".replace(",", ".")


def fmt_duration(seconds: float) -> str:
    """Say how long something took: "45 giây", "3 phút 20 giây", "1 giờ 5 phút"."""
    total = max(0, round(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} giờ {minutes} phút" if minutes else f"{hours} giờ"
    if minutes:
        return f"{minutes} phút {secs} giây" if secs else f"{minutes} phút"
    return f"{secs} giây"


# --- Writing a notice ----------------------------------------------------------------------

NOTICE_ASK_TEXT = (
    "<b>Soạn thông báo</b>\n"
    "Gõ nội dung thông báo. Có thể gửi kèm một ảnh hoặc một tệp, nội dung ghi ở phần chú thích.\n"
    "Bấm «Hủy» nếu không gửi nữa."
)
NOTICE_NO_SCOPE = (
    "Tài khoản của bạn chưa gắn với đơn vị nào nên chưa gửi được thông báo. "
    "Vui lòng liên hệ quản trị viên."
)
NOTICE_EMPTY = "Thông báo cần có nội dung bằng chữ. Vui lòng gõ nội dung (hoặc ghi chú thích cho ảnh, tệp)."
NOTICE_BAD_ATTACHMENT = "Thông báo chỉ kèm được một ảnh hoặc một tệp. Vui lòng gửi lại."
NOTICE_USE_BUTTONS = "Vui lòng chọn một trong các lựa chọn ở tin nhắn trên, hoặc gõ /thongbao để soạn lại."
NOTICE_ASK_ROLE = "Gửi tới những người có vai trò nào?"
NOTICE_ASK_CHANNEL = "Gửi tới những người dùng kênh nào?"
NOTICE_CANCELLED = "Đã hủy, không gửi thông báo."
NOTICE_ALREADY_SENT = "Thông báo này đã được gửi hoặc đã hủy."
NOTICE_NOT_FOUND = "Không tìm thấy thông báo này."
NOTICE_OUT_OF_SCOPE = "Đơn vị này nằm ngoài phạm vi phụ trách của bạn."

BUTTON_AUDIENCE_ALL = "Tất cả"
BUTTON_AUDIENCE_UNIT = "Theo đơn vị"
BUTTON_AUDIENCE_ROLE = "Theo vai trò"
BUTTON_AUDIENCE_CHANNEL = "Theo kênh"
BUTTON_SEND = "✅ Gửi ngay"
BUTTON_NOTICE_CANCEL = "Hủy"
BUTTON_NOTICE_ACK = "✅ Đã nhận"


def notice_text_too_long(limit: int) -> str:
    return f"Nội dung thông báo dài tối đa {fmt_count(limit)} ký tự. Vui lòng rút gọn rồi gửi lại."


def button_send_remind(hours: int) -> str:
    return f"✅ Gửi, nhắc sau {hours} giờ"


def notice_ask_audience(scope: str | None) -> str:
    where = f"\nPhạm vi của bạn: {e(scope)}." if scope else ""
    return f"Gửi thông báo tới ai?{where}"


def notice_ask_unit(example_code: str | None) -> str:
    example = f" (ví dụ <code>{e(example_code)}</code>)" if example_code else ""
    return (
        f"Gõ mã đơn vị{example} hoặc chọn bên dưới. "
        "Thông báo gửi tới mọi người thuộc đơn vị đó và các đơn vị trực thuộc."
    )


def notice_unknown_unit(code: str) -> str:
    return f"Không tìm thấy đơn vị có mã {e(code)} trong phạm vi của bạn. Vui lòng gõ lại mã đơn vị."


def audience_label(kind: str, *, unit: str | None = None, role: str | None = None, channel: str | None = None,
                   scope: str | None = None) -> str:
    """Describe who a notice goes to, e.g. "Vai trò: Báo cáo viên cơ sở (thuộc Xã Một)"."""
    if kind == "unit":
        label = f"Đơn vị {unit} và các đơn vị trực thuộc"
        scope = None
    elif kind == "role":
        label = f"Vai trò: {role_label(role or '')}"
    elif kind == "channel":
        label = f"Người dùng {CHANNEL_LABELS.get(channel or '', channel or '')}"
    else:
        label = "Tất cả cán bộ"
    return f"{label} (thuộc {scope})" if scope else label


def notice_preview(text: str, attachment: str | None, audience: str, count: int, remind_hours: int) -> str:
    lines = ["<b>Xem trước thông báo</b>", "", e(text)]
    if attachment:
        lines += ["", f"📎 Kèm theo: {e(attachment)}"]
    lines += [
        "",
        f"Gửi tới: {e(audience)}",
        f"Số người nhận: <b>{fmt_count(count)}</b>",
        "",
        f"Bấm «Gửi ngay» để gửi, hoặc gửi kèm lời nhắc tự động sau {remind_hours} giờ "
        "cho những ai chưa bấm «Đã nhận».",
    ]
    return "\n".join(lines)


def notice_no_recipients(audience: str) -> str:
    return f"Không có ai đang hoạt động trong nhóm «{e(audience)}». Vui lòng chọn nhóm khác."


# --- Sending and progress --------------------------------------------------------------------


def notice_progress(done: int, total: int, failed: int) -> str:
    return f"📤 Đang gửi {fmt_count(done)}/{fmt_count(total)} · lỗi {fmt_count(failed)}"


def notice_progress_done(sent: int, total: int, failed: int) -> str:
    return f"✅ Đã gửi xong: {fmt_count(sent)}/{fmt_count(total)} · lỗi {fmt_count(failed)}"


def notice_summary(notice_id: int, total: int, sent: int, blocked: int, left: int, other: int, seconds: float) -> str:
    failed = blocked + left + other
    lines = [
        f"<b>Đã gửi xong thông báo #{notice_id}</b>",
        f"Đã gửi tới: {fmt_count(sent)}/{fmt_count(total)} người",
        f"Không gửi được: {fmt_count(failed)}"
        + (f" (chặn bot: {fmt_count(blocked)} · đã rời hoặc ngừng dùng: {fmt_count(left)} · lỗi khác: {fmt_count(other)})"
           if failed else ""),
        f"Thời gian gửi: {fmt_duration(seconds)}",
        f"Xem ai đã bấm «Đã nhận»: /thongbao_ketqua {notice_id}",
    ]
    return "\n".join(lines)


def notice_message(notice_id: int, author: str, author_role: str, text: str, *, reminder: bool = False) -> str:
    """The notice as recipients see it (the reminder repeats it with a different heading)."""
    head = (f"⏰ <b>NHẮC LẠI THÔNG BÁO #{notice_id}</b> – anh/chị chưa bấm «Đã nhận»" if reminder
            else f"📢 <b>THÔNG BÁO #{notice_id}</b>")
    return (
        f"{head}\n"
        f"Từ: {e(author)} – {e(role_label(author_role))}\n\n"
        f"{e(text)}\n\n"
        "Vui lòng bấm «Đã nhận» sau khi đọc."
    )


def notice_acked_line(when: str) -> str:
    return f"\n\n✅ Bạn đã xác nhận lúc {e(when)}"


NOTICE_ACK_TOAST = "Đã ghi nhận. Cảm ơn anh/chị!"
NOTICE_ACK_THANKS = "Đã ghi nhận anh/chị đã nhận thông báo. Cảm ơn!"
NOTICE_ACK_AGAIN = "Anh/chị đã xác nhận thông báo này rồi."


def notice_reminder_sent(notice_id: int, count: int) -> str:
    return f"⏰ Đã nhắc lại thông báo #{notice_id} tới {fmt_count(count)} người chưa bấm «Đã nhận»."


# --- Results ---------------------------------------------------------------------------------

KETQUA_USAGE = "Cú pháp: <code>/thongbao_ketqua SỐ</code>, ví dụ <code>/thongbao_ketqua 12</code>"
NO_NOTICES = "Chưa có thông báo nào được gửi."


def notice_list(lines: list[str]) -> str:
    return "<b>Thông báo gần đây</b>\n" + "\n".join(lines) + "\n\nXem chi tiết: /thongbao_ketqua SỐ"


def notice_list_line(notice_id: int, when: str, snippet: str, sent: int, total: int, acked: int) -> str:
    return (f"<b>#{notice_id}</b> {e(when)} · đã gửi {fmt_count(sent)}/{fmt_count(total)} · "
            f"đã nhận {fmt_count(acked)}\n   {e(snippet)}")


def notice_results(
    notice_id: int, when: str, author: str, audience: str, snippet: str, total: int, sent: int, waiting: int,
    failed: int, acked: int, silent_units: list[str], more_units: int, reminder: str,
) -> str:
    share = f" ({round(100 * acked / sent)}%)" if sent else ""
    lines = [
        f"📊 <b>Kết quả thông báo #{notice_id}</b>",
        f"Gửi lúc {e(when)} · {e(author)}",
        f"Gửi tới: {e(audience)}",
        f"«{e(snippet)}»",
        "",
        f"Người nhận: {fmt_count(total)}",
        f"Đã gửi tới: {fmt_count(sent)}" + (f" · đang chờ gửi: {fmt_count(waiting)}" if waiting else "")
        + f" · không gửi được: {fmt_count(failed)}",
        f"Đã bấm «Đã nhận»: <b>{fmt_count(acked)}</b>/{fmt_count(sent)}{share}",
    ]
    if silent_units:
        extra = f"; và {fmt_count(more_units)} đơn vị khác" if more_units else ""
        lines += ["", f"<b>Đơn vị chưa có ai xác nhận ({fmt_count(len(silent_units) + more_units)}):</b>",
                  "; ".join(e(u) for u in silent_units) + extra]
    elif sent:
        lines += ["", "Mọi đơn vị đều đã có người xác nhận."]
    lines += ["", f"Nhắc lại: {e(reminder)}"]
    return "\n".join(lines)


def reminder_status(hours: int | None, due: str | None, done: str | None) -> str:
    if hours is None:
        return "không đặt"
    if done:
        return f"đã nhắc lúc {done}"
    return f"sau {hours} giờ (lúc {due})"
