"""The digest as plain data: every renderer (chat text, DOCX, XLSX, chart) reads the same object.

Windows (decided here, stated in every rendering):
- ``current``: the period's report window. Q1 is its quarter; Q2-Q4 (6 tháng, 9 tháng, năm) are
  cumulative from the start of the year, as the office's own reports are.
- ``quarter``: the period's own quarter (equal to ``current`` for Q1).
- ``previous``: the quarter before; compared with ``quarter`` ("quý này so với quý trước").
- ``last_year``: the same window one year earlier; compared with ``current`` ("cùng kỳ").
Compliance (periodic reports) is per quarter, by the period's key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.periods import Period

TOPICS = ("nhan_dan", "dan_toc", "ton_giao")  # the order of the report's sections I-III
STATUSES = ("new", "acknowledged", "in_progress", "resolved")
WINDOWS = ("current", "quarter", "previous", "last_year")


@dataclass(slots=True)
class Figures:
    """Report counts in one window: total, per topic (a report may have several), untagged, urgent."""

    reports: int = 0
    dan_toc: int = 0
    ton_giao: int = 0
    nhan_dan: int = 0
    untagged: int = 0
    urgent: int = 0

    def topic(self, name: str) -> int:
        """Return the count of one topic."""
        return int(getattr(self, name))

    def add(self, other: Figures) -> None:
        """Add another window's counts to these."""
        self.reports += other.reports
        self.dan_toc += other.dan_toc
        self.ton_giao += other.ton_giao
        self.nhan_dan += other.nhan_dan
        self.untagged += other.untagged
        self.urgent += other.urgent


@dataclass(slots=True)
class Tally:
    """The same counts over the four windows of the digest."""

    current: Figures = field(default_factory=Figures)
    quarter: Figures = field(default_factory=Figures)
    previous: Figures = field(default_factory=Figures)
    last_year: Figures = field(default_factory=Figures)

    def add(self, other: Tally) -> None:
        """Add another tally window by window."""
        self.current.add(other.current)
        self.quarter.add(other.quarter)
        self.previous.add(other.previous)
        self.last_year.add(other.last_year)


@dataclass(slots=True)
class UnitStat:
    """One unit with its counts rolled up over its whole subtree."""

    id: int
    parent_id: int | None
    code: str
    name: str
    level: str
    path: str
    depth: int  # 0 for the digest's own unit
    tally: Tally = field(default_factory=Tally)
    reporters: int = 0  # distinct people who filed in the current window, subtree-wide
    own_reporters: bool = False  # the unit itself has an active reporter registered
    children: list[int] = field(default_factory=list)


@dataclass(slots=True)
class ReportItem:
    """One report as the digest shows it (urgent list and excerpts)."""

    id: int
    created_at: datetime
    unit_name: str
    unit_path: str  # "Xã Một › Thôn 1", relative to the digest's unit
    reporter: str
    topics: list[str]
    urgent: bool
    status: str
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    text: str


@dataclass(slots=True)
class Theme:
    """A term whose share of reports rose against the previous quarter."""

    term: str  # the most common accented form, for display
    count: int  # reports of the quarter sample containing it
    previous: int  # reports of the previous quarter's sample containing it


@dataclass(slots=True)
class SeriesPoint:
    """One quarter of the chart: counts by topic in that quarter's own window."""

    key: str
    label: str  # "Quý I/2026"
    figures: Figures


@dataclass(slots=True)
class ComplianceRow:
    unit_id: int
    code: str
    name: str
    status: str  # on_time | late | missing
    submitted_at: datetime | None
    answers: dict[str, str | None] = field(default_factory=dict)  # topic or "kien_nghi" -> text, None = stable


@dataclass(slots=True)
class Compliance:
    """Who submitted the periodic report of the quarter: expected units are those with reporters."""

    period_key: str
    rows: list[ComplianceRow] = field(default_factory=list)
    no_reporters: list[str] = field(default_factory=list)  # grassroots units with no active reporter

    def names(self, status: str) -> list[str]:
        """Return the unit names with one status, in tree order."""
        return [r.name for r in self.rows if r.status == status]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)


@dataclass(slots=True)
class Answer:
    """One unit's answer in its periodic report."""

    unit_name: str
    text: str


@dataclass(slots=True)
class Scope:
    """The unit the digest is for; ``id`` None means every unit (an admin with no unit)."""

    id: int | None
    code: str | None
    name: str
    level: str
    path: str | None


@dataclass
class Digest:
    """Everything the office's periodic summary says, for one period and one unit's subtree."""

    period: Period
    previous: Period
    last_year: Period
    window_keys: list[str]  # quarter keys in the current window
    window_start: datetime
    window_end: datetime  # exclusive
    generated_at: datetime
    scope: Scope
    totals: Tally
    reporters: int
    units_expected: int  # units with an active reporter or with reports in the window
    units_reporting: int
    withdrawn: int  # reports withdrawn in the window (not counted anywhere else)
    urgent_status: dict[str, int]
    units: dict[int, UnitStat]
    top: list[UnitStat]  # the scope's direct children (or the scope itself), busiest first
    urgent: list[ReportItem]
    themes: dict[str, list[Theme]]
    excerpts: dict[str, list[ReportItem]]
    series: list[SeriesPoint]
    compliance: Compliance
    kien_nghi: list[Answer]
    answers: dict[str, list[Answer]]  # per topic: units' non-empty periodic answers
    stable: dict[str, int]  # per topic: units whose periodic answer was "ổn định"

    def unit_path(self, unit_id: int) -> str:
        """Return "Xã Một › Thôn 1": a unit's path below the digest's own unit."""
        names: list[str] = []
        unit = self.units.get(unit_id)
        while unit is not None and (unit.depth > 0 or not names):
            names.append(unit.name)
            unit = self.units.get(unit.parent_id) if unit.parent_id is not None else None
        return " › ".join(reversed(names))

    @property
    def cumulative(self) -> bool:
        """Return True when the window runs from the start of the year (6 tháng, 9 tháng, năm)."""
        return self.period.quarter > 1

    @property
    def empty(self) -> bool:
        return self.totals.current.reports == 0

    @property
    def in_progress(self) -> bool:
        """Return True when the period's window has not ended at generation time."""
        return self.generated_at < self.window_end
