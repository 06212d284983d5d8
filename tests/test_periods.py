"""Tests for the reporting-period calendar: windows, labels, navigation, events and the schedule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.periods import Calendar, Period, ScheduleConfig, is_late

VN = ZoneInfo("Asia/Ho_Chi_Minh")
ONE_US = timedelta(microseconds=1)


def vn(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """Return an aware Vietnam-time datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=VN)


@pytest.fixture
def cutoff() -> Calendar:
    """Return the default calendar: cut-off day 14, Vietnam time."""
    return Calendar()


@pytest.fixture
def calendar_q() -> Calendar:
    """Return a calendar-quarter calendar."""
    return Calendar(cutoff_day=None)


# --- windows, labels, keys -------------------------------------------------------------------

CUTOFF_WINDOWS = {
    1: (vn(2025, 12, 15), vn(2026, 3, 15)),
    2: (vn(2026, 3, 15), vn(2026, 6, 15)),
    3: (vn(2026, 6, 15), vn(2026, 9, 15)),
    4: (vn(2026, 9, 15), vn(2026, 12, 15)),
}
CALENDAR_WINDOWS = {
    1: (vn(2026, 1, 1), vn(2026, 4, 1)),
    2: (vn(2026, 4, 1), vn(2026, 7, 1)),
    3: (vn(2026, 7, 1), vn(2026, 10, 1)),
    4: (vn(2026, 10, 1), vn(2027, 1, 1)),
}
LABELS = {
    1: ("quý I năm 2026", "quý I"),
    2: ("6 tháng đầu năm 2026", "6 tháng đầu năm"),
    3: ("9 tháng năm 2026", "9 tháng"),
    4: ("năm 2026", "năm"),
}


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_cutoff_windows_walk_the_year(cutoff: Calendar, quarter: int) -> None:
    p = cutoff.period_of(2026, quarter)
    assert (p.start, p.end) == CUTOFF_WINDOWS[quarter]
    assert p.cumulative_start == vn(2025, 12, 15)
    assert p.deadline == p.end


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_calendar_quarter_windows_walk_the_year(calendar_q: Calendar, quarter: int) -> None:
    p = calendar_q.period_of(2026, quarter)
    assert (p.start, p.end) == CALENDAR_WINDOWS[quarter]
    assert p.cumulative_start == vn(2026, 1, 1)
    assert p.deadline == p.end


def test_q1_cutoff_window_crosses_the_year_boundary(cutoff: Calendar) -> None:
    p = cutoff.period("2026-Q1")
    assert p.start == vn(2025, 12, 15)
    assert p.end - ONE_US == datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=VN)


def test_windows_tile_the_timeline_without_gaps(cutoff: Calendar, calendar_q: Calendar) -> None:
    for cal in (cutoff, calendar_q):
        periods = cal.recent(cal.period("2027-Q4"), 12)
        for earlier, later in zip(periods, periods[1:], strict=False):
            assert earlier.end == later.start


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_labels_and_keys(cutoff: Calendar, quarter: int) -> None:
    p = cutoff.period_of(2026, quarter)
    assert p.key == f"2026-Q{quarter}"
    assert (p.label, p.short_label) == LABELS[quarter]
    assert (p.year, p.quarter) == (2026, quarter)


def test_windows_are_aware_in_the_configured_zone(cutoff: Calendar) -> None:
    p = cutoff.period("2026-Q2")
    for moment in (p.start, p.end, p.cumulative_start, p.deadline):
        assert moment.utcoffset() == timedelta(hours=7)
    assert p.start == datetime(2026, 3, 14, 17, 0, tzinfo=UTC)


def test_other_time_zone() -> None:
    p = Calendar(tz="Europe/Berlin").period("2026-Q2")
    assert p.start == datetime(2026, 3, 14, 23, 0, tzinfo=UTC)  # CET, before the switch
    assert p.end == datetime(2026, 6, 14, 22, 0, tzinfo=UTC)  # CEST


# --- parsing keys ----------------------------------------------------------------------------


def test_period_accepts_lower_case_key(cutoff: Calendar) -> None:
    assert cutoff.period("2026-q3") == cutoff.period_of(2026, 3)
    assert cutoff.period(" 2026-Q3 ") == cutoff.period_of(2026, 3)


