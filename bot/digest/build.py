"""Build the digest of one period for one unit's subtree: SQL aggregates rolled up over the unit tree."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from bot import texts
from bot.digest.model import (
    STATUSES,
    TOPICS,
    Answer,
    Compliance,
    ComplianceRow,
    Digest,
    Figures,
    ReportItem,
    Scope,
    SeriesPoint,
    Tally,
    UnitStat,
)
from bot.digest.themes import TermCounts, emerging, terms
from bot.periods import Calendar, Period
from storage.models import Unit
from storage.repos.digest import DigestRepo

CHART_PERIODS = 6  # quarters shown in the chart, ending with the digest's quarter
URGENT_LIMIT = 50  # urgent reports listed by name; the counts cover all of them
SAMPLE = 1000  # most recent reports per quarter read for themes and excerpts
EXCERPTS = 3
THEMES = 5
ALL_UNITS = "Tất cả đơn vị"


def window_keys(calendar: Calendar, period: Period) -> list[str]:
    """Return the quarter keys of a period's window: Q1 alone, or Q1..Qn of the year (cumulative)."""
    return [calendar.period_of(period.year, q).key for q in range(1, period.quarter + 1)]


def digest_keys(calendar: Calendar, period: Period) -> tuple[list[str], list[str]]:
    """Return (every quarter key the digest reads, the keys of its current window)."""
    current = window_keys(calendar, period)
    wanted = [
        *current,
        calendar.previous(period).key,
        *window_keys(calendar, calendar.same_period_last_year(period)),
        *(p.key for p in calendar.recent(period, CHART_PERIODS)),
    ]
    return sorted(set(wanted)), current


class _Tree:
    """The units in scope, indexed for roll-ups and readable paths."""

    def __init__(self, rows: Sequence[Any], scope: Unit | None) -> None:
        self.units: dict[int, UnitStat] = {}
        base = scope.path.count("/") if scope else 1
        for unit_id, parent_id, code, name, level, path in rows:
            self.units[unit_id] = UnitStat(unit_id, parent_id, code, name, level, path, path.count("/") - base)
        for u in self.units.values():
            if u.parent_id in self.units:
                self.units[u.parent_id].children.append(u.id)
        self.order = [r[0] for r in rows]  # parents before children

    def ancestors(self, unit_id: int) -> list[int]:
        """Return the ids from the unit up to the top of the scope (the unit first)."""
        unit = self.units.get(unit_id)
        if unit is None:
            return []
        ids = [int(p) for p in unit.path.strip("/").split("/")]
        return [i for i in reversed(ids) if i in self.units]

    def relative_path(self, unit_id: int) -> str:
        """Return "Xã Một › Thôn 1": the unit's path below the digest's own unit."""
        chain = [self.units[i] for i in reversed(self.ancestors(unit_id))]
        below = [u.name for u in chain if u.depth > 0] or [u.name for u in chain[-1:]]
        return " › ".join(below)

    def roll_up(self, own: dict[int, Tally]) -> None:
        """Give every unit the sum of its own counts and its whole subtree's."""
        for unit_id, tally in own.items():
            if unit_id in self.units:
                self.units[unit_id].tally = tally
        for unit_id in reversed(self.order):  # children come after their parents in path order
            unit = self.units[unit_id]
            if unit.parent_id in self.units:
                self.units[unit.parent_id].tally.add(unit.tally)


def _scope(unit: Unit | None, tree: _Tree) -> tuple[Scope, list[UnitStat]]:
    """Return the digest's scope and its top-level units (an admin without a unit sees every root)."""
    roots = [u for u in tree.units.values() if u.parent_id not in tree.units]
    if unit is None and len(roots) == 1:
        unit_stat = roots[0]
    elif unit is None:
        return Scope(None, None, ALL_UNITS, "", None), roots
    else:
        unit_stat = tree.units[unit.id]
    scope = Scope(unit_stat.id, unit_stat.code, unit_stat.name, unit_stat.level, unit_stat.path)
    children = [tree.units[c] for c in unit_stat.children]
    return scope, children or [unit_stat]


