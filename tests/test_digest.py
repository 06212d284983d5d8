"""The digest's numbers against the database, and every rendering (text, DOCX, XLSX, chart) against the digest."""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from docx import Document
from openpyxl import load_workbook
from PIL import Image

from bot import texts
from bot.digest.build import build_digest, window_keys
from bot.digest.chart import PNG_KEY, chart_data
from bot.digest.docx import unit_row
from bot.digest.model import TOPICS, Digest
from bot.digest.service import DigestService
from bot.digest.text import render_text
from bot.digest.xlsx import pivot_values
from bot.settings import Settings
from tests.digest_data import CAL, Seeded, ground_truth, seed
from tests.harness import Harness

NOW = datetime(2026, 3, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
async def world(db_url: str) -> AsyncIterator[tuple[Harness, Seeded]]:
    h = Harness(db_url, now=NOW)
    await h.setup()
    async with h.uow() as uow:
        seeded = await seed(uow, NOW)
    yield h, seeded
    await h.close()


@pytest.fixture
def service(world: tuple[Harness, Seeded], tmp_path: Path) -> DigestService:
    h, _ = world
    settings = Settings(database_url=h.settings.database_url, data_dir=tmp_path, _env_file=None)  # type: ignore[call-arg]
    return DigestService(h.sf, CAL, settings)


async def digest_for(h: Harness, key: str, code: str | None) -> Digest:
    async with h.uow() as uow:
        unit = await uow.units.by_code(code) if code else None
        return await build_digest(uow, CAL, CAL.period(key), unit, NOW)


async def truth(h: Harness, code: str, keys: list[str]) -> dict[str, object]:
    async with h.uow() as uow:
        unit = await uow.units.by_code(code)
        assert unit is not None
        return await ground_truth(uow, unit.path, keys)


def figures_dict(f: object) -> dict[str, int]:
    return {k: getattr(f, k) for k in ("reports", "urgent", "untagged", *TOPICS)}


@pytest.mark.parametrize("code", ["P", "X1", "X2", "X1-T1"])
async def test_numbers_equal_the_database_for_every_window(world: tuple[Harness, Seeded], code: str) -> None:
    h, _ = world
    d = await digest_for(h, "2026-Q1", code)
    windows = {"current": ["2026-Q1"], "quarter": ["2026-Q1"], "previous": ["2025-Q4"], "last_year": ["2025-Q1"]}
    for window, keys in windows.items():
        expected = await truth(h, code, keys)
        got = figures_dict(getattr(d.totals, window))
        assert got == {k: expected[k] for k in got}, window
    current = await truth(h, code, ["2026-Q1"])
    assert (d.reporters, d.units_reporting) == (current["reporters"], current["units"])
    assert sum(d.urgent_status.values()) == d.totals.current.urgent
    # Every unit's roll-up equals the count of its own subtree.
    for unit in d.units.values():
        sub = await truth(h, unit.code, ["2026-Q1"])
        assert figures_dict(unit.tally.current) == {k: sub[k] for k in figures_dict(unit.tally.current)}
        assert unit.reporters == sub["reporters"]
    # Hand-checked figures for the province (see tests/digest_data.py).
    if code == "P":
        assert figures_dict(d.totals.current) == {
            "reports": 11, "urgent": 4, "untagged": 1, "nhan_dan": 5, "dan_toc": 3, "ton_giao": 3,
        }
        assert (d.reporters, d.units_reporting, d.units_expected, d.withdrawn) == (4, 3, 3, 1)
        assert d.urgent_status == {"new": 1, "acknowledged": 1, "in_progress": 1, "resolved": 1}


async def test_retagged_report_counts_under_its_new_topic_only(world: tuple[Harness, Seeded]) -> None:
    h, s = world
    d = await digest_for(h, "2026-Q1", "X1-T2")
    assert (d.totals.current.dan_toc, d.totals.current.ton_giao) == (0, 2)
    assert s.reports["rt"] in await _streamed_ids(h, d)


async def _streamed_ids(h: Harness, d: Digest) -> set[int]:
    ids: set[int] = set()
    async with h.uow() as uow:
        from storage.repos.digest import DigestRepo

        async for batch in DigestRepo(uow.session).stream_reports(d.scope.path, d.window_keys, batch=2):
            ids |= {r.id for r in batch}
    return ids


async def test_cumulative_period_counts_the_year_so_far_and_compliance_per_quarter(world: tuple[Harness, Seeded]) -> None:
    h, _ = world
    d = await digest_for(h, "2026-Q2", "P")
    assert d.cumulative and d.window_keys == ["2026-Q1", "2026-Q2"] == window_keys(CAL, CAL.period("2026-Q2"))
    assert d.window_start == CAL.period("2026-Q2").cumulative_start
    year = await truth(h, "P", ["2026-Q1", "2026-Q2"])
    assert d.totals.current.reports == year["reports"] == 13
    assert d.totals.quarter.reports == 2 and d.totals.previous.reports == 11
    assert d.totals.last_year.reports == (await truth(h, "P", ["2025-Q1", "2025-Q2"]))["reports"]
    # Nobody submitted the 2026-Q2 periodic report yet: every unit with reporters is missing.
    assert d.compliance.period_key == "2026-Q2"
    assert d.compliance.names("missing") == ["Thôn 1", "Thôn 2", "Ấp 1"] and d.kien_nghi == []
    text = "\n".join(render_text(d))
    assert "cộng dồn từ đầu năm" in text and "6 THÁNG ĐẦU NĂM 2026" in text


async def test_urgent_reports_with_status_and_acknowledger(world: tuple[Harness, Seeded]) -> None:
    h, s = world
    d = await digest_for(h, "2026-Q1", "P")
    listed = [(u.id, u.status, u.acknowledged_by) for u in d.urgent]
    assert listed == [
        (s.reports["u4"], "resolved", "Cán Bộ Xã Một"),
        (s.reports["u3"], "new", None),
        (s.reports["u2"], "in_progress", "Trần Thị Ban"),
        (s.reports["u1"], "acknowledged", "Cán Bộ Xã Một"),
    ]
    assert d.urgent[1].unit_path == "Xã Hai › Ấp 1"
    text = "\n".join(render_text(d))
    assert f"#{s.reports['u4']}</b> 12/03 · Xã Một › Thôn 1 · đã giải quyết (Cán Bộ Xã Một)" in text
    assert f"#{s.reports['w1']}" not in text  # withdrawn


async def test_compliance_answers_and_kien_nghi(world: tuple[Harness, Seeded]) -> None:
    h, _ = world
    d = await digest_for(h, "2026-Q1", "P")
    c = d.compliance
    assert (c.names("on_time"), c.names("late"), c.names("missing")) == (["Thôn 1"], ["Thôn 2"], ["Ấp 1"])
    assert c.no_reporters == ["Ấp 2"]
    assert [(a.unit_name, a.text) for a in d.kien_nghi] == [("Thôn 1", "Đề nghị hỗ trợ giống lúa cho hộ nghèo")]
    assert [a.unit_name for a in d.answers["ton_giao"]] == ["Thôn 2"]
    assert d.stable == {"nhan_dan": 1, "dan_toc": 2, "ton_giao": 1}
    text = "\n".join(render_text(d))
    assert "Đúng hạn 1 · Trễ hạn 1 · Chưa nộp 1" in text and "Chưa nộp: Ấp 1." in text
    assert "Kiến nghị cũ" not in text and "Đề nghị hỗ trợ giống lúa" in text
    x1 = await digest_for(h, "2026-Q1", "X1")
    assert x1.compliance.names("missing") == [] and x1.compliance.no_reporters == []


async def test_themes_and_excerpts(world: tuple[Harness, Seeded]) -> None:
    h, s = world
    d = await digest_for(h, "2026-Q1", "P")
    terms = {t.term: (t.count, t.previous) for t in d.themes["nhan_dan"]}
    # Typed with and without diacritics, counted together, shown with them.
    assert terms.get("giá phân bón tăng cao") == (3, 0), terms
    assert all("bà con" not in t for t in terms)
    assert [e.id for e in d.excerpts["nhan_dan"]] == [s.reports["u4"], s.reports["u1"], s.reports["a3"]]
    assert [e.id for e in d.excerpts["ton_giao"]][0] == s.reports["u2"]


async def test_empty_period_renders_every_format(world: tuple[Harness, Seeded], service: DigestService) -> None:
    rendered = await service.render("2024-Q3", "P", now=NOW)
    d = rendered.digest
    assert d.empty and d.urgent == [] and all(not v for v in d.themes.values())
    assert texts.DIGEST_EMPTY in rendered.text[0]
    doc = Document(str(rendered.files["docx"]))
    table = _appendix_table(doc)
    assert table[-1][1:3] == [texts.DOCX_TOTAL, "0"]
    wb = load_workbook(rendered.files["xlsx"], read_only=True)
    assert len(list(wb[texts.XLSX_REPORTS].iter_rows(values_only=True))) == 1  # the header only
    assert json.loads(Image.open(rendered.files["png"]).info[PNG_KEY])["totals"][-1] == 0


async def test_unit_without_reporters(world: tuple[Harness, Seeded], service: DigestService) -> None:
    rendered = await service.render("2026-Q1", "X2-A2", now=NOW)
    d = rendered.digest
    assert d.empty and d.reporters == 0 and [u.code for u in d.top] == ["X2-A2"]
    assert d.compliance.rows == [] and d.compliance.no_reporters == ["Ấp 2"]
    assert "Ấp 2" in rendered.text[0]


def _appendix_table(doc: object) -> list[list[str]]:
    for table in doc.tables:  # type: ignore[attr-defined]
        rows = [[c.text for c in row.cells] for row in table.rows]
        if rows and rows[0] == texts.DOCX_TABLE_HEAD:
            return rows
    raise AssertionError("no appendix table")


def _num(text: str) -> int:
    return int(text.replace(".", ""))


async def test_docx_layout_and_numbers(world: tuple[Harness, Seeded], service: DigestService) -> None:
    rendered = await service.render("2026-Q1", "P", ["docx"], now=NOW)
    d = rendered.digest
    doc = Document(str(rendered.files["docx"]))
    paragraphs = [p.text for p in doc.paragraphs]
    assert "BÁO CÁO" in paragraphs
    assert "Tình hình Nhân dân, dân tộc, tôn giáo quý I năm 2026" in paragraphs
    headings = [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert headings[:4] == ["I. Tình hình Nhân dân", "II. Tình hình dân tộc", "III. Tình hình tôn giáo",
                            "IV. Kiến nghị, đề xuất"]
    header = [c.text for c in doc.tables[0].rows[0].cells]
    assert "BAN DÂN VẬN" in header[0] and "ĐẢNG CỘNG SẢN VIỆT NAM" in header[1]
    assert "A, ngày 20 tháng 03 năm 2026" in header[1]
    section = doc.sections[0]
    assert (round(section.page_width.mm), round(section.page_height.mm)) == (210, 297)  # A4
    assert (round(section.left_margin.cm), round(section.right_margin.cm, 1), round(section.top_margin.cm)) == (3, 1.5, 2)
    assert doc.styles["Normal"].font.name == "Times New Roman"
    assert doc.styles["Heading 1"].font.name == "Times New Roman"
    assert len(doc.inline_shapes) == 1  # the chart
    # The appendix: one row per commune, busiest first, then the total; numbers as in the digest.
    table = _appendix_table(doc)
    assert [r[1] for r in table[1:]] == ["Xã Một", "Xã Hai", texts.DOCX_TOTAL]
    for row, unit in zip(table[1:-1], d.top, strict=True):
        assert [_num(v) for v in row[2:]] == unit_row(unit)
    assert [_num(v) for v in table[-1][2:5]] == [11, 5, 3]
    body = "\n".join(paragraphs)
    assert "Đề nghị hỗ trợ giống lúa cho hộ nghèo" in body
    assert "Có nhóm lạ truyền đạo <trái phép>" in body  # plain text in Word, no HTML escaping


async def test_xlsx_rows_and_pivot(world: tuple[Harness, Seeded], service: DigestService) -> None:
    rendered = await service.render("2026-Q1", "X1", ["xlsx"], now=NOW)
    d = rendered.digest
    wb = load_workbook(rendered.files["xlsx"], read_only=True)
    assert wb.sheetnames == [texts.XLSX_REPORTS, texts.XLSX_PIVOT, texts.XLSX_PERIODIC]
    rows = list(wb[texts.XLSX_REPORTS].iter_rows(values_only=True))
    assert list(rows[0]) == texts.XLSX_REPORT_HEAD
    expected = await truth(world[0], "X1", ["2026-Q1"])
    assert {r[0] for r in rows[1:]} == expected["ids"] and len(rows) - 1 == expected["reports"]
    head = texts.XLSX_REPORT_HEAD
    by_id = {r[0]: dict(zip(head, r, strict=True)) for r in rows[1:]}
    urgent = by_id[world[1].reports["u1"]]
    assert (urgent["Khẩn"], urgent["Trạng thái"], urgent["Người nắm"]) == ("x", "đã nắm", "Cán Bộ Xã Một")
    assert urgent["Đơn vị"] == "Thôn 1" and urgent["Mã đơn vị"] == "X1-T1"
    assert sum(1 for r in by_id.values() if r["Nhân dân"] == "x") == d.totals.current.nhan_dan
    pivot = list(wb[texts.XLSX_PIVOT].iter_rows(values_only=True))
    assert list(pivot[0]) == texts.XLSX_PIVOT_HEAD
    for row in pivot[1:]:
        unit = next(u for u in d.units.values() if u.code == row[0])
        assert list(row[4:]) == pivot_values(unit)
    assert [r[0] for r in pivot[1:]] == ["X1", "X1-T1", "X1-T2"] and pivot[1][4] == 9
    periodic = list(wb[texts.XLSX_PERIODIC].iter_rows(values_only=True))
    assert [(r[1], r[2]) for r in periodic[1:]] == [("Thôn 1", "Đúng hạn"), ("Thôn 2", "Trễ hạn")]
    assert periodic[1][4:] == ("Giá phân bón tăng, bà con lo lắng", "Ổn định", "Ổn định",
                               "Đề nghị hỗ trợ giống lúa cho hộ nghèo")


async def test_xlsx_keeps_formulas_and_control_characters_out(world: tuple[Harness, Seeded], service: DigestService) -> None:
    h, s = world
    async with h.uow() as uow:
        report = await uow.reports.get(s.reports["n1"])
        assert report is not None
        report.text = "=HYPERLINK(\"http://x\")\x07 mưa"
        await uow.commit()
    rendered = await service.render("2026-Q1", "X1-T2", ["xlsx"], now=NOW)
    wb = load_workbook(rendered.files["xlsx"])
    cells = [row[-1] for row in wb[texts.XLSX_REPORTS].iter_rows(min_row=2)]
    cell = next(c for c in cells if str(c.value).startswith("=HYPERLINK"))
    assert cell.data_type == "s" and "\x07" not in cell.value


async def test_chart_plots_the_digest_numbers(world: tuple[Harness, Seeded], service: DigestService) -> None:
    rendered = await service.render("2026-Q1", "P", ["png"], now=NOW)
    d = rendered.digest
    image = Image.open(rendered.files["png"])
    assert image.format == "PNG" and image.size[0] > 600 and rendered.files["png"].stat().st_size > 10_000
    plotted = json.loads(image.info[PNG_KEY])
    data = chart_data(d)
    assert plotted == {"keys": data.keys, "labels": data.labels, "series": data.series, "totals": data.totals}
    assert data.keys == ["2024-Q4", "2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1"]
    for i, key in enumerate(data.keys):
        expected = await truth(world[0], "P", [key])
        assert data.totals[i] == expected["reports"]
        assert {t: data.series[t][i] for t in TOPICS} == {t: expected[t] for t in TOPICS}
    assert data.totals[-1] == d.totals.quarter.reports  # the last bar is the digest's own quarter


async def test_text_agrees_with_the_digest_and_splits_cleanly(world: tuple[Harness, Seeded]) -> None:
    h, _ = world
    d = await digest_for(h, "2026-Q1", "P")
    whole = "\n\n".join(render_text(d))
    assert "• Báo cáo: <b>11</b> (cùng kỳ quý I/2025: 3, ▲8)" in whole
    assert "• So với quý trước (quý IV/2025: 3, ▲8)" in whole
    assert "• Người báo cáo: 4 · Đơn vị có báo cáo: 3/3" in whole
    assert "• Nhân dân: <b>5</b>" in whole and "• Dân tộc: <b>3</b>" in whole and "• Tôn giáo: <b>3</b>" in whole
    assert "1. Xã Một: <b>9</b>" in whole and "2. Xã Hai: <b>2</b>" in whole
    assert "Khmer &amp; &lt;Chăm&gt;" in whole  # user text is escaped for Telegram HTML
    for limit in (4096, 2000, 400):
        chunks = render_text(d, limit)
        assert all(len(c) <= limit for c in chunks)
        assert "\n\n".join(chunks).replace("\n", "") == whole.replace("\n", "")
        for chunk in chunks:  # never cut inside a tag
            assert chunk.count("<b>") == chunk.count("</b>")
            assert not re.search(r"<[^>]*$", chunk)
    assert len(render_text(d, 400)) > 1 == len(render_text(d))


async def test_scheduled_replies_address_the_person_with_stable_keys(world: tuple[Harness, Seeded], service: DigestService) -> None:
    h, s = world
    async with h.uow() as uow:
        person = await uow.people.get(s.people["officer_x1"])
        assert person is not None
        kwargs = {"to_person": True, "dedupe": "digest:2026-Q1:5", "now": NOW, "shared": True}
        replies = await service.replies_for(uow, person, "2026-Q1", "zalo", **kwargs)  # type: ignore[arg-type]
        again = await service.replies_for(uow, person, "2026-Q1", "zalo", **kwargs)  # type: ignore[arg-type]
        fresh = await service.replies_for(uow, person, "2026-Q1", "zalo", now=NOW)
    kinds = [r.file.kind if r.file else "text" for r in replies]
    assert kinds[-3:] == ["photo", "document", "document"] and set(kinds[:-3]) == {"text"}
    assert all(r.to_person_id == person.id and r.priority == 1 for r in replies)
    assert [r.dedupe for r in replies] == [f"digest:2026-Q1:5:{n}" for n in range(len(replies))]
    assert all(len(r.text) <= 2000 for r in replies) and "Xã Một" in replies[0].text
    assert [r.file.path for r in again if r.file] == [r.file.path for r in replies if r.file]  # rendered once
    assert not {r.file.path for r in fresh if r.file} & {r.file.path for r in replies if r.file}
    assert all(r.to_person_id is None and r.dedupe is None and r.priority == 0 for r in fresh)
    assert all(Path(r.file.path).is_file() and r.file.filename.endswith(("_2026-Q1_X1.png", "_2026-Q1_X1.docx", "_2026-Q1_X1.xlsx"))
               for r in replies if r.file)


async def test_unit_tree_units_are_all_in_scope(world: tuple[Harness, Seeded]) -> None:
    h, _ = world
    d = await digest_for(h, "2026-Q1", "X1")
    async with h.uow() as uow:
        x1 = await uow.units.by_code("X1")
        assert x1 is not None
        subtree = {u.code for u in await uow.units.subtree(x1)}
    assert {u.code for u in d.units.values()} == subtree


def test_old_rendered_files_are_pruned(tmp_path: Path) -> None:
    import os
    import time
    from datetime import timedelta

    from bot.digest.service import prune

    folder = tmp_path / "2026-Q1"
    folder.mkdir()
    old, new, other = folder / "a.docx", folder / "b.xlsx", folder / "notes.txt"
    for path in (old, new, other):
        path.write_text("x")
    os.utime(old, (time.time() - 30 * 86400,) * 2)
    os.utime(other, (time.time() - 30 * 86400,) * 2)
    assert prune(tmp_path, timedelta(days=14)) == 1
    assert not old.exists() and new.exists() and other.exists()
