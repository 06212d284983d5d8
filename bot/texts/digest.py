"""User-facing texts: digest (part of the catalogue in bot.texts)."""

from __future__ import annotations

from datetime import datetime

from bot.texts import COMMANDS, STATUS_LABELS, TOPIC_SHORT, e

COMMANDS["tonghop"] = "Tổng hợp báo cáo: /tonghop [quy|6thang|9thang|nam] [năm]"

ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}
DIGEST_TOPIC_TITLES = {
    "nhan_dan": "Tình hình Nhân dân",
    "dan_toc": "Tình hình dân tộc",
    "ton_giao": "Tình hình tôn giáo",
}
COMPLIANCE_LABELS = {"on_time": "Đúng hạn", "late": "Trễ hạn", "missing": "Chưa nộp"}

# --- /tonghop ------------------------------------------------------------------------------

TONGHOP_USAGE = (
    "Cú pháp: <code>/tonghop [quy|6thang|9thang|nam] [năm] [mã đơn vị]</code>\n"
    "Ví dụ: <code>/tonghop</code> (quý gần nhất), <code>/tonghop 6thang 2026</code>, <code>/tonghop nam 2025</code>."
)
TONGHOP_NO_UNIT = "Tài khoản của bạn chưa gắn với đơn vị nào nên chưa xem được tổng hợp. Vui lòng liên hệ quản trị viên."
DIGEST_FILES_NOTE = "📎 Kèm theo: biểu đồ, dự thảo báo cáo (Word) và bảng số liệu chi tiết (Excel)."
DIGEST_CHART_CAPTION = "Biểu đồ số báo cáo theo chủ đề, các quý gần nhất"
DIGEST_DOCX_CAPTION = "Dự thảo báo cáo (Word) – vui lòng rà soát, chỉnh sửa trước khi trình."
DIGEST_XLSX_CAPTION = "Số liệu chi tiết (Excel): danh sách báo cáo và tổng hợp theo đơn vị, chủ đề."


def tonghop_future(label: str) -> str:
    return f"Kỳ {e(label)} chưa bắt đầu nên chưa có số liệu. Gõ <code>/tonghop</code> để xem kỳ gần nhất."


def tonghop_bad_year(raw: str) -> str:
    return f"Năm «{e(raw)}» không hợp lệ. Ví dụ: <code>/tonghop quy 2026</code>."


def tonghop_bad_kind(raw: str) -> str:
    return f"Không hiểu kỳ «{e(raw)}». " + TONGHOP_USAGE


def digest_written(path: str, size: int) -> str:
    """Plain text for the command line."""
    return f"Đã ghi {path} ({num(size)} byte)."


# --- Shared formatting ---------------------------------------------------------------------


def num(value: int) -> str:
    """Format a count the Vietnamese way: 1.234."""
    return f"{value:,}".replace(",", ".")


def delta(now: int, before: int) -> str:
    """Return ▲n, ▼n or = for a change."""
    if now > before:
        return f"▲{num(now - before)}"
    if now < before:
        return f"▼{num(before - now)}"
    return "="


def change_phrase(now: int, before: int) -> str:
    """Return "tăng 12 (15,0%)", "giảm 3" or "không đổi" for the Word draft."""
    if now == before:
        return "không thay đổi"
    word = "tăng" if now > before else "giảm"
    diff = abs(now - before)
    share = f" ({diff / before * 100:.1f}%)".replace(".", ",") if before else ""
    return f"{word} {num(diff)}{share}"


def day(moment: datetime) -> str:
    return moment.strftime("%d/%m/%Y")


def quarter_name(quarter: int, year: int) -> str:
    return f"quý {ROMAN[quarter]}/{year}"


def window_line(start: datetime, last_day: datetime, cumulative: bool, until: datetime | None) -> str:
    """Describe the data window; ``until`` is set when the period is still running."""
    text = f"Số liệu từ {day(start)} đến {day(last_day)}"
    if cumulative:
        text += " (cộng dồn từ đầu năm)"
    if until is not None:
        text += f"; tính đến {until.strftime('%H:%M %d/%m/%Y')}"
    return text