@pytest.mark.parametrize(
    "key", ["2026-Q5", "2026-Q0", "2026Q1", "26-Q1", "2026-1", "Q1-2026", "", "2026-Q1x"]
)
def test_period_rejects_bad_keys(cutoff: Calendar, key: str) -> None:
    with pytest.raises(ValueError):
        cutoff.period(key)


def test_period_of_rejects_bad_quarter(cutoff: Calendar) -> None:
    with pytest.raises(ValueError):
        cutoff.period_of(2026, 5)


# --- navigation ------------------------------------------------------------------------------


def test_previous_and_same_period_last_year_cross_the_year(cutoff: Calendar) -> None:
    q1 = cutoff.period("2026-Q1")
    assert cutoff.previous(q1).key == "2025-Q4"
    assert cutoff.previous(cutoff.period("2026-Q3")).key == "2026-Q2"
    assert cutoff.same_period_last_year(q1).key == "2025-Q1"
    assert cutoff.same_period_last_year(q1).start == vn(2024, 12, 15)
    assert cutoff.next(cutoff.period("2026-Q4")).key == "2027-Q1"


def test_recent_returns_oldest_first(cutoff: Calendar) -> None:
    keys = [p.key for p in cutoff.recent(cutoff.period("2026-Q2"), 4)]
    assert keys == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"]
    assert cutoff.recent(cutoff.period("2026-Q2"), 0) == []
    with pytest.raises(ValueError):
        cutoff.recent(cutoff.period("2026-Q2"), -1)


# --- period_containing -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        (vn(2025, 12, 14, 23, 59), "2025-Q4"),
        (vn(2025, 12, 15), "2026-Q1"),
        (vn(2026, 1, 1), "2026-Q1"),
        (vn(2026, 3, 14, 23, 59), "2026-Q1"),
        (datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=VN), "2026-Q1"),
        (vn(2026, 3, 15), "2026-Q2"),
        (vn(2026, 6, 14, 12), "2026-Q2"),
        (vn(2026, 6, 15), "2026-Q3"),
        (vn(2026, 9, 15), "2026-Q4"),
        (vn(2026, 12, 14, 23, 59), "2026-Q4"),
        (vn(2026, 12, 15), "2027-Q1"),
        (vn(2026, 12, 31, 23, 59), "2027-Q1"),
    ],
)
def test_period_containing_cutoff_boundaries(cutoff: Calendar, moment: datetime, key: str) -> None:
    assert cutoff.period_containing(moment).key == key
    assert cutoff.current_reporting_period(moment).key == key


@pytest.mark.parametrize(
    ("moment", "key"),
    [
        (vn(2025, 12, 31, 23, 59), "2025-Q4"),
        (vn(2026, 1, 1), "2026-Q1"),
        (vn(2026, 3, 31, 23, 59), "2026-Q1"),
        (vn(2026, 4, 1), "2026-Q2"),
        (vn(2026, 12, 15), "2026-Q4"),
    ],
)
def test_period_containing_calendar_boundaries(calendar_q: Calendar, moment: datetime, key: str) -> None:
    assert calendar_q.period_containing(moment).key == key


def test_utc_moment_is_converted_to_local_time(cutoff: Calendar) -> None:
    # 2026-03-14 17:00 UTC is 2026-03-15 00:00 in Vietnam: already Q2.
    assert cutoff.period_containing(datetime(2026, 3, 14, 16, 59, 59, tzinfo=UTC)).key == "2026-Q1"
    assert cutoff.period_containing(datetime(2026, 3, 14, 17, 0, tzinfo=UTC)).key == "2026-Q2"
    # A UTC new year's eve evening is already 1 January in Vietnam.
    cal = Calendar(cutoff_day=None)
    assert cal.period_containing(datetime(2025, 12, 31, 17, 0, tzinfo=UTC)).key == "2026-Q1"


def test_naive_moments_are_rejected(cutoff: Calendar) -> None:
    naive = datetime(2026, 3, 1)
    with pytest.raises(ValueError):
        cutoff.period_containing(naive)
    with pytest.raises(ValueError):
        cutoff.due_between(naive, naive + timedelta(days=1))
    with pytest.raises(ValueError):
        is_late(naive, cutoff.period("2026-Q1"))


