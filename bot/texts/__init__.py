"""The catalogue of every user-facing text (Vietnamese). Values interpolated here are escaped for HTML."""

from __future__ import annotations

from html import escape

ROLE_LABELS = {"reporter": "Báo cáo viên cơ sở", "officer": "Cán bộ Ban", "admin": "Quản trị viên"}
CHANNEL_LABELS = {"telegram": "Telegram", "zalo": "Zalo"}

# Command descriptions shown in the Telegram menu (≤ 256 characters each) and in /trogiup.
COMMANDS: dict[str, str] = {
    "start": "Bắt đầu / đăng ký bằng mã mời",
    "dangky": "Đăng ký bằng mã mời: /dangky MÃ",
    "trogiup": "Hướng dẫn sử dụng",
    "toi": "Thông tin của tôi",
    "moi": "Tạo mã mời: /moi [mã đơn vị] [vai trò] [số lượng]",
}


def e(value: object) -> str:
    """Escape a value for Telegram HTML."""
    return escape(str(value), quote=False)


def role_label(role: str) -> str:
    return ROLE_LABELS.get(role, role)


# --- Unregistered people and registration -------------------------------------------------

UNREGISTERED = (
    "Xin chào! Bot này chỉ dành cho cán bộ đã được đăng ký.\n"
    "Để đăng ký, vui lòng gửi mã mời do Ban Dân vận cấp theo cú pháp:\n"
    "<code>/dangky MÃ-MỜI</code>\n"
    "Nếu chưa có mã, vui lòng liên hệ cán bộ phụ trách."
)
INVITE_MISSING = "Vui lòng gửi kèm mã mời, ví dụ: <code>/dangky ABCD-2345</code>"
INVITE_WRONG = "Mã mời không đúng. Vui lòng kiểm tra lại từng ký tự."
INVITE_EXPIRED = "Mã mời này đã hết hạn. Vui lòng xin cán bộ phụ trách cấp mã mới."
INVITE_USED = "Mã mời này đã được sử dụng. Mỗi mã chỉ dùng được một lần; vui lòng xin mã mới."
GROUP_NOT_ALLOWED = "Vui lòng nhắn riêng cho bot để đăng ký và gửi báo cáo."


def invite_throttled(minutes: int) -> str:
    return f"Bạn đã nhập sai mã quá nhiều lần. Vui lòng thử lại sau {minutes} phút."


def confirm_name(name: str, role: str, unit_path: str) -> str:
    return (
        f"Mã mời hợp lệ: <b>{e(role_label(role))}</b> – {e(unit_path)}.\n\n"
        f"Họ tên của bạn là <b>{e(name)}</b>?\n"
        "Bấm «Đúng» hoặc gõ lại họ tên đầy đủ."
    )


ASK_FULL_NAME = "Mã mời hợp lệ. Vui lòng gõ họ tên đầy đủ của bạn."
BUTTON_NAME_OK = "Đúng"
NAME_INVALID = "Họ tên cần từ 2 đến 100 ký tự. Vui lòng gõ lại."


def registered(name: str, role: str, unit_path: str) -> str:
    return (
        f"Đăng ký thành công. Chào {e(name)}!\n"
        f"Vai trò: {e(role_label(role))}\nĐơn vị: {e(unit_path)}\n\n"
        "Gõ /trogiup để xem hướng dẫn."
    )


def already_registered(name: str) -> str:
    return f"Bạn đã đăng ký với tên {e(name)}. Gõ /trogiup để xem hướng dẫn."


ACCOUNT_DISABLED = "Tài khoản của bạn đang tạm khóa. Vui lòng liên hệ cán bộ phụ trách."

# --- Basic commands ------------------------------------------------------------------------

HELP_HEADER = {
    "reporter": (
        "<b>Hướng dẫn cho báo cáo viên</b>\n"
        "Gửi vài dòng về tình hình ở địa bàn (có thể gõ không dấu). "
        "Bot tự phân loại: dân tộc, tôn giáo, tình hình Nhân dân và báo ngay cho Ban nếu việc khẩn."
    ),
    "officer": (
        "<b>Hướng dẫn cho cán bộ Ban</b>\n"
        "Bạn nhận báo cáo và tin khẩn của các đơn vị thuộc phạm vi phụ trách."
    ),
    "admin": "<b>Hướng dẫn cho quản trị viên</b>\nBạn quản lý đơn vị, mã mời, lịch báo cáo và thông báo.",
}