async def build_digest(uow: Any, calendar: Calendar, period: Period, unit: Unit | None, now: datetime) -> Digest:
    """Build the digest of a period for a unit's subtree (None: every unit)."""
    repo = DigestRepo(uow.session)
    prefix = unit.path if unit is not None else None
    previous, last_year = calendar.previous(period), calendar.same_period_last_year(period)
    keys, current_keys = digest_keys(calendar, period)
    windows = {
        "current": set(current_keys),
        "quarter": {period.key},
        "previous": {previous.key},
        "last_year": set(window_keys(calendar, last_year)),
    }
    chart = calendar.recent(period, CHART_PERIODS)
    tree = _Tree(await repo.units(prefix), unit)
    own, series, urgent_status, withdrawn, volume = _aggregate(await repo.counts(prefix, keys), windows, chart)
    # Before the roll-up, which adds the children's counts into these same objects.
    reporting = {unit_id for unit_id, t in own.items() if t.current.reports and unit_id in tree.units}
    tree.roll_up(own)
    scope, top = _scope(unit, tree)
    totals = tree.units[scope.id].tally if scope.id is not None else Tally()
    for root in top if scope.id is None else []:
        totals.add(root.tally)
    reporters = _reporters(tree, await repo.reporter_pairs(prefix, current_keys))
    urgent = [_item(r, tree) for r in await repo.urgent(prefix, current_keys, URGENT_LIMIT)]
    recent = [_item(r, tree) for r in await repo.sample(prefix, period.key, volume.get(period.key, 0), SAMPLE)]
    earlier = await repo.sample(prefix, previous.key, volume.get(previous.key, 0), SAMPLE)
    reporter_units = await repo.reporter_units(prefix)
    for unit_id in reporter_units:
        if unit_id in tree.units:
            tree.units[unit_id].own_reporters = True
    compliance, kien_nghi, answers, stable = _periodic(tree, period.key, await repo.periodic(prefix, period.key))
    return Digest(
        period=period,
        previous=previous,
        last_year=last_year,
        window_keys=current_keys,
        window_start=period.cumulative_start if period.quarter > 1 else period.start,
        window_end=period.end,
        generated_at=now,
        scope=scope,
        totals=totals,
        reporters=reporters,
        units_expected=len({u for u in reporter_units if u in tree.units} | reporting),
        units_reporting=len(reporting),
        withdrawn=withdrawn,
        urgent_status=urgent_status,
        units=tree.units,
        top=sorted(top, key=lambda u: (-u.tally.current.reports, -u.tally.current.urgent, u.name)),
        urgent=urgent,
        themes=_themes(recent, earlier),
        excerpts=_excerpts(urgent, recent),
        series=[SeriesPoint(p.key, texts.chart_label(p.quarter, p.year), series[p.key]) for p in chart],
        compliance=compliance,
        kien_nghi=kien_nghi,
        answers=answers,
        stable=stable,
    )


def _aggregate(
    rows: Sequence[Any], windows: dict[str, set[str]], chart: list[Period]
) -> tuple[dict[int, Tally], dict[str, Figures], dict[str, int], int, dict[str, int]]:
    """Sort the per-quarter, per-unit SQL rows into unit windows, chart, status counts, withdrawn and volume."""
    own: dict[int, Tally] = {}
    volume: dict[str, int] = {}
    series = {p.key: Figures() for p in chart}
    status = dict.fromkeys(STATUSES, 0)
    withdrawn = 0
    current = windows["current"]
    names = {k: [w for w, keys in windows.items() if k in keys] for k in {r[0] for r in rows}}
    # Rows unpacked as tuples: attribute access on result rows costs more than the arithmetic.
    for key, unit_id, state, n, dan_toc, ton_giao, nhan_dan, untagged, urgent, *by_status in rows:
        volume[key] = volume.get(key, 0) + n
        if state != "filed":
            withdrawn += n if state == "withdrawn" and key in current else 0
            continue
        figures = Figures(n, dan_toc, ton_giao, nhan_dan, untagged, urgent)
        if key in series:
            series[key].add(figures)
        tally = own.get(unit_id)
        if tally is None:
            tally = own[unit_id] = Tally()
        for name in names[key]:
            getattr(tally, name).add(figures)
        if key in current:
            for s, count in zip(STATUSES, by_status, strict=True):
                status[s] += count
    return own, series, status, withdrawn, volume


