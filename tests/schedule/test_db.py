"""The schedule engine against the real software: pgAgent 4.2's ``pga_next_schedule`` as a
membership oracle and the real pg_cron's parser.

Oracle: with the session TimeZone set, ``pga_next_schedule(jscid, t, end, arrays...)`` returns
``t`` itself exactly when ``t`` is a fire time (asked from one *wall-clock* minute before ``t``
for an empty schedule, which always adds a minute: one absolute minute before 01:00 EST on a
fall-back day is 01:59 EDT, whose next wall minute is 02:00). Errors (days 29-31 in short months) mean "not a fire
time". Every instant of one schedule is checked in one query. Instants lie in the future so the
real ``now()`` does not interfere.
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path
from typing import Any

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.schedule import (
    AgentSchedule,
    CronSyntaxError,
    CronTarget,
    agent_findings,
    agent_fires_at,
    agent_fireset,
    agent_to_cron,
    cron_fires_at,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from bridge.schedule import findings as F
from tests.schedule.oracle import FUTURE_DAYS, pga_fires
from tests.schedule.strategies import agent_schedules

UTC = dt.timezone.utc
Conn = psycopg.Connection[Any]


def _instants(
    schedule: AgentSchedule, zone: str, day: dt.date, rng: random.Random
) -> list[dt.datetime]:
    """Fire instants the model predicts (to have positives), random minutes and DST-hour minutes."""
    since = day - dt.timedelta(days=1)
    fires = fire_instants(agent_fireset(schedule, zone), since, 3)
    picked = rng.sample(fires, min(len(fires), 60))
    t0 = dt.datetime(since.year, since.month, since.day, tzinfo=UTC)
    picked += [t0 + dt.timedelta(minutes=rng.randrange(3 * 1440)) for _ in range(70)]
    picked += [t0 + dt.timedelta(minutes=1440 + 300 + rng.randrange(300)) for _ in range(30)]
    return sorted(set(picked))


def _loops_forever(schedule: AgentSchedule) -> bool:
    return any(f.code == F.EXCEPTIONS_LOOP_FOREVER for f in agent_findings(schedule))


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@settings(
    max_examples=250,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    schedule=agent_schedules(bounds=False),
    day=st.sampled_from(FUTURE_DAYS),
    seed=st.integers(0, 2**16),
)
def test_model_agrees_with_pga_next_schedule(
    db: Conn, zone: str, schedule: AgentSchedule, day: dt.date, seed: int
) -> None:
    future = [
        (d.replace(year=d.year + 3) if d else None, t) for d, t in schedule.exceptions
    ]  # exception dates move into the future windows
    schedule = AgentSchedule(**{**schedule.__dict__, "exceptions": tuple(future)})
    if _loops_forever(schedule):
        return  # checked by test_exceptions_that_remove_everything_hang_pgagent
    instants = _instants(schedule, zone, day, random.Random(seed))
    oracle = pga_fires(db, schedule, zone, instants)
    # the oracle answers the fire set pgAgent computes; for an empty schedule that is every minute
    mode = "configured" if schedule.is_empty else "actual"
    model = {t: agent_fires_at(schedule, t, zone, mode=mode) for t in instants}
    assert model == oracle


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
def test_start_end_inclusive_to_the_minute(db: Conn, zone: str) -> None:
    start = dt.datetime(2027, 11, 7, 5, 17, 30, tzinfo=UTC)
    schedule = AgentSchedule(
        minutes=(1 << 17) | (1 << 30), start=start, end=dt.datetime(2027, 11, 8, 5, 30, tzinfo=UTC)
    )
    instants = [start.replace(second=0) + dt.timedelta(minutes=m) for m in range(0, 1500, 13)]
    instants += [dt.datetime(2027, 11, 8, 5, 30, tzinfo=UTC), start.replace(second=0)]
    oracle = pga_fires(db, schedule, zone, instants)
    assert oracle == {t: agent_fires_at(schedule, t, zone) for t in instants}
    assert oracle[dt.datetime(2027, 11, 8, 5, 30, tzinfo=UTC)]  # the end is inclusive
    # 05:17 UTC is 01:17 EDT, the first of two 01:17s in New York: pgAgent fires only the second
    assert oracle[start.replace(second=0)] == (zone == "UTC")


def test_exceptions_that_remove_everything_hang_pgagent(db: Conn) -> None:
    """The model's 'loops forever' finding is what the real function does (bounded here)."""
    schedule = AgentSchedule(minutes=1 << 46, hours=1 << 5, exceptions=((None, dt.time(5, 46)),))
    assert _loops_forever(schedule)
    db.execute("SET statement_timeout = '1500ms'")
    with pytest.raises(psycopg.errors.QueryCanceled):
        pga_fires(db, schedule, "UTC", [dt.datetime(2027, 3, 1, 5, 47, tzinfo=UTC)])


