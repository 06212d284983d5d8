"""The digest as a Word draft in the layout of a Vietnamese administrative report (python-docx).

Layout after the usual rules for party and state documents: A4, Times New Roman 14 pt body, margins
top/bottom 2 cm, left 3 cm, right 1.5 cm; a header block with the issuing body and the date line; the
title; sections I-IV; the signature block; then an appendix with the table by unit.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from docx import Document
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_BREAK
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Cm, Mm, Pt, RGBColor

from bot import texts
from bot.digest.model import TOPICS, Digest, UnitStat
from bot.digest.text import snippet

FONT = "Times New Roman"
BODY_PT, TABLE_PT = 14, 11
PAGE = (Mm(210), Mm(297))
MARGINS = {"top": Cm(2), "bottom": Cm(2), "left": Cm(3), "right": Cm(1.5)}
MAX_ANSWERS = 30  # periodic answers quoted per topic; the workbook has them all
MAX_KIEN_NGHI = 50
MAX_NAMES = 100


def render_docx(d: Digest, path: Path, chart: Path | None = None) -> Path:
    """Write the draft report to path (embedding the chart PNG when given) and return the path."""
    doc = Document()
    _setup(doc)
    _header(doc, d)
    _title(doc, d)
    _general(doc, d, chart)
    for topic in TOPICS:
        _topic_section(doc, d, topic)
    _kien_nghi(doc, d)
    _signature(doc)
    _appendix(doc, d)
    path.parent.mkdir(parents=True, exist_ok=True)
    doc.save(str(path))
    return path


def _setup(doc: Any) -> None:
    section = doc.sections[0]
    section.page_width, section.page_height = PAGE
    section.top_margin, section.bottom_margin = MARGINS["top"], MARGINS["bottom"]
    section.left_margin, section.right_margin = MARGINS["left"], MARGINS["right"]
    for name in ("Normal", "Heading 1", "Heading 2", "Table Grid"):
        style = doc.styles[name]
        style.font.name = FONT
        # Word picks the font per script; without these the Vietnamese letters may fall back.
        fonts = style.element.get_or_add_rPr().get_or_add_rFonts()
        for attr in ("w:ascii", "w:hAnsi", "w:eastAsia", "w:cs"):
            fonts.set(qn(attr), FONT)
        if name.startswith("Heading"):
            style.font.size = Pt(BODY_PT)
            style.font.bold = True
            style.font.italic = False
            style.font.color.rgb = RGBColor(0, 0, 0)
            style.paragraph_format.space_before = Pt(6)
            style.paragraph_format.space_after = Pt(3)
    normal = doc.styles["Normal"]
    normal.font.size = Pt(BODY_PT)
    normal.paragraph_format.space_after = Pt(3)
    normal.paragraph_format.line_spacing = 1.15


def _para(container: Any, text: str = "", *, bold: bool = False, italic: bool = False, size: int | None = None,
          align: Any = None, indent: bool = False, underline: bool = False) -> Any:
    p = container.add_paragraph()
    if text:
        run = p.add_run(text)
        run.bold, run.italic, run.underline = bold, italic, underline
        if size:
            run.font.size = Pt(size)
    if align is not None:
        p.alignment = align
    if indent:
        p.paragraph_format.first_line_indent = Cm(1)
        p.alignment = WD_ALIGN_PARAGRAPH.JUSTIFY
    return p


def _borderless(table: Any) -> None:
    borders = OxmlElement("w:tblBorders")
    for edge in ("top", "left", "bottom", "right", "insideH", "insideV"):
        el = OxmlElement(f"w:{edge}")
        el.set(qn("w:val"), "nil")
        borders.append(el)
    table._tbl.tblPr.append(borders)


def _place(d: Digest) -> str:
    """Return the place name for the date line: the unit's name without its level ("Tỉnh A" -> "A")."""
    name, level = d.scope.name, d.scope.level
    if d.scope.id is None:
        return "……"
    if level and name.lower().startswith(level.lower() + " "):
        return name[len(level) + 1:]
    return name