# --- events ----------------------------------------------------------------------------------


@pytest.mark.parametrize("quarter", [1, 2, 3, 4])
def test_events_with_cutoff(cutoff: Calendar, quarter: int) -> None:
    month = 3 * quarter
    assert cutoff.events(cutoff.period_of(2026, quarter)) == {
        "prompt": vn(2026, month, 8, 8),
        "reminder": vn(2026, month, 12, 8),
        "deadline": vn(2026, month, 15),
        "escalation": vn(2026, month, 15, 8),
        "digest": vn(2026, month, 16, 7, 30),
    }


def test_q1_events_have_the_vietnam_offset(cutoff: Calendar) -> None:
    events = cutoff.events(cutoff.period("2026-Q1"))
    assert events["prompt"].isoformat() == "2026-03-08T08:00:00+07:00"
    assert events["deadline"] - ONE_US == datetime(2026, 3, 14, 23, 59, 59, 999999, tzinfo=VN)


@pytest.mark.parametrize(
    ("quarter", "end_month", "next_month", "next_year"),
    [(1, 3, 4, 2026), (2, 6, 7, 2026), (3, 9, 10, 2026), (4, 12, 1, 2027)],
)
def test_events_with_calendar_quarters(
    calendar_q: Calendar, quarter: int, end_month: int, next_month: int, next_year: int
) -> None:
    assert calendar_q.events(calendar_q.period_of(2026, quarter)) == {
        "prompt": vn(2026, end_month, 8, 8),
        "reminder": vn(2026, end_month, 12, 8),
        "deadline": vn(next_year, next_month, 1),
        "escalation": vn(next_year, next_month, 1, 8),
        "digest": vn(next_year, next_month, 2, 7, 30),
    }


def test_configured_deadline_day() -> None:
    cal = Calendar(cutoff_day=None, deadline_day=25)
    p = cal.period("2026-Q2")
    assert (p.start, p.end) == CALENDAR_WINDOWS[2]
    assert p.deadline == vn(2026, 6, 26)
    events = cal.events(p)
    assert events["escalation"] == vn(2026, 6, 26, 8)
    assert events["digest"] == vn(2026, 6, 27, 7, 30)


def test_configured_schedule() -> None:
    schedule = ScheduleConfig(
        prompt_day=1,
        prompt_time=time(9, 15),
        reminder_day=10,
        escalation_days_after=3,
        digest_days_after=5,
        digest_time=time(18, 0),
    )
    events = Calendar(schedule=schedule).events(Calendar().period("2026-Q4"))
    assert events["prompt"] == vn(2026, 12, 1, 9, 15)
    assert events["reminder"] == vn(2026, 12, 10, 8)
    assert events["escalation"] == vn(2026, 12, 17, 8)
    assert events["digest"] == vn(2026, 12, 19, 18)


def test_is_late(cutoff: Calendar) -> None:
    p = cutoff.period("2026-Q1")
    assert not is_late(p.deadline - ONE_US, p)
    assert is_late(p.deadline, p)
    assert not is_late(datetime(2026, 3, 14, 16, 59, tzinfo=UTC), p)
    assert is_late(datetime(2026, 3, 14, 17, 0, tzinfo=UTC), p)


# --- due_between / next_runs -----------------------------------------------------------------


def test_due_between_over_the_cutoff_year(cutoff: Calendar) -> None:
    due = cutoff.due_between(vn(2026, 1, 1), vn(2027, 1, 1))
    assert len(due) == 16
    assert [(job, p.key) for job, p, _ in due[:4]] == [
        ("prompt", "2026-Q1"),
        ("reminder", "2026-Q1"),
        ("escalation", "2026-Q1"),
        ("digest", "2026-Q1"),
    ]
    assert {p.key for _, p, _ in due} == {"2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"}
    fire_times = [at for _, _, at in due]
    assert fire_times == sorted(fire_times)
    assert len(set(due)) == 16
    assert due[-1] == ("digest", cutoff.period("2026-Q4"), vn(2026, 12, 16, 7, 30))