def help_text(role: str, commands: list[tuple[str, str]]) -> str:
    lines = [HELP_HEADER.get(role, HELP_HEADER["reporter"]), "", "<b>Các lệnh:</b>"]
    lines += [f"/{name} – {e(desc)}" for name, desc in commands]
    return "\n".join(lines)


def whoami(name: str, role: str, unit_path: str, channels: list[str]) -> str:
    linked = ", ".join(CHANNEL_LABELS.get(c, c) for c in channels) or "—"
    return (
        f"<b>{e(name)}</b>\n"
        f"Vai trò: {e(role_label(role))}\n"
        f"Đơn vị: {e(unit_path or '—')}\n"
        f"Kênh đã liên kết: {e(linked)}"
    )


def unknown_command(command: str) -> str:
    return f"Không có lệnh /{e(command)}. Gõ /trogiup để xem các lệnh."


NOT_ALLOWED = "Lệnh này không dành cho vai trò của bạn."
MEDIA_NOT_READABLE = "Bot chưa đọc được loại tin nhắn này. Vui lòng gõ nội dung bằng chữ."
STICKER_RECEIVED = "Bot đã nhận nhãn dán 🙂 Nếu có tình hình cần báo cáo, vui lòng gõ bằng chữ."
UNSUPPORTED_CONTENT = "Tin nhắn này không hiển thị được nội dung. Vui lòng gõ lại bằng chữ."
EDITED_IGNORED = (
    "Bot không tự cập nhật tin nhắn đã sửa. "
    "Nếu cần sửa báo cáo, vui lòng dùng /sua kèm số báo cáo."
)
EXPIRED_BUTTON = "Lựa chọn này đã hết hiệu lực."
EMPTY_MESSAGE = "Tin nhắn trống. Vui lòng gõ nội dung cần báo cáo."
INTERNAL_ERROR = "Xin lỗi, bot gặp lỗi khi xử lý tin nhắn này. Bot sẽ tự thử lại; bạn không cần gửi lại."

# --- Invites created in chat ---------------------------------------------------------------

MOI_USAGE = (
    "Cú pháp: <code>/moi [mã đơn vị] [vai trò] [số lượng]</code>\n"
    "Vai trò: reporter (báo cáo viên), officer (cán bộ Ban), admin. Mặc định: đơn vị của bạn, reporter, 1 mã."
)


def unknown_unit(code: str) -> str:
    return f"Không tìm thấy đơn vị có mã {e(code)}."


OUT_OF_SCOPE = "Đơn vị này nằm ngoài phạm vi phụ trách của bạn."
ADMIN_ONLY_ROLE = "Chỉ quản trị viên mới cấp được mã cho vai trò này."


def invites_created(unit_path: str, role: str, days: int, items: list[tuple[str, str | None]]) -> str:
    lines = [f"Đã tạo {len(items)} mã mời cho <b>{e(role_label(role))}</b> – {e(unit_path)} (hạn {days} ngày):"]
    for code, link in items:
        lines.append(f"<code>{e(code)}</code>" + (f"  {e(link)}" if link else ""))
    lines.append("Mỗi mã dùng một lần. Người nhận gửi /dangky MÃ cho bot.")
    return "\n".join(lines)

# --- Situation reports ---------------------------------------------------------------------

TOPIC_LABELS = {"dan_toc": "Dân tộc", "ton_giao": "Tôn giáo", "nhan_dan": "Tình hình Nhân dân"}
TOPIC_SHORT = {"dan_toc": "Dân tộc", "ton_giao": "Tôn giáo", "nhan_dan": "Nhân dân"}
STATUS_LABELS = {"new": "mới", "acknowledged": "đã nắm", "in_progress": "đang xử lý", "resolved": "đã giải quyết"}
STATE_LABELS = {"withdrawn": "đã rút", "discarded": "không phải báo cáo", "draft": "chưa lưu"}
SOURCE_LABELS = {"auto": "bot", "reporter": "người báo cáo", "officer": "cán bộ Ban", "hashtag": "hashtag"}

