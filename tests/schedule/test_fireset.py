"""The analytic engine against minute-by-minute evaluation of the per-instant rules.

Windows of a few days are placed on DST transitions, month ends and leap days of several zones
(including Lord Howe's 30-minute shift and Santiago's midnight change), where the engine switches
from day bitsets to exact per-day evaluation.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.schedule import (
    DEFAULT_DAYS,
    AgentSchedule,
    agent_fireset,
    compare,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from bridge.schedule.fireset import FireSet, compare_by_minute
from tests.schedule.strategies import (
    DST_ZONES,
    INTERESTING_DAYS,
    ZONES,
    agent_schedules,
    brute_agent,
    brute_cron,
    cron_texts,
)

WINDOW = 3


def _since(day: dt.date, back: int) -> dt.date:
    return day - dt.timedelta(days=back)


@settings(max_examples=200, deadline=None)
@given(
    agent_schedules(),
    st.sampled_from(ZONES),
    st.sampled_from(INTERESTING_DAYS),
    st.integers(0, 2),
    st.sampled_from(["actual", "configured"]),
    st.sampled_from(["4.2", "<=4.0"]),
)
def test_agent_instants_match_minute_walk(schedule, zone, day, back, mode, body):
    since = _since(day, back)
    fires = agent_fireset(schedule, zone, mode=mode, body=body)
    got = set(fire_instants(fires, since, WINDOW))
    assert got == brute_agent(schedule, zone, since, WINDOW, mode=mode, body=body)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(cron_texts(), min_size=1, max_size=2),
    st.sampled_from(ZONES),
    st.sampled_from(INTERESTING_DAYS),
    st.integers(0, 2),
    st.sampled_from(["1.4.2", "1.6.1", "1.6.7", "main"]),
    st.booleans(),
)
def test_cron_instants_match_minute_walk(texts, zone, day, back, release, and_logic):
    version = release if "$" not in "".join(texts) or release != "1.4.2" else "1.6.7"
    parsed = [parse_cron(t, version) for t in texts]
    since = _since(day, back)
    fires = cron_fireset(parsed, zone, and_logic=and_logic)
    got = set(fire_instants(fires, since, WINDOW))
    assert got == brute_cron(parsed, zone, since, WINDOW, and_logic=and_logic)


@settings(max_examples=150, deadline=None)
@given(
    agent_schedules(),
    st.lists(cron_texts(), min_size=1, max_size=2),
    st.sampled_from(DST_ZONES),
    st.sampled_from(ZONES),
    st.sampled_from(INTERESTING_DAYS),
)
def test_compare_counts_and_first_differences(schedule, texts, agent_zone, cron_zone, day):
    since = _since(day, 1)
    parsed = [parse_cron(t, "1.6.7") for t in texts]
    left = agent_fireset(schedule, agent_zone)
    right = cron_fireset(parsed, cron_zone)
    result = compare(left, right, since, WINDOW)
    a = brute_agent(schedule, agent_zone, since, WINDOW)
    b = brute_cron(parsed, cron_zone, since, WINDOW)
    assert (result.left_total, result.right_total) == (len(a), len(b))
    assert (result.left_only, result.right_only) == (len(a - b), len(b - a))
    assert result.first_left_only == min(a - b, default=None)
    assert result.first_right_only == min(b - a, default=None)
    assert (result.both, result.first_both) == (len(a & b), min(a & b, default=None))
    assert result.equal == (a == b)


@st.composite
def firesets(draw: st.DrawFn) -> FireSet:
    """A pgAgent job (one or two schedules, with exceptions and windows) or pg_cron entries of a
    release (1.4.2; 1.6.1, which reads tomorrow's date; 1.6.7 with ``$``), in one of the zones."""
    zone = draw(st.sampled_from(ZONES))
    if draw(st.booleans()):
        schedules = tuple(draw(st.lists(agent_schedules(), min_size=1, max_size=2)))
        mode = draw(st.sampled_from(["actual", "configured"]))
        body = draw(st.sampled_from(["4.2", "<=4.0"]))
        return agent_fireset(schedules, zone, mode=mode, body=body)  # type: ignore[arg-type]
    release = draw(st.sampled_from(["1.4.2", "1.6.1", "1.6.7"]))
    texts = draw(st.lists(cron_texts(last_day=release != "1.4.2"), min_size=1, max_size=3))
    return cron_fireset(
        [parse_cron(t, release) for t in texts], zone, and_logic=draw(st.booleans())
    )


@settings(max_examples=400, deadline=None)
@given(
    firesets(),
    firesets(),
    st.sampled_from(INTERESTING_DAYS),
    st.integers(0, 40),
    st.integers(1, 90),
)
def test_analytic_compare_equals_day_by_day_compare(left, right, day, back, days):
    """The day-class comparison (DST days grouped by shape, counted by bitsets) gives the very
    Comparison that evaluating every day minute by minute gives: totals, one-side-only counts,
    shared counts and the first instant of each."""
    since = _since(day, back)
    assert compare(left, right, since, days) == compare_by_minute(left, right, since, days)


FULL_HORIZON = [
    # (agent schedule, agent zone, pg_cron entries, release, cron zone)
    (
        AgentSchedule(minutes=1 << 30, hours=1 << 2, monthdays=1 << 29),
        "Europe/Berlin",
        ["30 2 29 * *"],
        "1.6.7",
        "Europe/Berlin",
    ),
    (
        AgentSchedule(minutes=1 << 30, hours=(1 << 1) | (1 << 23), last_day=True),
        "America/New_York",
        ["30 1,23 $ * *"],
        "1.6.7",
        "America/New_York",
    ),
    (
        AgentSchedule(minutes=1 << 30, hours=(1 << 0) | (1 << 23), last_day=True),
        "Europe/Berlin",
        ["30 0,23 $ * *"],
        "1.6.7",
        "Europe/Berlin",
    ),
    (
        AgentSchedule(minutes=(1 << 0) | (1 << 45), hours=(1 << 1) | (1 << 2), weekdays=1),
        "Australia/Lord_Howe",
        ["0,45 14,15 * * 6"],
        "1.4.2",
        "UTC",
    ),
    (
        AgentSchedule(minutes=1, hours=1, monthdays=1 << 1, months=1 << 9),
        "America/Santiago",
        ["0 0 1 9 *"],
        "1.6.1",
        "America/Santiago",
    ),
]


@pytest.mark.parametrize(("schedule", "agent_zone", "texts", "release", "cron_zone"), FULL_HORIZON)
def test_analytic_compare_equals_day_by_day_over_full_horizon(
    schedule, agent_zone, texts, release, cron_zone
):
    """Over the whole 28-year proof horizon, where every DST day of a shape is counted at once."""
    left = agent_fireset(schedule, agent_zone)
    right = cron_fireset([parse_cron(t, release) for t in texts], cron_zone)
    since = dt.date(2024, 1, 1)
    result = compare(left, right, since, DEFAULT_DAYS)
    assert result == compare_by_minute(left, right, since, DEFAULT_DAYS)
    assert result.left_total > 0


def test_new_york_fall_back_pgagent_once_pg_cron_twice():
    """Daily 01:30 runs once at 01:30 EST under pgAgent (PostgreSQL reads an ambiguous local time
    as the later, standard-time instant: pga_next_schedule builds it with a timestamptz cast);
    pg_cron's ShouldRunTask (src/pg_cron.c) matches each minute's local wall time: both 01:30s."""
    from bridge.schedule import AgentSchedule

    schedule = AgentSchedule(minutes=1 << 30, hours=1 << 1)
    day = dt.date(2024, 11, 3)
    agent = fire_instants(agent_fireset(schedule, "America/New_York"), day, 1)
    cron = fire_instants(cron_fireset([parse_cron("30 1 * * *")], "America/New_York"), day, 1)
    utc = dt.timezone.utc
    assert agent == [dt.datetime(2024, 11, 3, 6, 30, tzinfo=utc)]
    assert cron == [
        dt.datetime(2024, 11, 3, 5, 30, tzinfo=utc),
        dt.datetime(2024, 11, 3, 6, 30, tzinfo=utc),
    ]


def test_new_york_spring_forward_gap_skipped_by_both():
    from bridge.schedule import AgentSchedule

    schedule = AgentSchedule(minutes=1 << 30, hours=1 << 2)
    day = dt.date(2024, 3, 10)
    assert fire_instants(agent_fireset(schedule, "America/New_York"), day, 1) == []
    assert fire_instants(cron_fireset([parse_cron("30 2 * * *")], "America/New_York"), day, 1) == []


@pytest.mark.parametrize(
    ("zone", "day"),
    [
        ("America/Santiago", dt.date(2024, 4, 5)),  # 2024-04-07 00:00 -03 -> 2024-04-06 23:00 -04
        ("America/Havana", dt.date(2024, 11, 2)),  # 2024-11-03 01:00 CDT -> 00:00 CST
        ("Asia/Beirut", dt.date(2024, 10, 25)),  # 2024-10-27 00:00 EEST -> 2024-10-26 23:00 EET
        ("Africa/Cairo", dt.date(2024, 10, 29)),  # 2024-11-01 00:00 EEST -> 2024-10-31 23:00 EET
    ],
)
@pytest.mark.parametrize("shift", [0, -1440])
@pytest.mark.parametrize("later_only", [False, True])
def test_clock_set_back_at_midnight(zone: str, day: dt.date, shift: int, later_only: bool) -> None:
    """A clock set back from or to midnight repeats the last hour of the day before or the first
    of the day: that day has two offsets. An every-minute entry that fires at both readings of a
    wall time (pg_cron) fires at every UTC minute of these four days, one that fires at the later
    only (pgAgent) skips the hour's first reading; the analytic comparison once lost the second
    reading of the first kind."""
    every = cron_fireset([parse_cron("* * * * *")], "UTC")
    fires = replace(
        cron_fireset([parse_cron("* * * * *")], zone), later_only=later_only, shift=shift
    )
    fast, slow = compare(every, fires, day, 4), compare_by_minute(every, fires, day, 4)
    assert fast == slow
    assert fast.right_total == 4 * 1440 - (60 if later_only else 0)