def test_due_between_calendar_q4_jobs_belong_to_the_old_year(calendar_q: Calendar) -> None:
    due = calendar_q.due_between(vn(2026, 1, 1), vn(2027, 1, 1))
    assert len(due) == 16
    assert due[:2] == [
        ("escalation", calendar_q.period("2025-Q4"), vn(2026, 1, 1, 8)),
        ("digest", calendar_q.period("2025-Q4"), vn(2026, 1, 2, 7, 30)),
    ]
    january = calendar_q.due_between(vn(2026, 12, 31), vn(2027, 1, 31))
    assert [(job, p.key, at) for job, p, at in january] == [
        ("escalation", "2026-Q4", vn(2027, 1, 1, 8)),
        ("digest", "2026-Q4", vn(2027, 1, 2, 7, 30)),
    ]


def test_due_between_after_is_exclusive_and_until_inclusive(cutoff: Calendar) -> None:
    prompt = vn(2026, 3, 8, 8)
    assert cutoff.due_between(prompt, prompt) == []
    assert cutoff.due_between(prompt - ONE_US, prompt) == [("prompt", cutoff.period("2026-Q1"), prompt)]
    assert cutoff.due_between(prompt, prompt + ONE_US) == []
    year = cutoff.due_between(prompt, vn(2027, 3, 8, 8))
    assert len(year) == 16
    assert year[0][0] == "reminder" and year[-1] == ("prompt", cutoff.period("2027-Q1"), vn(2027, 3, 8, 8))


@pytest.mark.parametrize("cutoff_day", [14, None])
def test_adjacent_windows_neither_lose_nor_repeat_jobs(cutoff_day: int | None) -> None:
    cal = Calendar(cutoff_day=cutoff_day)
    # Split points sit exactly on fire times and on window boundaries.
    splits = [vn(2026, 1, 1), vn(2026, 1, 1, 8), vn(2026, 3, 8, 8), vn(2026, 3, 15), vn(2026, 6, 12, 8)]
    splits += [vn(2026, 10, 1), vn(2026, 12, 16, 7, 30), vn(2027, 1, 1)]
    pieces = [job for a, b in zip(splits, splits[1:], strict=False) for job in cal.due_between(a, b)]
    assert pieces == cal.due_between(splits[0], splits[-1])
    assert len(pieces) == 16


def test_due_between_accepts_utc_bounds(cutoff: Calendar) -> None:
    due = cutoff.due_between(datetime(2026, 3, 8, 0, 59, tzinfo=UTC), datetime(2026, 3, 8, 1, 0, tzinfo=UTC))
    assert [(job, at) for job, _, at in due] == [("prompt", vn(2026, 3, 8, 8))]


def test_next_runs(cutoff: Calendar) -> None:
    runs = cutoff.next_runs(vn(2026, 3, 12, 8), n=3)
    assert [(job, p.key, at) for job, p, at in runs] == [
        ("escalation", "2026-Q1", vn(2026, 3, 15, 8)),
        ("digest", "2026-Q1", vn(2026, 3, 16, 7, 30)),
        ("prompt", "2026-Q2", vn(2026, 6, 8, 8)),
    ]
    assert len(cutoff.next_runs(vn(2026, 1, 1), n=40)) == 40
    assert cutoff.next_runs(vn(2026, 1, 1), n=0) == []


# --- /tonghop parsing ------------------------------------------------------------------------

NOW = vn(2026, 8, 20, 10)


@pytest.mark.parametrize(
    ("kind", "key"),
    [
        (None, "2026-Q3"),
        ("", "2026-Q3"),
        ("quy", "2026-Q3"),
        ("quý", "2026-Q3"),
        ("QUÝ", "2026-Q3"),
        ("6thang", "2026-Q2"),
        ("6 thang", "2026-Q2"),
        ("6tháng", "2026-Q2"),
        ("6 tháng đầu năm", "2026-Q2"),
        ("9thang", "2026-Q3"),
        ("9 tháng", "2026-Q3"),
        ("nam", "2026-Q4"),
        ("năm", "2026-Q4"),
        ("Năm", "2026-Q4"),
        ("cả năm", "2026-Q4"),
    ],
)
def test_parse_user_period_kinds(cutoff: Calendar, kind: str | None, key: str) -> None:
    assert cutoff.parse_user_period(kind, None, NOW).key == key