COMMANDS.update(
    {
        "cuatoi": "Báo cáo gần đây của tôi",
        "sua": "Sửa báo cáo (trong 24 giờ): /sua SỐ nội dung mới",
        "huy": "Rút báo cáo (trong 24 giờ): /huy SỐ",
        "xem": "Xem báo cáo mới: /xem [dantoc|tongiao|nhandan|khan]",
        "bc": "Xem chi tiết một báo cáo: /bc SỐ",
        "traloi": "Trả lời người báo cáo: /traloi SỐ nội dung",
    }
)

BUTTON_URGENT_ON = "🔴 Đánh dấu khẩn"
BUTTON_URGENT_OFF = "Bỏ khẩn"
BUTTON_NOT_REPORT = "Không phải báo cáo"
BUTTON_FILE = "Lưu thành báo cáo"
BUTTON_ACK = "✅ Đã nắm"
BUTTON_IN_PROGRESS = "Đang xử lý"
BUTTON_RESOLVED = "Đã giải quyết"
BUTTON_REPLY = "💬 Trả lời"
BUTTON_DETAIL = "Chi tiết"
ACK_RECORDED = "Đã ghi nhận."


def already_acknowledged(name: str) -> str:
    return f"Đã được {name} nắm trước."


def recent_reports(lines: list[str]) -> str:
    return "<b>Báo cáo gần đây</b>\n" + "\n".join(lines) + "\n\nXem chi tiết: /bc SỐ"


def reason_chosen_by(label: str, source: str) -> str:
    return f"{label}: do {SOURCE_LABELS.get(source, source)} chọn"


URGENT_SHORT = "khẩn"


def topic_button(topic: str, on: bool) -> str:
    return ("✅ " if on else "▫️ ") + TOPIC_SHORT[topic]


def topics_line(topics: list[str]) -> str:
    return ", ".join(TOPIC_LABELS[t] for t in topics) if topics else "chưa xác định"


def receipt(
    number: int, topics: list[str], urgent: bool, reasons: list[str], *, appended: bool = False, alerted: bool = False
) -> str:
    head = f"Đã bổ sung vào báo cáo số <b>#{number}</b>." if appended else f"Đã nhận báo cáo số <b>#{number}</b>."
    lines = [head, f"Chủ đề: {e(topics_line(topics))}"]
    if urgent:
        lines.append("Mức độ: 🔴 <b>KHẨN</b>" + (" – đã báo ngay cho Ban." if alerted else ""))
    if reasons:
        lines.append("Căn cứ: " + e("; ".join(reasons[:6])))
    lines.append("Nếu phân loại chưa đúng, bấm nút bên dưới để sửa.")
    return "\n".join(lines)


def ask_to_file(answer: str | None) -> str:
    lead = f"{answer}\n\n" if answer else ""
    return lead + "Tin nhắn này chưa rõ nội dung báo cáo. Có lưu thành báo cáo không? Chọn chủ đề hoặc bấm «Lưu thành báo cáo»."


ANSWER_THANKS = "Dạ, cảm ơn anh/chị."
ANSWER_GREETING = "Xin chào anh/chị!"
ANSWER_HELP = "Gửi vài dòng về tình hình ở địa bàn là bot tự lưu thành báo cáo. Gõ /trogiup để xem các lệnh."


def answer_deadline(period_label: str, deadline_text: str) -> str:
    return f"Hạn nộp báo cáo {e(period_label)}: hết ngày {e(deadline_text)}."