def test_short_month_day_raises_in_pgagent(db: Conn) -> None:
    """Day 31 asked from a 30-day month raises; the model flags it and never fires there."""
    schedule = AgentSchedule(minutes=1, hours=1, monthdays=1 << 31)
    assert F.SHORT_MONTH_ERROR in {f.code for f in agent_findings(schedule)}
    db.execute("SET TimeZone = 'UTC'")
    with pytest.raises(psycopg.errors.DatetimeFieldOverflow):
        db.execute(
            "SELECT pgagent.pga_next_schedule(0, '2027-04-01 00:01+00', NULL, %s, %s, %s, %s, %s)",
            [list(a) for a in schedule.arrays()],
        )


# --- the real pg_cron of each release in the matrix ----------------------------------------------

TRY_SCHEDULE = """
CREATE OR REPLACE FUNCTION pg_temp.accepts(s text) RETURNS bool LANGUAGE plpgsql AS $$
DECLARE id bigint;
BEGIN
    id := cron.schedule(s, 'select 1');
    PERFORM cron.unschedule(id);
    RETURN true;
EXCEPTION WHEN others THEN
    RETURN false;
END $$"""


def _accepted(cron_db: Conn, texts: list[str]) -> dict[str, bool]:
    cron_db.execute(TRY_SCHEDULE)
    rows = cron_db.execute(
        "SELECT s, pg_temp.accepts(s) FROM unnest(%s::text[]) AS s", [texts]
    ).fetchall()
    return {str(s): bool(ok) for s, ok in rows}


@pytest.mark.pgcron_matrix
def test_every_generated_expression_is_accepted(cron_db: Conn, pg_cron_target: CronTarget) -> None:
    """On 1.6 this includes `$`, schedules shifted into cron.timezone across DST, and (1.6.8 with
    the switch on) plain weekday-and-month-day lists."""
    target = pg_cron_target
    rng = random.Random(3)
    texts: set[str] = set()
    for _ in range(400):
        schedule = _random_schedule(rng)
        for zone in ("UTC", "Asia/Kolkata", "America/New_York"):
            got = agent_to_cron(schedule, target=target, agent_zone=zone)
            texts.update(got.expressions)
    assert len(texts) > 300
    if target.version.last_day:
        assert any(" $ " in t for t in texts)
    accepted = _accepted(cron_db, sorted(texts))
    assert [t for t, ok in accepted.items() if not ok] == []


def _random_schedule(rng: random.Random) -> AgentSchedule:
    def mask(lo: int, hi: int, p: float) -> int:
        if rng.random() < 0.3:
            return 0
        return sum(1 << v for v in range(lo, hi + 1) if rng.random() < p)

    return AgentSchedule(
        minutes=mask(0, 59, 0.1),
        hours=mask(0, 23, 0.2),
        weekdays=mask(0, 6, 0.4),
        monthdays=mask(1, 31, 0.15),
        last_day=rng.random() < 0.2,
        months=mask(1, 12, 0.4),
    )