def test_parse_user_period_with_year(cutoff: Calendar) -> None:
    assert cutoff.parse_user_period("nam", 2025, NOW).key == "2025-Q4"
    assert cutoff.parse_user_period("quy", 2025, NOW).key == "2025-Q4"
    assert cutoff.parse_user_period("6 tháng", 2024, NOW).key == "2024-Q2"


def test_parse_user_period_quy_is_the_latest_started_quarter_of_the_year(
    cutoff: Calendar, calendar_q: Calendar
) -> None:
    # 20 December: the cut-off rule has opened 2027-Q1, but "quý" still means this year's Q4.
    assert cutoff.parse_user_period("quy", None, vn(2026, 12, 20)).key == "2026-Q4"
    assert cutoff.parse_user_period("quy", 2027, vn(2026, 12, 20)).key == "2027-Q1"
    assert cutoff.parse_user_period(None, None, vn(2026, 3, 15)).key == "2026-Q2"
    assert calendar_q.parse_user_period(None, None, vn(2026, 3, 31, 23, 59)).key == "2026-Q1"


def test_parse_user_period_uses_local_year(calendar_q: Calendar) -> None:
    # 31 December 17:00 UTC is already 1 January 2027 in Vietnam.
    assert calendar_q.parse_user_period("nam", None, datetime(2026, 12, 31, 17, tzinfo=UTC)).key == "2027-Q4"


@pytest.mark.parametrize(("kind", "year"), [("thang", None), ("12thang", None), ("quy", 2030), ("nam", 2030)])
def test_parse_user_period_rejects_unknown_or_future(cutoff: Calendar, kind: str, year: int | None) -> None:
    with pytest.raises(ValueError):
        cutoff.parse_user_period(kind, year, NOW)


# --- ScheduleConfig --------------------------------------------------------------------------


@pytest.mark.parametrize("day", [0, 31, 32, -1, True, "8"])
def test_schedule_rejects_bad_days(day: object) -> None:
    with pytest.raises(ValueError, match="prompt_day"):
        ScheduleConfig(prompt_day=day)  # type: ignore[arg-type]


@pytest.mark.parametrize("value", ["25:00", "08:60", "8am", "", "08", "abc", 8])
def test_schedule_rejects_bad_time_strings(value: object) -> None:
    with pytest.raises(ValueError, match="digest_time"):
        ScheduleConfig.from_dict({"digest_time": value})


def test_schedule_rejects_bad_offsets_and_order() -> None:
    with pytest.raises(ValueError, match="escalation_days_after"):
        ScheduleConfig(escalation_days_after=0)
    with pytest.raises(ValueError, match="reminder"):
        ScheduleConfig(prompt_day=12, reminder_day=8)
    with pytest.raises(ValueError, match="unknown"):
        ScheduleConfig.from_dict({"prompt_hour": 8})


def test_schedule_round_trip() -> None:
    default = ScheduleConfig()
    assert default.to_dict() == {
        "prompt_day": 8,
        "prompt_time": "08:00",
        "reminder_day": 12,
        "reminder_time": "08:00",
        "escalation_days_after": 1,
        "escalation_time": "08:00",
        "digest_days_after": 2,
        "digest_time": "07:30",
    }
    assert ScheduleConfig.from_dict(default.to_dict()) == default
    custom = ScheduleConfig(prompt_day=5, prompt_time=time(6, 45, 30), digest_days_after=7)
    assert ScheduleConfig.from_dict(custom.to_dict()) == custom
    assert ScheduleConfig.from_dict({"prompt_time": "7:05"}).prompt_time == time(7, 5)
    assert ScheduleConfig.from_dict({}) == default


# --- Calendar validation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs",
    [
        {"cutoff_day": 0},
        {"cutoff_day": 31},
        {"deadline_day": 31},
        {"tz": "Mars/Olympus"},
        {"cutoff_day": 10},  # the default reminder on the 12th would come after the due day
        {"cutoff_day": None, "deadline_day": 11},
    ],
)
def test_calendar_rejects_bad_settings(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError):
        Calendar(**kwargs)  # type: ignore[arg-type]


def test_period_is_hashable_and_comparable(cutoff: Calendar) -> None:
    assert isinstance(cutoff.period("2026-Q1"), Period)
    assert cutoff.period("2026-Q1") == cutoff.period_of(2026, 1)
    assert len({cutoff.period("2026-Q1"), cutoff.period_of(2026, 1)}) == 1
