"""Import the unit tree from CSV (code,name,level,parent_code): validated first, applied idempotently."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime

from storage.uow import UnitOfWork

COLUMNS = ("code", "name", "level", "parent_code")


@dataclass(frozen=True)
class UnitRow:
    line: int
    code: str
    name: str
    level: str
    parent_code: str


@dataclass
class ImportReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[str] = field(default_factory=list)


def parse_units_csv(text: str) -> tuple[list[UnitRow], list[str]]:
    """Parse and check the file; return rows in file order and errors with line numbers."""
    text = text.lstrip("\ufeff")  # Excel writes a BOM
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        return [], [f"Dòng 1: thiếu cột {', '.join(missing)} (cần: {','.join(COLUMNS)})"]
    reader.fieldnames = header
    rows: list[UnitRow] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for line_no, raw in enumerate(reader, start=2):
        values = {k: (raw.get(k) or "").strip() for k in COLUMNS}
        if not any(values.values()):
            continue
        problem = _row_problem(values, seen)
        if problem:
            errors.append(f"Dòng {line_no}: {problem}")
            continue
        seen[values["code"]] = line_no
        rows.append(UnitRow(line_no, values["code"], values["name"], values["level"], values["parent_code"]))
    return rows, errors


def _row_problem(values: dict[str, str], seen: dict[str, int]) -> str | None:
    if not values["code"]:
        return "thiếu mã đơn vị (code)"
    if len(values["code"]) > 64 or any(ch.isspace() for ch in values["code"]):
        return f"mã đơn vị không hợp lệ: {values['code']!r}"
    if values["code"] in seen:
        return f"mã {values['code']} bị trùng với dòng {seen[values['code']]}"
    if not values["name"]:
        return "thiếu tên đơn vị (name)"
    if not values["level"]:
        return "thiếu cấp (level)"
    if values["parent_code"] == values["code"]:
        return f"đơn vị {values['code']} không thể là cấp trên của chính nó"
    return None


def check_parents(rows: list[UnitRow], existing: dict[str, str]) -> list[str]:
    """Check unknown parents and cycles; ``existing`` maps codes already in the database to their parent."""
    parents = dict(existing)
    parents.update({r.code: r.parent_code for r in rows})
    errors = []
    for row in rows:
        if row.parent_code and row.parent_code not in parents:
            errors.append(f"Dòng {row.line}: không tìm thấy đơn vị cấp trên {row.parent_code!r}")
    for row in rows:
        chain, node = {row.code}, parents.get(row.code, "")
        while node:
            if node in chain:
                errors.append(f"Dòng {row.line}: vòng lặp cấp trên qua đơn vị {node!r}")
                break
            chain.add(node)
            node = parents.get(node, "")
    return errors


def topo_order(rows: list[UnitRow]) -> list[UnitRow]:
    """Order rows so every parent comes before its children."""
    by_code = {r.code: r for r in rows}
    done: set[str] = set()
    ordered: list[UnitRow] = []

    def visit(row: UnitRow) -> None:
        if row.code in done:
            return
        done.add(row.code)
        if row.parent_code in by_code:
            visit(by_code[row.parent_code])
        ordered.append(row)

    for row in rows:
        visit(row)
    return ordered


async def import_units(uow: UnitOfWork, text: str, *, actor: str, now: datetime) -> ImportReport:
    """Validate the whole file, then create or update units; nothing is written if any row is bad."""
    report = ImportReport()
    rows, report.errors = parse_units_csv(text)
    existing = await uow.units.by_codes()
    id_to_code = {u.id: u.code for u in existing.values()}
    parent_of = {code: id_to_code.get(u.parent_id, "") if u.parent_id else "" for code, u in existing.items()}
    report.errors += check_parents(rows, parent_of)
    if report.errors:
        return report
    for row in topo_order(rows):
        parent = existing.get(row.parent_code) if row.parent_code else None
        unit = existing.get(row.code)
        if unit is None:
            existing[row.code] = await uow.units.add(row.code, row.name, row.level, parent)
            report.created += 1
        elif await uow.units.update(unit, row.name, row.level, parent):
            report.updated += 1
        else:
            report.unchanged += 1
    await uow.audit.add(
        "units.import",
        actor=actor,
        at=now,
        details={"created": report.created, "updated": report.updated, "unchanged": report.unchanged},
    )
    return report