@pytest.mark.pgcron_matrix
def test_parser_agrees_with_real_pg_cron_on_the_corpus(cron_db: Conn, pg_cron_release: str) -> None:
    release = pg_cron_release
    corpus = json.loads(
        (Path(__file__).resolve().parents[2] / "mappings" / "cron_parser_corpus.json").read_text()
    )["cases"]
    texts = [case["text"] for case in corpus]
    texts += ["0 5 * * *" + " " * 991, "0 5 * * *" + " " * 990, "0 0 29 2 *", "0 0 1-31/40 * *"]
    real = _accepted(cron_db, texts)

    def ours(text: str) -> bool:
        try:
            parse_cron(text, release)
        except CronSyntaxError:
            return False
        return True

    assert {t: ours(t) for t in texts} == real


def _fuzz_schedule(rng: random.Random) -> str:
    """Cron-like text: mostly plausible fields, with the pieces parsers trip on mixed in
    (names, steps without ranges, reversed or out-of-range values, junk, odd blanks)."""
    valid = [
        ["*", "0", "5", "59", "*/15", "10-20", "0-59/7"],
        ["*", "0", "23", "9-17", "*/6", "22-2"],
        ["*", "1", "31", "1-7", "*/31", "15", "$"],
        ["*", "1", "12", "jan", "Dec", "jan-mar", "11-2"],
        ["*", "0", "7", "1-5", "mon-fri", "sun", "*/7", "sat-sun"],
    ]
    junk = ["L", "x", "60", "32", "13", "8", "-1", "5/15", "*/0", "*/60", "?", "MON#1", "1,", ",1"]

    def field(i: int) -> str:
        out = rng.choice(valid[i])
        while rng.random() < 0.3:
            out += "," + rng.choice(valid[i])
        if rng.random() < 0.12:
            out = rng.choice([rng.choice(junk), out + rng.choice(["%", "-7", "x", "#2", "/2"])])
        return out

    fields = [field(i % 5) for i in range(rng.choice([4, 5, 5, 5, 5, 5, 6]))]
    text = rng.choice([" ", "  ", "\t"]).join(fields)
    if rng.random() < 0.05:
        text = rng.choice(["@", " ", "#x\n", "\n"]) + text
    return text


@pytest.mark.pgcron_matrix
def test_parser_agrees_with_real_pg_cron_on_fuzzed_text(
    cron_db: Conn, pg_cron_release: str
) -> None:
    release = pg_cron_release
    rng = random.Random(1234)
    texts = sorted({_fuzz_schedule(rng) for _ in range(3000)})
    real = _accepted(cron_db, texts)

    def ours(text: str) -> bool:
        try:
            parse_cron(text, release)
        except CronSyntaxError:
            return False
        return True

    disagree = {t: real[t] for t in texts if ours(t) != real[t]}
    assert disagree == {}
    assert 0.1 < sum(real.values()) / len(texts) < 0.9  # both outcomes are well represented


def test_empty_schedule_through_spring_forward(db: Conn) -> None:
    """03:00 EDT, right after the gap, is a fire time (found by hypothesis in CI: the oracle
    must not ask from the nonexistent 02:59)."""
    schedule = AgentSchedule(weekdays=1)  # Sundays; nothing else selected
    instants = [
        dt.datetime(2027, 3, 14, 6, 0, tzinfo=UTC) + dt.timedelta(minutes=m) for m in range(130)
    ]
    oracle = pga_fires(db, schedule, "America/New_York", instants)
    model = {
        t: agent_fires_at(schedule, t, "America/New_York", mode="configured") for t in instants
    }
    assert oracle == model
    assert oracle[dt.datetime(2027, 3, 14, 7, 0, tzinfo=UTC)]  # 03:00 EDT
    assert oracle[dt.datetime(2027, 3, 14, 6, 59, tzinfo=UTC)]  # 01:59 EST