ASK_DESCRIPTION = {
    "photo": "Đã nhận ảnh. Vui lòng gửi thêm một dòng mô tả nội dung để lưu báo cáo.",
    "voice": "Đã nhận tin nhắn thoại. Vui lòng gõ một dòng tóm tắt nội dung để lưu báo cáo.",
    "location": "Đã nhận vị trí. Vui lòng gửi thêm một dòng mô tả sự việc để lưu báo cáo.",
    "other": "Đã nhận tệp. Vui lòng gửi thêm một dòng mô tả nội dung để lưu báo cáo.",
}
DISCARDED = "Đã bỏ, không lưu tin nhắn này thành báo cáo."
REPORT_NOT_FOUND = "Không tìm thấy báo cáo này trong phạm vi của bạn."
REPORT_NOT_OWN = "Bạn chỉ sửa hoặc rút được báo cáo của chính mình."
REPORT_TOO_OLD = "Chỉ sửa hoặc rút được báo cáo trong vòng 24 giờ sau khi gửi."
REPORT_NOT_ACTIVE = "Báo cáo này đã được rút hoặc bỏ."
SUA_USAGE = "Cú pháp: <code>/sua SỐ nội dung mới</code>, ví dụ: <code>/sua 12 Bà con thôn 3 ...</code>"
HUY_USAGE = "Cú pháp: <code>/huy SỐ</code>, ví dụ: <code>/huy 12</code>"
BC_USAGE = "Cú pháp: <code>/bc SỐ</code>, ví dụ: <code>/bc 12</code>"
TRALOI_USAGE = "Cú pháp: <code>/traloi SỐ nội dung</code>"
NO_REPORTS = "Chưa có báo cáo nào."
MESSAGE_TOO_LONG = "Nội dung quá dài (tối đa 4.000 ký tự). Vui lòng chia thành nhiều tin nhắn."


def withdrawn(number: int) -> str:
    return f"Đã rút báo cáo #{number}."


def edited(number: int) -> str:
    return f"Đã sửa nội dung báo cáo #{number}."


def my_reports(lines: list[str]) -> str:
    return "<b>Báo cáo gần đây của bạn</b>\n" + "\n".join(lines)


def report_line(number: int, when: str, topics: list[str], urgent: bool, status: str, snippet: str, unit: str = "") -> str:
    flag = " 🔴" if urgent else ""
    where = f" · {e(unit)}" if unit else ""
    return f"<b>#{number}</b> {e(when)}{where} · {e(topics_line(topics))}{flag} · {e(status)}\n   {e(snippet)}"


def urgent_alert(number: int, unit_path: str, reporter: str, when: str, text: str, topics: list[str]) -> str:
    return (
        f"🔴 <b>TIN KHẨN #{number}</b>\n"
        f"Địa bàn: {e(unit_path)}\n"
        f"Người báo: {e(reporter)} · {e(when)}\n"
        f"Chủ đề: {e(topics_line(topics))}\n\n"
        f"{e(text)}"
    )


def acknowledged_note(name: str, when: str) -> str:
    return f"\n\n✅ Đã nắm: {e(name)} lúc {e(when)}"


def reporter_acknowledged(number: int, name: str) -> str:
    return f"Báo cáo #{number} của bạn đã được {e(name)} (Ban) tiếp nhận."


def officer_reply(number: int, officer: str, text: str) -> str:
    return f"💬 <b>Phản hồi về báo cáo #{number}</b> từ {e(officer)}:\n{e(text)}"


ASK_REPLY_TEXT = "Vui lòng gõ nội dung trả lời người báo cáo."


def reply_sent(number: int) -> str:
    return f"Đã gửi trả lời cho người báo cáo #{number}."


def status_changed(number: int, status: str) -> str:
    return f"Báo cáo #{number}: {e(STATUS_LABELS.get(status, status))}."


def report_detail(
    number: int, unit_path: str, reporter: str, when: str, text: str, topics: list[tuple[str, str]],
    urgent: bool, status: str, reasons: list[str], history: list[str],
) -> str:
    topic_text = ", ".join(f"{TOPIC_LABELS[t]} ({SOURCE_LABELS.get(s, s)})" for t, s in topics) or "chưa xác định"
    lines = [
        f"<b>Báo cáo #{number}</b>" + (" 🔴 <b>KHẨN</b>" if urgent else ""),
        f"Địa bàn: {e(unit_path)}",
        f"Người báo: {e(reporter)} · {e(when)}",
        f"Trạng thái: {e(status)}",
        f"Chủ đề: {e(topic_text)}",
        "",
        e(text),
    ]
    if reasons:
        lines += ["", "<b>Căn cứ phân loại:</b>"] + [f"• {e(r)}" for r in reasons]
    if history:
        lines += ["", "<b>Lịch sử:</b>"] + [f"• {e(h)}" for h in history]
    return "\n".join(lines)


