"""Reporting-period calendar: quarter windows, cumulative windows, labels and the job schedule.

Pure logic, no I/O. Every datetime returned is timezone-aware in the calendar's zone; every
datetime accepted must be aware (naive ones are ambiguous and rejected). Windows are half-open
``[start, end)``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

JOBS = ("prompt", "reminder", "escalation", "digest")
"""Scheduled jobs in the order they fire within a period; the deadline is an event, not a job."""

# Every day-of-month setting refers to a quarter's last month (March, June, September, December);
# June and September have 30 days, so 30 is the largest day that exists in all four.
MAX_DAY = 30
MAX_DAYS_AFTER = 31
MIN_YEAR, MAX_YEAR = 2, 9998  # Q1 starts in the previous year; late jobs fall in the next one.

# Labels exactly as the provincial office writes them; Q2-Q4 reports are cumulative.
_SHORT_LABELS = {1: "quý I", 2: "6 tháng đầu năm", 3: "9 tháng", 4: "năm"}
_LABELS = {1: "quý I năm {year}", 2: "6 tháng đầu năm {year}", 3: "9 tháng năm {year}", 4: "năm {year}"}
# [0-9] rather than \d: \d also matches non-ASCII digits.
_KEY_RE = re.compile(r"([0-9]{4})-[Qq]([1-4])")
_TIME_RE = re.compile(r"([01]?[0-9]|2[0-3]):([0-5][0-9])(?::([0-5][0-9]))?")
# Normalised /tonghop kinds (lower case, no diacritics, no spaces) -> quarter; None = latest started.
_KINDS: dict[str, int | None] = {
    "": None,
    "q": None,
    "quy": None,
    "6thang": 2,
    "6thangdaunam": 2,
    "9thang": 3,
    "9thangdaunam": 3,
    "nam": 4,
    "canam": 4,
}


@dataclass(frozen=True)
class Period:
    """One reporting period: a quarter window plus the year-to-date window that ends with it."""

    year: int
    quarter: int  # 1..4
    key: str  # "2026-Q1"
    label: str  # "quý I năm 2026", "6 tháng đầu năm 2026", "9 tháng năm 2026", "năm 2026"
    short_label: str  # "quý I", "6 tháng đầu năm", "9 tháng", "năm"
    start: datetime  # quarter data window start (aware, inclusive)
    end: datetime  # quarter data window end (exclusive); also the end of the cumulative window
    cumulative_start: datetime  # start of the year-to-date window
    deadline: datetime  # exclusive end of the day the reports are due


@dataclass(frozen=True)
class ScheduleConfig:
    """Days (of a quarter's last month), offsets (days after the due day) and times of the jobs."""

    prompt_day: int = 8
    prompt_time: time = time(8, 0)
    reminder_day: int = 12
    reminder_time: time = time(8, 0)
    escalation_days_after: int = 1
    escalation_time: time = time(8, 0)
    digest_days_after: int = 2
    digest_time: time = time(7, 30)

    def __post_init__(self) -> None:
        """Reject days, offsets and times that cannot be scheduled."""
        _check_int("prompt_day", self.prompt_day, 1, MAX_DAY)
        _check_int("reminder_day", self.reminder_day, 1, MAX_DAY)
        _check_int("escalation_days_after", self.escalation_days_after, 1, MAX_DAYS_AFTER)
        _check_int("digest_days_after", self.digest_days_after, 1, MAX_DAYS_AFTER)
        for name in ("prompt_time", "reminder_time", "escalation_time", "digest_time"):
            value = getattr(self, name)
            if not isinstance(value, time) or value.tzinfo is not None:
                raise ValueError(f"{name} must be a naive datetime.time, got {value!r}")
        if (self.reminder_day, self.reminder_time) <= (self.prompt_day, self.prompt_time):
            raise ValueError("the reminder must come after the prompt")

    def to_dict(self) -> dict[str, int | str]:
        """Serialise to plain JSON-friendly values, times as "HH:MM"."""
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return {name: _format_time(v) if isinstance(v, time) else v for name, v in values.items()}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScheduleConfig:
        """Build from plain values; missing keys keep their defaults, unknown keys are errors."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown schedule setting(s): {', '.join(unknown)}")
        values: dict[str, Any] = {
            name: _parse_time(name, v) if name.endswith("_time") else v for name, v in data.items()
        }
        return cls(**values)


def _check_int(name: str, value: object, low: int, high: int) -> None:
    """Raise ValueError unless value is an int in [low, high]."""
    # bool is an int subclass; True as a day is a bug, not a 1.
    if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}, got {value!r}")


def _parse_time(name: str, value: object) -> time:
    """Parse "H:MM", "HH:MM" or "HH:MM:SS" (or pass a time through)."""
    if isinstance(value, time):
        return value
    match = _TIME_RE.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        raise ValueError(f"{name} must be a time like '08:00', got {value!r}")
    hour, minute, second = match.groups()
    return time(int(hour), int(minute), int(second or 0))


def _format_time(value: time) -> str:
    """Format as "HH:MM", keeping seconds only when there are some."""
    return value.isoformat(timespec="seconds" if value.second or value.microsecond else "minutes")


def _require_aware(moment: datetime) -> None:
    """Raise ValueError for a naive datetime."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"datetime must be timezone-aware, got {moment!r}")


def _fold_kind(kind: str) -> str:
    """Lower-case, strip Vietnamese diacritics and drop spaces and punctuation."""
    decomposed = unicodedata.normalize("NFD", kind.lower().replace("đ", "d"))
    return "".join(ch for ch in decomposed if ch.isalnum() and not unicodedata.combining(ch))


def is_late(submitted_at: datetime, period: Period) -> bool:
    """Return True if a report submitted at submitted_at missed the period's deadline."""
    _require_aware(submitted_at)
    return submitted_at >= period.deadline


class Calendar:
    """Turn the office's reporting rules into periods, windows and job fire times."""

    def __init__(
        self,
        cutoff_day: int | None = 14,
        tz: str = "Asia/Ho_Chi_Minh",
        deadline_day: int | None = None,
        schedule: ScheduleConfig | None = None,
    ) -> None:
        if cutoff_day is not None:
            _check_int("cutoff_day", cutoff_day, 1, MAX_DAY)
        if deadline_day is not None:
            _check_int("deadline_day", deadline_day, 1, MAX_DAY)
        try:
            self.tz = ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone: {tz!r}") from exc
        self.tz_name = tz
        self.cutoff_day = cutoff_day
        self.deadline_day = deadline_day
        self.schedule = schedule or ScheduleConfig()
        self._last: Period | None = None  # the period found last: every report of a quarter asks for it
        # June and September end on the 30th, so calendar-quarter deadlines are never earlier.
        earliest_due = deadline_day or cutoff_day or MAX_DAY
        if self.schedule.reminder_day > earliest_due:
            raise ValueError(
                f"reminder_day {self.schedule.reminder_day} falls after the due day {earliest_due}"
            )

    def __repr__(self) -> str:
        return f"Calendar(cutoff_day={self.cutoff_day!r}, tz={self.tz_name!r}, deadline_day={self.deadline_day!r})"

    def period(self, key: str) -> Period:
        """Return the period for a key like "2026-Q1" (case-insensitive "q")."""
        match = _KEY_RE.fullmatch(key.strip()) if isinstance(key, str) else None
        if match is None:
            raise ValueError(f"period key must look like '2026-Q1', got {key!r}")
        return self.period_of(int(match.group(1)), int(match.group(2)))

    def period_of(self, year: int, quarter: int) -> Period:
        """Return the period for a year and quarter (1..4)."""
        _check_int("year", year, MIN_YEAR, MAX_YEAR)
        _check_int("quarter", quarter, 1, 4)
        prev_year, prev_quarter = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
        return Period(
            year=year,
            quarter=quarter,
            key=f"{year}-Q{quarter}",
            label=_LABELS[quarter].format(year=year),
            short_label=_SHORT_LABELS[quarter],
            start=self._window_end(prev_year, prev_quarter),
            end=self._window_end(year, quarter),
            cumulative_start=self._window_end(year - 1, 4),
            deadline=self._deadline(year, quarter),
        )

    def period_containing(self, moment: datetime) -> Period:
        """Return the period whose quarter window contains moment."""
        _require_aware(moment)
        last = self._last
        if last is not None and last.start <= moment < last.end:
            return last
        self._last = found = self._period_containing(moment)
        return found

    def _period_containing(self, moment: datetime) -> Period:
        local = moment.astimezone(self.tz)
        guess = self.period_of(local.year, (local.month - 1) // 3 + 1)
        # The cut-off rule shifts windows by under a month, so one step either way suffices.
        if local >= guess.end:
            return self.next(guess)
        if local < guess.start:
            return self.previous(guess)
        return guess

    def current_reporting_period(self, moment: datetime) -> Period:
        """Return the period people report for at moment: the one whose window contains it."""
        # Late reports for a closed period carry its key explicitly; time alone means "now".
        return self.period_containing(moment)

    def previous(self, p: Period) -> Period:
        """Return the period before p."""
        return self.period_of(p.year, p.quarter - 1) if p.quarter > 1 else self.period_of(p.year - 1, 4)

    def next(self, p: Period) -> Period:
        """Return the period after p."""
        return self.period_of(p.year, p.quarter + 1) if p.quarter < 4 else self.period_of(p.year + 1, 1)

    def same_period_last_year(self, p: Period) -> Period:
        """Return the same quarter one year earlier."""
        return self.period_of(p.year - 1, p.quarter)

    def recent(self, p: Period, n: int) -> list[Period]:
        """Return the n periods ending with p, oldest first."""
        if n < 0:
            raise ValueError(f"n must not be negative, got {n}")
        periods: list[Period] = []
        current = p
        for _ in range(n):
            periods.append(current)
            current = self.previous(current)
        return periods[::-1]

    def parse_user_period(self, kind: str | None, year: int | None, now: datetime) -> Period:
        """Resolve a /tonghop request; "quy" means the latest quarter of the year that has started."""
        _require_aware(now)
        folded = _fold_kind(kind or "")
        if folded not in _KINDS:
            raise ValueError(f"unknown period kind: {kind!r}")
        year = now.astimezone(self.tz).year if year is None else year
        quarter = _KINDS[folded]
        if quarter is not None:
            chosen = self.period_of(year, quarter)
        else:
            started = [p for p in (self.period_of(year, q) for q in range(1, 5)) if p.start <= now]
            chosen = started[-1] if started else self.period_of(year, 1)
        if chosen.cumulative_start > now:
            raise ValueError(f"{chosen.label} has not started yet")
        return chosen

    def events(self, p: Period) -> dict[str, datetime]:
        """Return the fire times of the period's prompt, reminder, deadline, escalation and digest."""
        s = self.schedule
        last_month = 3 * p.quarter
        due_day = (p.deadline - timedelta(days=1)).date()
        return {
            "prompt": self._at(date(p.year, last_month, s.prompt_day), s.prompt_time),
            "reminder": self._at(date(p.year, last_month, s.reminder_day), s.reminder_time),
            "deadline": p.deadline,
            "escalation": self._at(due_day + timedelta(days=s.escalation_days_after), s.escalation_time),
            "digest": self._at(due_day + timedelta(days=s.digest_days_after), s.digest_time),
        }

    def due_between(self, after: datetime, until: datetime) -> list[tuple[str, Period, datetime]]:
        """Return every (job, period, fire_at) with after < fire_at <= until, in firing order."""
        _require_aware(after)
        _require_aware(until)
        if until <= after:
            return []
        # A period's jobs end at most MAX_DAYS_AFTER days past its deadline, well inside the
        # window two periods later, so starting two periods back misses nothing.
        p = self.previous(self.previous(self.period_containing(after)))
        due: list[tuple[str, Period, datetime]] = []
        while (fire_times := self.events(p))["prompt"] <= until:
            due.extend((job, p, fire_times[job]) for job in JOBS if after < fire_times[job] <= until)
            p = self.next(p)
        return sorted(due, key=lambda item: (item[2], item[1].key, JOBS.index(item[0])))

    def next_runs(self, now: datetime, n: int = 10) -> list[tuple[str, Period, datetime]]:
        """Return the next n jobs strictly after now, in firing order."""
        if n <= 0:
            return []
        # Every job recurs once a year, so each 366-day span holds all len(JOBS) * 4 of them.
        years = n // (len(JOBS) * 4) + 1
        return self.due_between(now, now + timedelta(days=366 * years))[:n]

    def _at(self, day: date, at: time) -> datetime:
        """Return the aware local datetime for a wall-clock day and time."""
        return datetime.combine(day, at, tzinfo=self.tz)

    def _window_end(self, year: int, quarter: int) -> datetime:
        """Return the exclusive end of a quarter's data window."""
        last_month = 3 * quarter
        if self.cutoff_day is None:
            first_after = date(year + 1, 1, 1) if quarter == 4 else date(year, last_month + 1, 1)
            return self._at(first_after, time(0))
        return self._at(date(year, last_month, self.cutoff_day) + timedelta(days=1), time(0))

    def _deadline(self, year: int, quarter: int) -> datetime:
        """Return the exclusive end of the day a quarter's reports are due."""
        if self.deadline_day is None:
            return self._window_end(year, quarter)
        return self._at(date(year, 3 * quarter, self.deadline_day) + timedelta(days=1), time(0))