def _header(doc: Any, d: Digest) -> None:
    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    left, right = table.rows[0].cells
    left.width, right.width = Cm(7), Cm(9.5)
    center = WD_ALIGN_PARAGRAPH.CENTER
    left.paragraphs[0].add_run(d.scope.name.upper()).font.size = Pt(13)
    left.paragraphs[0].alignment = center
    _para(left, texts.DOCX_BODY, bold=True, size=13, align=center)
    _para(left, "*", align=center, size=13)
    _para(left, texts.DOCX_NUMBER, size=13, align=center)
    party = right.paragraphs[0].add_run(texts.DOCX_PARTY)
    party.bold, party.underline, party.font.size = True, True, Pt(14)
    right.paragraphs[0].alignment = center
    local = d.generated_at.astimezone(d.period.end.tzinfo)
    _para(right, "")
    _para(right, texts.docx_date_line(_place(d), local), italic=True, size=13, align=center)


def _title(doc: Any, d: Digest) -> None:
    center = WD_ALIGN_PARAGRAPH.CENTER
    p = _para(doc, texts.DOCX_TITLE, bold=True, size=15, align=center)
    p.paragraph_format.space_before = Pt(12)
    _para(doc, texts.docx_subtitle(d.period.label), bold=True, align=center)
    _para(doc, "-----", align=center)


def _general(doc: Any, d: Digest, chart: Path | None) -> None:
    t = d.totals
    last_day = d.window_end - timedelta(days=1)
    _para(doc, texts.docx_intro(d.period.label, d.scope.name, d.window_start, last_day, d.cumulative), indent=True)
    _para(doc, texts.docx_overview(t.current.reports, d.reporters, d.units_reporting, t.current.urgent,
                                   t.last_year.reports, d.last_year.label), indent=True)
    previous = texts.quarter_name(d.previous.quarter, d.previous.year)
    _para(doc, texts.docx_quarter(d.period.quarter, t.quarter.reports, t.previous.reports, previous), indent=True)
    if t.current.urgent:
        _para(doc, texts.docx_urgent_summary(d.urgent_status), indent=True)
    if chart is not None and chart.exists():
        doc.add_picture(str(chart), width=Cm(16))
        doc.paragraphs[-1].alignment = WD_ALIGN_PARAGRAPH.CENTER
        _para(doc, texts.DOCX_CHART_NOTE, italic=True, size=12, align=WD_ALIGN_PARAGRAPH.CENTER)


def _topic_section(doc: Any, d: Digest, topic: str) -> None:
    doc.add_heading(texts.DOCX_SECTIONS[topic], level=1)
    t = d.totals
    n = t.current.topic(topic)
    share = n / t.current.reports if t.current.reports else 0.0
    _para(doc, texts.docx_topic_summary(texts.DIGEST_TOPIC_TITLES[topic], n, share, t.last_year.topic(topic),
                                        t.quarter.topic(topic), t.previous.topic(topic)), indent=True)
    themes = [(th.term, th.count, th.previous) for th in d.themes[topic]]
    if themes:
        _para(doc, texts.docx_themes(themes), indent=True)
    tz = d.period.end.tzinfo
    if d.excerpts[topic]:
        _para(doc, texts.DOCX_EXCERPTS, italic=True)
        for item in d.excerpts[topic]:
            when = item.created_at.astimezone(tz).strftime("%d/%m/%Y")
            _para(doc, texts.docx_excerpt(item.unit_path, when, snippet(item.text, 400), item.urgent, item.status),
                  indent=True)
    answers = d.answers[topic]
    if answers or d.stable[topic]:
        _para(doc, texts.DOCX_ANSWERS, italic=True)
        for a in answers[:MAX_ANSWERS]:
            _para(doc, f"- {a.unit_name}: {snippet(a.text, 600)}", indent=True)
        if len(answers) > MAX_ANSWERS:
            _para(doc, texts.DOCX_MORE, italic=True, indent=True)
        if d.stable[topic]:
            _para(doc, texts.docx_stable(d.stable[topic]), indent=True)


def _kien_nghi(doc: Any, d: Digest) -> None:
    doc.add_heading(texts.DOCX_SECTIONS["kien_nghi"], level=1)
    if not d.kien_nghi:
        _para(doc, texts.DIGEST_NO_KIEN_NGHI, indent=True)
        return
    for a in d.kien_nghi[:MAX_KIEN_NGHI]:
        _para(doc, f"- {a.unit_name}: {snippet(a.text, 600)}", indent=True)
    if len(d.kien_nghi) > MAX_KIEN_NGHI:
        _para(doc, texts.DOCX_MORE, italic=True, indent=True)