def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


def topic_short(topic: str) -> str:
    return TOPIC_SHORT.get(topic, topic)


# --- Chat summary --------------------------------------------------------------------------

DIGEST_EMPTY = "Chưa có báo cáo nào trong kỳ."
DIGEST_UNTAGGED = "Chưa phân loại"
DIGEST_NO_URGENT = "Không có tin khẩn."
DIGEST_NO_THEMES = "Chưa thấy vấn đề nào nổi lên rõ."
DIGEST_NO_KIEN_NGHI = "Không có kiến nghị, đề xuất."
DIGEST_SECTIONS = {
    "overview": "1. Tổng quan",
    "topics": "2. Theo chủ đề",
    "units": "3. Theo đơn vị (nhiều báo cáo nhất)",
    "urgent": "4. Tin khẩn",
    "themes": "5. Vấn đề nổi lên (so với quý trước)",
    "compliance": "6. Báo cáo định kỳ",
    "kien_nghi": "7. Kiến nghị, đề xuất",
}


def digest_title(label: str, unit: str) -> str:
    return f"📊 <b>TỔNG HỢP TÌNH HÌNH {e(label.upper())}</b>\nĐơn vị: {e(unit)}"


def heading(text: str) -> str:
    return f"<b>{e(text)}</b>"


def overview_reports(n: int, last_year: int, last_year_label: str) -> str:
    return f"• Báo cáo: <b>{num(n)}</b> (cùng kỳ {e(last_year_label)}: {num(last_year)}, {delta(n, last_year)})"


def overview_quarter(quarter: int, year: int, n: int, previous: int, previous_name: str, cumulative: bool) -> str:
    lead = f"Riêng quý {ROMAN[quarter]}: {num(n)}" if cumulative else "So với quý trước"
    return f"• {lead} ({e(previous_name)}: {num(previous)}, {delta(n, previous)})"


def overview_people(reporters: int, units_reporting: int, units_expected: int) -> str:
    return f"• Người báo cáo: {num(reporters)} · Đơn vị có báo cáo: {num(units_reporting)}/{num(units_expected)}"


def overview_urgent(n: int, by_status: dict[str, int]) -> str:
    parts = " · ".join(f"{status_label(s)} {num(c)}" for s, c in by_status.items())
    return f"• Khẩn: <b>{num(n)}</b>" + (f" ({parts})" if n else "")


def overview_withdrawn(n: int) -> str:
    return f"• Đã rút: {num(n)} (không tính vào số liệu)"


def topic_line(label: str, n: int, last_year: int, quarter: int | None = None, previous: int | None = None) -> str:
    text = f"• {e(label)}: <b>{num(n)}</b> (cùng kỳ {num(last_year)}, {delta(n, last_year)}"
    if quarter is not None and previous is not None:
        text += f"; quý này {num(quarter)}, quý trước {num(previous)}, {delta(quarter, previous)}"
    return text + ")"


def unit_line(rank: int, name: str, n: int, urgent: int, last_year: int) -> str:
    flag = f" · khẩn {num(urgent)}" if urgent else ""
    return f"{rank}. {e(name)}: <b>{num(n)}</b>{flag} · cùng kỳ {num(last_year)} ({delta(n, last_year)})"


def more_units(n: int) -> str:
    return f"… và {num(n)} đơn vị khác (xem tệp Excel)."


def urgent_heading(n: int) -> str:
    return f"<b>{e(DIGEST_SECTIONS['urgent'])}</b> ({num(n)})"


def urgent_line(number: int, when: str, where: str, status: str, acker: str | None, snippet: str) -> str:
    who = f" ({e(acker)})" if acker else ""
    return f"• <b>#{number}</b> {e(when)} · {e(where)} · {e(status_label(status))}{who}: {e(snippet)}"


def more_urgent(n: int) -> str:
    return f"… và {num(n)} tin khẩn khác."