def test_empty_schedule_through_fall_back(db: Conn) -> None:
    """Every minute of the repeated hour's second pass, 01:00 EST included, is a fire time."""
    schedule = AgentSchedule(weekdays=0b1111111)
    instants = [
        dt.datetime(2027, 11, 7, 5, 0, tzinfo=UTC) + dt.timedelta(minutes=m) for m in range(130)
    ]
    oracle = pga_fires(db, schedule, "America/New_York", instants)
    model = {
        t: agent_fires_at(schedule, t, "America/New_York", mode="configured") for t in instants
    }
    assert oracle == model
    assert oracle[dt.datetime(2027, 11, 7, 6, 0, tzinfo=UTC)]  # 01:00 EST
    assert not oracle[dt.datetime(2027, 11, 7, 5, 30, tzinfo=UTC)]  # 01:30 EDT, the first pass


@pytest.mark.parametrize(
    ("days", "months", "at", "fails"),
    [
        ({29, 30}, set(range(1, 13)) - {2}, "2027-01-31 00:01+00", True),  # steps into February
        ({29, 30, 31}, set(range(1, 13)) - {2}, "2027-01-31 00:01+00", False),  # 31: no step
        ({31}, {1, 3, 5, 7, 8, 10, 12}, "2027-05-31 00:01+00", False),
        ({15, 31}, set(), "2027-04-20 00:01+00", True),  # April 31 found in April
        ({29}, {3}, "2027-03-30 00:01+00", False),  # steps from March into April 29: exists
    ],
)
def test_short_month_traps_match_pgagent(
    db: Conn, days: set[int], months: set[int], at: str, fails: bool
) -> None:
    """The trap predicate against the real function at the instant that exposes each path."""
    from bridge.schedule.agent import short_month_traps
    from bridge.schedule.masks import mask_of

    schedule = AgentSchedule(
        minutes=mask_of({0}), hours=mask_of({0}), monthdays=mask_of(days), months=mask_of(months)
    )
    minutes, hours, weekdays, monthdays, month_flags = schedule.arrays()
    try:
        db.execute(
            "SELECT pgagent.pga_next_schedule(0, %s::timestamptz, NULL, %s, %s, %s, %s, %s)",
            [at, list(minutes), list(hours), list(weekdays), list(monthdays), list(month_flags)],
        )
        raised = False
    except psycopg.errors.DatetimeFieldOverflow:
        raised = True
    assert raised is fails
    if fails:  # whatever pgAgent raises on, the predicate knows (it also knows later instants)
        assert short_month_traps(schedule)


# --- the plan's "exact" against pgAgent over a century ---------------------------------------

NOW = dt.datetime.now(UTC).replace(second=0, microsecond=0)
CENTURY = 50 * 365


@st.composite
def dated_schedules(draw: st.DrawFn) -> AgentSchedule:
    """Schedules with starts, ends and exceptions anywhere from 50 years ago to 50 years ahead
    (past ones more often, so that enough plans say exact to be checked)."""
    base = draw(agent_schedules(exceptions=False, bounds=False))

    def moment(past_bias: float) -> dt.datetime:
        days = draw(st.integers(-CENTURY, -1) if draw(st.floats(0, 1)) < past_bias
                    else st.integers(1, CENTURY))  # fmt: skip
        return (NOW + dt.timedelta(days=days, minutes=draw(st.integers(0, 1439)))).replace(
            second=draw(st.sampled_from([0, 30]))
        )

    start = moment(0.8)  # jscstart is NOT NULL (a NULL start never runs: see the reader)
    end = moment(0.3) if draw(st.integers(0, 4)) == 0 else None
    if end is not None and end <= start:
        end = None
    excs: list[tuple[dt.date | None, dt.time | None]] = []
    for _ in range(draw(st.integers(0, 3))):
        day = moment(0.4).date() if draw(st.integers(0, 4)) else None
        time = None if draw(st.booleans()) else dt.time(draw(st.integers(0, 23)), 0)
        if day is not None or time is not None:
            excs.append((day, time))
    return AgentSchedule(**{**base.__dict__, "start": start, "end": end, "exceptions": tuple(excs)})


