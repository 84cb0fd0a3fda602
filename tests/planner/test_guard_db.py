"""Guards judged by the real software: the guard's SQL, evaluated by the server at every candidate
instant of its superset entry, against pgAgent's own ``pga_next_schedule()`` as a membership oracle
(asked in the same zone, see ``tests/schedule/test_db.py``), over days with DST changes, a leap day
and month ends. Instants off the entry are asked too: the oracle must say "no" there (the cover).
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql as sql_

from bridge.planner.guard import guard_sql
from bridge.schedule import (
    AgentSchedule,
    CronTarget,
    agent_findings,
    agent_fireset,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from bridge.schedule import findings as F
from bridge.schedule.guard import superset
from tests.schedule.oracle import FUTURE_DAYS, ORACLE_FN
from tests.schedule.strategies import agent_schedules

UTC = dt.timezone.utc
Conn = psycopg.Connection[Any]
ZONES = ("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Australia/Lord_Howe")
GMT_14 = CronTarget.of("1.4.2")


def _job(conn: Conn, schedules: list[AgentSchedule]) -> list[int]:
    """A disabled job with disabled schedules (no trigger runs) and their real exception rows."""
    conn.execute("DELETE FROM pgagent.pga_job")
    job = conn.execute(
        "INSERT INTO pgagent.pga_job (jobjclid, jobname, jobenabled) VALUES (1, 'g', false) "
        "RETURNING jobid"
    ).fetchone()
    assert job is not None
    ids = []
    seen: set[tuple[object, object]] = set()
    for schedule in schedules:
        row = conn.execute(
            "INSERT INTO pgagent.pga_schedule (jscjobid, jscname, jscenabled) "
            "VALUES (%s, 'g', false) RETURNING jscid",
            [job[0]],
        ).fetchone()
        assert row is not None
        for day, time in dict.fromkeys(schedule.exceptions):
            if day is not None and time is not None and (day, time) in seen:
                continue  # pga_exception_datetime is unique over all schedules
            seen.add((day, time))
            conn.execute(
                "INSERT INTO pgagent.pga_exception (jexscid, jexdate, jextime) VALUES (%s, %s, %s)",
                [row[0], day, time],
            )
        ids.append(int(row[0]))
    return ids


def _into_window(schedule: AgentSchedule, day: dt.date, rng: random.Random) -> AgentSchedule:
    """Exception dates, start and end moved next to ``day`` (in the future, where they bite)."""
    near = [day + dt.timedelta(days=d) for d in (-1, 0, 1)]
    exceptions = tuple((rng.choice(near) if d else None, t) for d, t in schedule.exceptions)
    start = end = None
    if rng.random() < 0.4:
        start = dt.datetime.combine(rng.choice(near), dt.time(rng.randrange(24), 17, 30), UTC)
        if rng.random() < 0.5:
            end = start + dt.timedelta(minutes=rng.randrange(60, 2000))
    return replace(schedule, exceptions=exceptions, start=start, end=end)


def _usable(schedule: AgentSchedule) -> bool:
    """The oracle answers the configured set of an empty schedule (not its 2-minute cadence);
    exceptions that remove every time hang pgAgent (tested in test_schedule_db)."""
    codes = {f.code for f in agent_findings(schedule)}
    return not schedule.is_empty and F.EXCEPTIONS_LOOP_FOREVER not in codes


def _check(
    conn: Conn, schedules: list[AgentSchedule], zone: str, target: CronTarget, day: dt.date,
    rng: random.Random,
) -> int:  # fmt: skip
    """Guard == oracle at sampled entry instants; oracle false off the entry. Returns the number
    of fire times seen (so callers can see the test had positives)."""
    found = superset(schedules, target=target, agent_zone=zone, since=dt.date(2026, 12, 1))
    assert found.expression is not None and found.covered, found
    entry = parse_cron(found.expression, target.version)
    since = day - dt.timedelta(days=1)
    on_entry = fire_instants(
        cron_fireset([entry], target.zone, and_logic=target.and_logic), since, 3
    )
    fires = fire_instants(agent_fireset(tuple(schedules), zone), since, 3)
    picked = set(rng.sample(on_entry, min(len(on_entry), 250))) | set(fires[:200])
    t0 = dt.datetime.combine(since, dt.time(), UTC)
    off = {t0 + dt.timedelta(minutes=rng.randrange(3 * 1440)) for _ in range(150)}
    instants = sorted(picked | off)
    ids = _job(conn, schedules)
    conn.execute("SELECT set_config('TimeZone', %s, false)", [zone])
    conn.execute(ORACLE_FN)
    sql = guard_sql(schedules, zone)
    conn.execute(f"CREATE OR REPLACE FUNCTION pg_temp.g(timestamptz) RETURNS bool "
                 f"LANGUAGE sql AS $g$ SELECT ({sql}) $g$")  # fmt: skip
    conn.execute("SET TimeZone = 'UTC'")  # the guard must not depend on the session's zone
    oracle = {t: False for t in instants}
    for jscid, schedule in zip(ids, schedules, strict=True):
        conn.execute("SELECT set_config('TimeZone', %s, false)", [zone])
        minutes, hours, weekdays, monthdays, months = schedule.arrays()
        rows = conn.execute(
            "SELECT t, pg_temp.fires(%s, t, '0', %s, %s, %s, %s, %s, %s, %s) "
            "FROM unnest(%s::timestamptz[]) AS t",
            [jscid, schedule.start or dt.datetime(2000, 1, 1, tzinfo=UTC), schedule.end,
             list(minutes), list(hours), list(weekdays), list(monthdays), list(months), instants],
        ).fetchall()  # fmt: skip
        for t, ok in rows:
            oracle[t.astimezone(UTC)] |= bool(ok)
    conn.execute("SET TimeZone = 'Pacific/Chatham'")
    got = dict(
        (t.astimezone(UTC), bool(ok))
        for t, ok in conn.execute(
            "SELECT t, pg_temp.g(t) FROM unnest(%s::timestamptz[]) AS t", [instants]
        ).fetchall()
    )
    entry_set = set(on_entry)
    assert {t for t in instants if oracle[t] and t not in entry_set} == set()  # the cover
    assert {t: got[t] for t in instants if t in entry_set} == {
        t: oracle[t] for t in instants if t in entry_set
    }
    return sum(oracle.values())


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    schedules=st.lists(agent_schedules(bounds=False), min_size=1, max_size=3),
    zone=st.sampled_from(ZONES),
    day=st.sampled_from(FUTURE_DAYS),
    seed=st.integers(0, 2**16),
)
def test_guard_agrees_with_pga_next_schedule(
    db: Conn, schedules: list[AgentSchedule], zone: str, day: dt.date, seed: int
) -> None:
    rng = random.Random(seed)
    moved = [_into_window(s, day, rng) for s in schedules]
    if not all(_usable(s) for s in moved):
        return
    _check(db, moved, zone, GMT_14, day, rng)


@pytest.mark.pgcron_matrix
def test_guard_agrees_on_each_pg_cron_release(
    cron_db: Conn, db: Conn, pg_cron_target: CronTarget
) -> None:
    """The same judgement with the superset built for each release's zone and day rule."""
    rng = random.Random(13)
    positives = 0
    for n in range(12):
        schedule = AgentSchedule(
            minutes=rng.choice([1 << 30, (1 << 0) | (1 << 45)]),
            hours=rng.choice([0, 1 << 2, (1 << 1) | (1 << 9), 1 << 23]),
            weekdays=rng.choice([0, 1 << 5, 1 << 1]),
            monthdays=rng.choice([0, 1 << 13, (1 << 8) | (1 << 15)]),
            last_day=n % 3 == 0,
            exceptions=((None, dt.time(2, 30)), (FUTURE_DAYS[n % 8], None)),
        )
        positives += _check(db, [schedule], "America/New_York", pg_cron_target,
                            FUTURE_DAYS[n % len(FUTURE_DAYS)], rng)  # fmt: skip
    assert positives > 0


@pytest.mark.parametrize(
    ("zone", "wall", "fires"),
    [
        # fall-back: 01:30 occurs twice in New York; pgAgent runs the later one only
        ("America/New_York", dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC), False),
        ("America/New_York", dt.datetime(2027, 11, 7, 6, 30, tzinfo=UTC), True),
        ("America/New_York", dt.datetime(2027, 11, 8, 6, 30, tzinfo=UTC), True),
    ],
)
def test_repeated_wall_time_fires_at_the_later_instant(
    db: Conn, zone: str, wall: dt.datetime, fires: bool
) -> None:
    schedule = AgentSchedule(minutes=1 << 30, hours=1 << 1)
    rng = random.Random(1)
    _check(db, [schedule], zone, GMT_14, dt.date(2027, 11, 7), rng)
    sql = guard_sql([schedule], zone)
    db.execute(f"PREPARE g(timestamptz) AS SELECT ({sql})")
    row = db.execute(sql_.SQL("EXECUTE g({})").format(sql_.Literal(wall))).fetchone()
    assert row is not None and row[0] is fires