def themes_line(topic: str, items: list[tuple[str, int, int]]) -> str:
    terms = ", ".join(f"{e(term)} ({num(n)}; trước {num(before)})" for term, n, before in items)
    return f"• {e(topic_short(topic))}: {terms}"


def compliance_heading(quarter: int, year: int) -> str:
    return f"<b>{e(DIGEST_SECTIONS['compliance'])} quý {ROMAN[quarter]}/{year}</b>"


def compliance_counts(on_time: int, late: int, missing: int) -> str:
    return f"Đúng hạn {num(on_time)} · Trễ hạn {num(late)} · Chưa nộp {num(missing)}"


def name_list(label: str, names: list[str], shown: int) -> str:
    more = f" và {num(len(names) - shown)} đơn vị khác" if len(names) > shown else ""
    return f"{e(label)}: " + ", ".join(e(n) for n in names[:shown]) + more + "."


def no_reporters(n: int) -> str:
    return f"Đơn vị cơ sở chưa có báo cáo viên: {num(n)}."


def answer_line(unit: str, text: str) -> str:
    return f"• {e(unit)}: {e(text)}"


# --- Word draft ----------------------------------------------------------------------------

DOCX_BODY = "BAN DÂN VẬN"
DOCX_PARTY = "ĐẢNG CỘNG SẢN VIỆT NAM"
DOCX_NUMBER = "Số:        -BC/BDV"
DOCX_TITLE = "BÁO CÁO"
DOCX_SECTIONS = {
    "nhan_dan": "I. Tình hình Nhân dân",
    "dan_toc": "II. Tình hình dân tộc",
    "ton_giao": "III. Tình hình tôn giáo",
    "kien_nghi": "IV. Kiến nghị, đề xuất",
}
DOCX_EXCERPTS = "Một số phản ánh tiêu biểu:"
DOCX_ANSWERS = "Ý kiến từ báo cáo định kỳ của các đơn vị:"
DOCX_APPENDIX = "PHỤ LỤC"
DOCX_APPENDIX_TITLE = "Số liệu báo cáo theo đơn vị"
DOCX_URGENT_TITLE = "Tin khẩn trong kỳ"
DOCX_COMPLIANCE_TITLE = "Tình hình nộp báo cáo định kỳ"
DOCX_TABLE_HEAD = [
    "STT", "Đơn vị", "Tổng số", "Nhân dân", "Dân tộc", "Tôn giáo", "Khẩn", "Cùng kỳ", "Quý này", "Quý trước",
]
DOCX_URGENT_HEAD = ["Số", "Ngày", "Địa bàn", "Nội dung", "Trạng thái", "Người nắm"]
DOCX_TOTAL = "Tổng cộng"
DOCX_RECIPIENTS = "Nơi nhận:\n- Thường trực cấp ủy (để báo cáo);\n- Lưu văn phòng."
DOCX_SIGNER = "TRƯỞNG BAN"
DOCX_CHART_NOTE = "Biểu đồ: số báo cáo theo chủ đề trong các quý gần nhất."
DOCX_MORE = "(Danh sách đầy đủ trong tệp Excel kèm theo.)"


def docx_subtitle(label: str) -> str:
    return f"Tình hình Nhân dân, dân tộc, tôn giáo {label}"


def docx_date_line(place: str, moment: datetime) -> str:
    return f"{place}, ngày {moment.day:02d} tháng {moment.month:02d} năm {moment.year}"


def docx_intro(label: str, unit: str, start: datetime, last_day: datetime, cumulative: bool) -> str:
    span = "cộng dồn từ đầu năm, " if cumulative else ""
    return (
        f"Trên cơ sở báo cáo của các đơn vị gửi qua hệ thống ({span}từ ngày {day(start)} đến ngày "
        f"{day(last_day)}), Ban Dân vận báo cáo tình hình Nhân dân, dân tộc, tôn giáo {label} "
        f"trên địa bàn {unit} như sau:"
    )