HISTORY_LABELS = {
    "created": "tạo", "append": "bổ sung", "edit": "sửa nội dung", "retag": "sửa chủ đề", "urgent": "đổi mức khẩn",
    "status": "đổi trạng thái", "withdraw": "rút", "discard": "bỏ", "reply": "trả lời", "ack": "đã nắm",
    "file": "lưu thành báo cáo", "describe": "thêm mô tả",
}

# --- Zalo (no buttons, no files) -------------------------------------------------------------


def numbered_hint(count: int) -> str:
    if count <= 1:
        return "Trả lời 1 để chọn."
    numbers = ", ".join(str(i) for i in range(1, count))
    return f"Trả lời {numbers} hoặc {count}."


def zalo_file_link(filename: str, url: str) -> str:
    return f"📎 {filename}: {url}"


def zalo_file_elsewhere(filename: str) -> str:
    return f"📎 Tệp {filename} chưa gửi được qua Zalo. Vui lòng mở bot trên Telegram hoặc xin văn phòng gửi qua email."


def choose_number(count: int) -> str:
    return f"Vui lòng trả lời một số từ 1 đến {count}."


# --- Linking a second channel ------------------------------------------------------------------

COMMANDS.update({"lienket": "Liên kết thêm kênh Telegram/Zalo", "kenh": "Chọn kênh nhận thông báo: /kenh zalo|telegram"})


def link_code_issued(code: str, other: str, minutes: int) -> str:
    return (
        f"Mã liên kết của bạn: <code>{e(code)}</code> (dùng một lần, hạn {minutes} phút).\n"
        f"Mở bot trên {e(other)} và gửi: <code>/lienket {e(code)}</code>"
    )


LINK_WRONG = "Mã liên kết không đúng hoặc đã hết hạn. Vui lòng lấy mã mới bằng /lienket trên kênh đã đăng ký."
LINK_SAME_PERSON = "Kênh này đã được liên kết với tài khoản của bạn."
LINK_OTHER_PERSON = "Tài khoản trên kênh này đã đăng ký cho người khác; không liên kết được."


def linked(name: str, channel: str) -> str:
    return f"Đã liên kết {e(CHANNEL_LABELS.get(channel, channel))} với tài khoản {e(name)}. Gõ /toi để kiểm tra."


def channel_status(preferred: str | None, channels: list[str]) -> str:
    names = ", ".join(CHANNEL_LABELS.get(c, c) for c in channels) or "—"
    pref = CHANNEL_LABELS.get(preferred or "", "—")
    return (
        f"Kênh đã liên kết: {e(names)}\nKênh nhận thông báo: <b>{e(pref)}</b>\n"
        "Đổi bằng <code>/kenh zalo</code> hoặc <code>/kenh telegram</code>."
    )


def channel_set(channel: str) -> str:
    return f"Từ nay thông báo, lời nhắc và bản tổng hợp sẽ gửi qua {e(CHANNEL_LABELS.get(channel, channel))}."


def channel_not_linked(channel: str) -> str:
    return f"Bạn chưa liên kết {e(CHANNEL_LABELS.get(channel, channel))}. Dùng /lienket để liên kết trước."



def quota_warning(channel: str, sent: int, quota: int, level: int) -> str:
    name = CHANNEL_LABELS.get(channel, channel)
    extra = " Thông báo hàng loạt sẽ tạm dừng khi dùng hết 90% để dành chỗ trả lời báo cáo." if level < 90 else (
        " Thông báo hàng loạt qua kênh này đã tạm dừng đến tháng sau; trả lời báo cáo vẫn được ưu tiên.")
    return f"⚠️ {e(name)} đã dùng {sent:,}/{quota:,} tin nhắn của tháng ({level}%).".replace(",", ".") + extra

# The catalogue continues by feature; importing them here keeps `texts.X` working for every text.
from bot.texts.calendar import *  # noqa: E402,F403
from bot.texts.digest import *  # noqa: E402,F403
from bot.texts.notices import *  # noqa: E402,F403