def _reporters(tree: _Tree, pairs: Sequence[Any]) -> int:
    """Count distinct reporters per unit over its subtree; return the count for the whole scope."""
    seen: dict[int, set[int]] = {}
    everyone: set[int] = set()
    for unit_id, person_id in pairs:
        everyone.add(person_id)
        for ancestor in tree.ancestors(unit_id):
            seen.setdefault(ancestor, set()).add(person_id)
    for unit_id, people in seen.items():
        tree.units[unit_id].reporters = len(people)
    return len(everyone)


def _item(row: Any, tree: _Tree) -> ReportItem:
    unit = tree.units.get(row.unit_id)
    return ReportItem(
        id=row.id,
        created_at=row.created_at,
        unit_name=unit.name if unit else "?",
        unit_path=tree.relative_path(row.unit_id) if unit else "?",
        reporter=row.reporter,
        topics=[t for t in TOPICS if getattr(row, t)],
        urgent=bool(row.urgent),
        status=row.status,
        acknowledged_by=row.acknowledged_by,
        acknowledged_at=row.acknowledged_at,
        text=row.text or "",
    )


def _themes(recent: list[ReportItem], earlier: Sequence[Any]) -> dict[str, list[Any]]:
    """Return the emerging terms per topic: this quarter's sample against the previous quarter's."""
    now = {t: TermCounts() for t in TOPICS}
    before = {t: TermCounts() for t in TOPICS}
    for item in recent:
        found = terms(item.text)
        for t in item.topics:
            now[t].add(found)
    for row in earlier:
        found = terms(row.text or "")
        for t in TOPICS:
            if getattr(row, t):
                before[t].add(found)
    return {t: emerging(now[t], before[t], THEMES) for t in TOPICS}


def _excerpts(urgent: list[ReportItem], recent: list[ReportItem]) -> dict[str, list[ReportItem]]:
    """Pick a few reports per topic: the most recent urgent ones first, then the most recent others."""
    out: dict[str, list[ReportItem]] = {}
    for t in TOPICS:
        chosen: list[ReportItem] = []
        for item in [*urgent, *(r for r in recent if not r.urgent)]:
            if t in item.topics and item.text.strip() and all(c.id != item.id for c in chosen):
                chosen.append(item)
            if len(chosen) == EXCERPTS:
                break
        out[t] = chosen
    return out


def _periodic(
    tree: _Tree, period_key: str, rows: Sequence[Any]
) -> tuple[Compliance, list[Answer], dict[str, list[Answer]], dict[str, int]]:
    """Sort the units into on time, late and missing; gather their answers and kiến nghị."""
    latest = {r.unit_id: r for r in rows if r.unit_id in tree.units}  # rows come oldest first
    compliance = Compliance(period_key)
    answers: dict[str, list[Answer]] = {t: [] for t in TOPICS}
    stable = dict.fromkeys(TOPICS, 0)
    kien_nghi: list[Answer] = []
    for unit_id in tree.order:
        unit = tree.units[unit_id]
        row = latest.get(unit_id)
        if row is None:
            if unit.own_reporters:
                compliance.rows.append(ComplianceRow(unit.id, unit.code, unit.name, "missing", None))
            elif not unit.children:
                compliance.no_reporters.append(unit.name)
            continue
        given = row.answers or {}
        status = "late" if row.late else "on_time"
        compliance.rows.append(ComplianceRow(unit.id, unit.code, unit.name, status, row.submitted_at, {
            k: v.strip() if isinstance(v, str) and v.strip() else None for k, v in given.items()
        }))
        for t in TOPICS:
            text = given.get(t)
            if isinstance(text, str) and text.strip():
                answers[t].append(Answer(unit.name, text.strip()))
            else:
                stable[t] += 1
        wish = given.get("kien_nghi")
        if isinstance(wish, str) and wish.strip():
            kien_nghi.append(Answer(unit.name, wish.strip()))
    return compliance, kien_nghi, answers, stable
