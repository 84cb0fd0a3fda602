"""The analytic engine against minute-by-minute evaluation of the per-instant rules.

Windows of a few days are placed on DST transitions, month ends and leap days of several zones
(including Lord Howe's 30-minute shift and Santiago's midnight change), where the engine switches
from day bitsets to exact per-day evaluation.
"""

from __future__ import annotations

import datetime as dt

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.schedule import (
    agent_fireset,
    compare,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from tests.test_schedule_support import (
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


def test_new_york_fall_back_pgagent_once_pg_cron_twice():
    """pgagent.md 2.7: daily 01:30 runs once at 01:30 EST; pg_cron runs both 01:30s."""
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