def docx_overview(n: int, reporters: int, units: int, urgent: int, last_year: int, last_year_label: str) -> str:
    return (
        f"Trong kỳ, hệ thống tiếp nhận {num(n)} báo cáo của {num(reporters)} người từ {num(units)} đơn vị; "
        f"trong đó {num(urgent)} tin khẩn. So với cùng kỳ {last_year_label} ({num(last_year)} báo cáo), "
        f"{change_phrase(n, last_year)}."
    )


def docx_quarter(quarter: int, n: int, previous: int, previous_name: str) -> str:
    return f"Riêng quý {ROMAN[quarter]} có {num(n)} báo cáo; so với {previous_name} ({num(previous)}), {change_phrase(n, previous)}."


def docx_urgent_summary(by_status: dict[str, int]) -> str:
    parts = ", ".join(f"{num(c)} {status_label(s)}" for s, c in by_status.items())
    return f"Tình trạng xử lý tin khẩn: {parts}."


def docx_topic_summary(label: str, n: int, share: float, last_year: int, quarter: int, previous: int) -> str:
    pct = f"{share * 100:.1f}".replace(".", ",")
    return (
        f"Có {num(n)} báo cáo phản ánh {label[:1].lower()}{label[1:]} (chiếm {pct}% tổng số báo cáo); so với cùng kỳ "
        f"{change_phrase(n, last_year)}; trong quý gần nhất có {num(quarter)} báo cáo, so với quý trước "
        f"{change_phrase(quarter, previous)}."
    )


def docx_themes(items: list[tuple[str, int, int]]) -> str:
    terms = "; ".join(f"{term} ({num(n)} báo cáo, quý trước {num(before)})" for term, n, before in items)
    return f"Vấn đề nổi lên so với quý trước: {terms}."


def docx_excerpt(where: str, when: str, text: str, urgent: bool, status: str) -> str:
    flag = f" [khẩn – {status_label(status)}]" if urgent else ""
    return f"- {where}, {when}{flag}: {text}"


def docx_stable(n: int) -> str:
    return f"- {num(n)} đơn vị báo cáo tình hình ổn định."


def docx_name_list(label: str, names: list[str], shown: int) -> str:
    more = f" và {num(len(names) - shown)} đơn vị khác" if len(names) > shown else ""
    return f"{label}: " + ", ".join(names[:shown]) + more + "."


def docx_compliance(on_time: int, late: int, missing: int) -> str:
    return f"Đúng hạn: {num(on_time)} đơn vị; trễ hạn: {num(late)} đơn vị; chưa nộp: {num(missing)} đơn vị."


# --- Excel workbook and chart --------------------------------------------------------------

XLSX_REPORTS = "Báo cáo"
XLSX_PIVOT = "Tổng hợp"
XLSX_PERIODIC = "Định kỳ"
XLSX_REPORT_HEAD = [
    "Số", "Thời gian", "Quý", "Mã đơn vị", "Đơn vị", "Người báo cáo", "Nhân dân", "Dân tộc", "Tôn giáo",
    "Khẩn", "Trạng thái", "Người nắm", "Nội dung",
]
XLSX_PIVOT_HEAD = [
    "Mã đơn vị", "Đơn vị", "Cấp", "Bậc", "Tổng số", "Nhân dân", "Dân tộc", "Tôn giáo", "Chưa phân loại",
    "Khẩn", "Người báo cáo", "Quý này", "Quý trước", "Cùng kỳ",
]
XLSX_PERIODIC_HEAD = [
    "Mã đơn vị", "Đơn vị", "Tình trạng", "Thời gian nộp", "Nhân dân", "Dân tộc", "Tôn giáo", "Kiến nghị, đề xuất",
]
XLSX_STABLE = "Ổn định"
XLSX_YES = "x"
CHART_TITLE = "Số báo cáo theo chủ đề"
CHART_YLABEL = "Số báo cáo"
CHART_TOTAL = "Tổng số"


def chart_label(quarter: int, year: int) -> str:
    return f"Quý {ROMAN[quarter]}/{year}"