def _planned(schedule: AgentSchedule, zone: str) -> tuple[str, list[str]]:
    """The planner's status and pg_cron expressions for a one-step job with this schedule."""
    from bridge.model import Catalog, Job, OnError, PgAgentCatalog, Step, StepKind
    from bridge.planner.build import make_plan
    from bridge.planner.target import Target
    from bridge.planner.types import PlanOptions

    step = Step(1, 1, "s", "", True, StepKind.SQL, "SELECT 1", "", "postgres", OnError.FAIL)
    job = Job(
        1, "prop", "", "Routine Maintenance", "", True, None, None, None, None, None,
        steps=(step,), schedules=(schedule.to_model(id=1, job_id=1, name="p"),),
    )  # fmt: skip
    agent = PgAgentCatalog("x", 4, "4.2", "4.2", zone, "test", "15", jobs=(job,))
    plan = make_plan(
        Catalog(agent, None, "test", NOW),
        Target("1.6.8", zone, "postgres"),
        PlanOptions(guards=False),  # the entries alone are judged here (guards: tests/planner)
        today=NOW.date(),
    )
    (planned,) = plan.jobs
    return planned.status, sorted({c.schedule for c in planned.cron_jobs})


def _sample(
    schedule: AgentSchedule, parsed: list[Any], zone: str, rng: random.Random
) -> list[dt.datetime]:
    """Instants from tomorrow to a year past the latest date: uniform ones, and around every
    future date and DST-prone hours the entries' own fire times (so there are positives)."""
    dates = [d for d, _ in schedule.exceptions if d is not None]
    dates += [x.date() for x in (schedule.start, schedule.end) if x is not None]
    first = NOW.date() + dt.timedelta(days=1)
    stop = max([*dates, first]) + dt.timedelta(days=366)
    span = (stop - first).days
    t0 = dt.datetime(first.year, first.month, first.day, tzinfo=UTC)
    picked = [t0 + dt.timedelta(minutes=rng.randrange(span * 1440)) for _ in range(60)]
    fires = cron_fireset(parsed, zone)
    for day in dates:  # every fire time of the dated days themselves
        if day >= first:
            picked += fire_instants(fires, day - dt.timedelta(days=1), 3)[:200]
    windows = [first + dt.timedelta(days=rng.randrange(span)) for _ in range(3)]
    windows += [dt.date(y, m, 1) for y in (stop.year - 1,) for m in (3, 10, 11)]
    for day in windows:
        got = fire_instants(fires, day, 3)
        picked += rng.sample(got, min(len(got), 15))
        base = dt.datetime(day.year, day.month, day.day, tzinfo=UTC)
        picked += [base + dt.timedelta(minutes=rng.randrange(3 * 1440)) for _ in range(8)]
    return sorted({t for t in picked if t > NOW})


@pytest.mark.parametrize("zone", ["UTC", "America/New_York"])
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(schedule=dated_schedules(), seed=st.integers(0, 2**16))
def test_exact_plans_agree_with_pga_next_schedule_for_a_century(
    db: Conn, zone: str, schedule: AgentSchedule, seed: int
) -> None:
    """Whenever the plan says exact, pgAgent's own function and the emitted pg_cron entries
    agree on instants from the whole span up to a year past the latest date."""
    if schedule.is_empty or _loops_forever(schedule):
        return  # the every-2-minutes quirk and the endless search are covered above
    status, expressions = _planned(schedule, zone)
    if status != "exact":
        return
    parsed = [parse_cron(e, "1.6.8") for e in expressions]
    instants = _sample(schedule, parsed, zone, random.Random(seed))
    oracle = pga_fires(db, schedule, zone, instants)
    cron = {t: any(cron_fires_at(p, t, zone) for p in parsed) for t in instants}
    assert cron == oracle