def _signature(doc: Any) -> None:
    table = doc.add_table(rows=1, cols=2)
    _borderless(table)
    left, right = table.rows[0].cells
    lines = texts.DOCX_RECIPIENTS.split("\n")
    head = left.paragraphs[0].add_run(lines[0])
    head.bold, head.italic, head.font.size = True, True, Pt(12)
    for line in lines[1:]:
        _para(left, line, size=11)
    right.paragraphs[0].add_run(texts.DOCX_SIGNER).bold = True
    right.paragraphs[0].alignment = WD_ALIGN_PARAGRAPH.CENTER


def _cell(cell: Any, value: object, *, bold: bool = False, align: Any = WD_ALIGN_PARAGRAPH.CENTER) -> None:
    p = cell.paragraphs[0]
    run = p.add_run(str(value))
    run.bold = bold
    run.font.size = Pt(TABLE_PT)
    p.alignment = align
    p.paragraph_format.space_after = Pt(0)


def _table(doc: Any, head: list[str], rows: list[list[object]], *, left_cols: tuple[int, ...] = (1,)) -> Any:
    table = doc.add_table(rows=1, cols=len(head))
    table.style = doc.styles["Table Grid"]
    table.alignment = WD_TABLE_ALIGNMENT.CENTER
    for cell, text in zip(table.rows[0].cells, head, strict=True):
        _cell(cell, text, bold=True)
    for values in rows:
        cells = table.add_row().cells
        total = values[0] == ""
        for i, (cell, value) in enumerate(zip(cells, values, strict=True)):
            _cell(cell, value, bold=total, align=WD_ALIGN_PARAGRAPH.LEFT if i in left_cols else WD_ALIGN_PARAGRAPH.CENTER)
    return table


def unit_row(u: UnitStat) -> list[int]:
    """Return the appendix numbers of a unit, in the order of the table's numeric columns."""
    t = u.tally
    return [t.current.reports, t.current.nhan_dan, t.current.dan_toc, t.current.ton_giao, t.current.urgent,
            t.last_year.reports, t.quarter.reports, t.previous.reports]


def _appendix(doc: Any, d: Digest) -> None:
    doc.add_paragraph().add_run().add_break(WD_BREAK.PAGE)
    center = WD_ALIGN_PARAGRAPH.CENTER
    _para(doc, texts.DOCX_APPENDIX, bold=True, align=center)
    _para(doc, f"{texts.DOCX_APPENDIX_TITLE} – {d.period.label}", bold=True, align=center)
    rows: list[list[object]] = [[i, u.name, *map(texts.num, unit_row(u))] for i, u in enumerate(d.top, start=1)]
    t = d.totals
    totals = [t.current.reports, t.current.nhan_dan, t.current.dan_toc, t.current.ton_giao, t.current.urgent,
              t.last_year.reports, t.quarter.reports, t.previous.reports]
    rows.append(["", texts.DOCX_TOTAL, *map(texts.num, totals)])
    _table(doc, texts.DOCX_TABLE_HEAD, rows)
    if d.urgent:
        doc.add_heading(texts.DOCX_URGENT_TITLE, level=2)
        tz = d.period.end.tzinfo
        urgent: list[list[object]] = [
            [f"#{u.id}", u.created_at.astimezone(tz).strftime("%d/%m/%Y"), u.unit_path, snippet(u.text, 160),
             texts.status_label(u.status), u.acknowledged_by or ""]
            for u in d.urgent
        ]
        _table(doc, texts.DOCX_URGENT_HEAD, urgent, left_cols=(2, 3))
        if t.current.urgent > len(d.urgent):
            _para(doc, texts.DOCX_MORE, italic=True)
    c = d.compliance
    doc.add_heading(f"{texts.DOCX_COMPLIANCE_TITLE} {texts.quarter_name(d.period.quarter, d.period.year)}", level=2)
    _para(doc, texts.docx_compliance(c.count("on_time"), c.count("late"), c.count("missing")), indent=True)
    for status in ("missing", "late"):
        names = c.names(status)
        if names:
            _para(doc, texts.docx_name_list(texts.COMPLIANCE_LABELS[status], names, MAX_NAMES), indent=True)
    if c.no_reporters:
        _para(doc, texts.no_reporters(len(c.no_reporters)), indent=True)
