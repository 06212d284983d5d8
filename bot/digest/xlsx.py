"""The digest's workbook (openpyxl, write-only): every report of the window, a pivot by unit, compliance.

Reports are streamed from the database in batches and written row by row, so a period of hundreds
of thousands of reports never sits in memory; the CPU-bound writing runs in a worker thread.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from bot import texts
from bot.digest.model import TOPICS, Digest, UnitStat
from storage.repos.digest import DigestRepo

REPORT_WIDTHS = [8, 17, 9, 12, 34, 22, 9, 9, 9, 7, 14, 22, 80]
PIVOT_WIDTHS = [12, 40, 10, 6, 10, 10, 10, 10, 14, 8, 14, 10, 10, 10]


def _local(moment: datetime | None, d: Digest) -> datetime | None:
    """Return a naive local time: Excel has no time zones."""
    return moment.astimezone(d.period.end.tzinfo).replace(tzinfo=None) if moment else None


def _text(ws: Any, value: str) -> Any:
    """Return a value that is written as text: no formula injection, no characters Excel rejects."""
    if not value.startswith("=") and not ILLEGAL_CHARACTERS_RE.search(value):
        return value  # the common case, kept cheap: a cell object costs more than the row's writing
    cell = WriteOnlyCell(ws, value=ILLEGAL_CHARACTERS_RE.sub("", value))
    cell.data_type = "s"
    return cell


def _flag(value: bool) -> str:
    return texts.XLSX_YES if value else ""


def _sheet(wb: Any, title: str, head: list[str], widths: list[int]) -> Any:
    ws = wb.create_sheet(title)
    for i, width in enumerate(widths):
        ws.column_dimensions[chr(ord("A") + i)].width = width
    ws.freeze_panes = "A2"
    ws.append(head)
    return ws


def pivot_values(u: UnitStat) -> list[int]:
    """Return a unit's pivot numbers, in the order of the sheet's numeric columns."""
    t = u.tally
    c = t.current
    return [c.reports, c.nhan_dan, c.dan_toc, c.ton_giao, c.untagged, c.urgent, u.reporters,
            t.quarter.reports, t.previous.reports, t.last_year.reports]


def _report_rows(ws: Any, d: Digest, batch: Sequence[Any], paths: dict[int, str], codes: dict[int, str]) -> list[list[Any]]:
    return [
        [
            r.id, _local(r.created_at, d), r.period_key, codes.get(r.unit_id, ""), _text(ws, paths.get(r.unit_id, "")),
            _text(ws, r.reporter or ""), _flag(r.nhan_dan), _flag(r.dan_toc), _flag(r.ton_giao), _flag(r.urgent),
            texts.status_label(r.status), _text(ws, r.acknowledged_by or ""), _text(ws, r.text or ""),
        ]
        for r in batch
    ]


def _append(ws: Any, rows: list[list[Any]]) -> None:
    for row in rows:
        ws.append(row)


async def render_xlsx(d: Digest, repo: DigestRepo, path: Path) -> Path:
    """Write the workbook of the digest to path and return the path."""
    wb = Workbook(write_only=True)
    ws = _sheet(wb, texts.XLSX_REPORTS, texts.XLSX_REPORT_HEAD, REPORT_WIDTHS)
    paths = {unit_id: d.unit_path(unit_id) for unit_id in d.units}
    codes = {unit_id: u.code for unit_id, u in d.units.items()}
    async for batch in repo.stream_reports(d.scope.path, d.window_keys):
        await asyncio.to_thread(_append, ws, _report_rows(ws, d, batch, paths, codes))
    await asyncio.to_thread(_write_rest, wb, d, path)
    return path


def _write_rest(wb: Any, d: Digest, path: Path) -> None:
    """Write the pivot and compliance sheets, then save (blocking)."""
    pivot = _sheet(wb, texts.XLSX_PIVOT, texts.XLSX_PIVOT_HEAD, PIVOT_WIDTHS)
    if d.scope.id is None:  # several roots: a total row first
        total = UnitStat(0, None, "", texts.DOCX_TOTAL, "", "", -1, d.totals, d.reporters)
        pivot.append(["", _text(pivot, texts.DOCX_TOTAL), "", "", *pivot_values(total)])
    for u in d.units.values():  # tree order: parents first
        pivot.append([_text(pivot, u.code), _text(pivot, "  " * u.depth + u.name), _text(pivot, u.level), u.depth,
                      *pivot_values(u)])
    periodic = _sheet(wb, texts.XLSX_PERIODIC, texts.XLSX_PERIODIC_HEAD, [12, 40, 14, 17, 50, 50, 50, 50])
    for row in d.compliance.rows:
        given = [row.answers.get(k) for k in (*TOPICS, "kien_nghi")]
        stable = "" if row.status == "missing" else texts.XLSX_STABLE
        periodic.append([
            _text(periodic, row.code), _text(periodic, row.name), texts.COMPLIANCE_LABELS[row.status],
            _local(row.submitted_at, d), *(_text(periodic, a) if a else stable for a in given[:3]),
            _text(periodic, given[3] or ""),
        ])
    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(str(path))
