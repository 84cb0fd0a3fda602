"""pgAgent's run log summarised on the server: table-driven cases on inserted log rows."""

from __future__ import annotations

import datetime as dt
import gc
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg
import pytest

from bridge.catalog import history, load
from bridge.catalog.history import read_history
from bridge.catalog.load import read_catalog
from bridge.catalog.pgagent import read_pgagent
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.model import JobHistory
from bridge.pg import snapshots
from bridge.pg.connect import Connection, reading, sibling
from bridge.pg.snapshots import Task

Conn = psycopg.Connection[tuple[Any, ...]]
EVERY_10 = frozenset(range(0, 60, 10))


@dataclass(frozen=True)
class Run:
    """A log row: hours before the current hour, minute and second of the start, status, seconds."""

    hours_ago: int
    minute: int
    status: str = "s"
    seconds: float | None = 1.0
    #: (status, output) of the job's one step in this run
    step: tuple[str, str | None] | None = None


@dataclass(frozen=True)
class Case:
    name: str
    runs: tuple[Run, ...]
    expect: dict[str, Any] = field(default_factory=dict)


CASES = (
    Case(
        "healthy",
        tuple(Run(2, m, seconds=s) for m, s in ((0, 1), (10, 2), (20, 3), (30, 4))),
        {
            "runs": 4,
            "succeeded": 4,
            "failed": 0,
            "median_seconds": 2.5,
            "max_seconds": 4.0,
            "p95_seconds": pytest.approx(3.85),
            "over_gap": 0,
            "off_schedule": 0,
            "last_status": "s",
            "gap_minutes": 10,
        },
    ),
    Case(
        "failing",
        (Run(3, 0, "s"), Run(3, 10, "f"), Run(3, 20, "i"), Run(3, 30, "f")),
        {"runs": 4, "succeeded": 1, "failed": 2, "internal": 1, "last_status": "f"},
    ),
    Case(
        "overlapping",
        (Run(4, 0, seconds=700), Run(4, 20, seconds=30), Run(4, 30, seconds=1300)),
        {"runs": 3, "over_gap": 2, "over_gap_max_seconds": 1300.0, "max_seconds": 1300.0},
    ),
    Case(
        "off schedule",  # :11 is one minute late: still the :10 fire
        (Run(5, 3), Run(5, 11), Run(6, 7), Run(6, 40)),
        {"runs": 4, "off_schedule": 2},
    ),
    Case("outside the window", (Run(24 * 100, 0),), {"runs": 0, "last_start": None}),
    Case(
        "stuck",
        (Run(5, 0, "r", None), Run(7, 0), Run(8, 0)),
        {"runs": 3, "running": 1, "succeeded": 2, "median_seconds": 1.0},
    ),
    Case(
        "step failures",
        (
            Run(2, 0, "f", step=("f", "ERROR: older error")),
            Run(2, 10, "s", step=("s", "")),
            Run(2, 20, "f", step=("f", "could not connect: host=db password=Sekr3t user=x")),
        ),
        {"runs": 3, "failed": 2},
    ),
    Case(
        "only running",  # no finished run: no durations, nothing over the gap
        (Run(1, 0, "r", None),),
        {
            "runs": 1,
            "running": 1,
            "last_status": "r",
            "median_seconds": None,
            "p95_seconds": None,
            "max_seconds": None,
            "over_gap": 0,
            "over_gap_max_seconds": None,
        },
    ),
    Case(
        "no durations",  # aborted runs without a duration count as runs, not as durations
        (Run(2, 0, "d", None), Run(2, 10, "s", seconds=700), Run(2, 20, "d", None)),
        {
            "runs": 3,
            "aborted": 2,
            "succeeded": 1,
            "median_seconds": 700.0,
            "p95_seconds": 700.0,
            "max_seconds": 700.0,
            "over_gap": 1,
            "over_gap_max_seconds": 700.0,
            "last_status": "d",
        },
    ),
    Case(
        "tied start, latest logged last",  # same instant: the later log row is the latest run
        (Run(1, 0, "f"), Run(1, 0, "s")),
        {"runs": 2, "last_status": "s", "median_seconds": 1.0},
    ),
    Case("tied start, failure logged last", (Run(1, 0, "s"), Run(1, 0, "f")), {"last_status": "f"}),
    Case("one off schedule", (Run(3, 5), Run(3, 10)), {"runs": 2, "off_schedule": 1}),
    Case(
        "step failures at one instant",  # the latest failures tie: the later log row's output
        (
            Run(4, 0, "f", step=("i", "ERROR: older")),
            Run(2, 0, "f", step=("f", "ERROR: first")),
            Run(2, 0, "f", step=("f", "ERROR: second")),
            Run(1, 0, "s", step=("s", "")),
        ),
        {"runs": 4, "failed": 3},
    ),
    Case("step failure without output", (Run(2, 0, "f", step=("f", None)),), {"failed": 1}),
)


def _insert(db: Conn, job_id: int, step_id: int, run: Run) -> None:
    row = db.execute(
        "INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration) "
        "VALUES (%s, %s, date_trunc('hour', now()) - make_interval(hours => %s) "
        "+ make_interval(mins => %s, secs => 5), make_interval(secs => %s)) RETURNING jlgid, jlgstart",
        (job_id, run.status, run.hours_ago, run.minute, run.seconds),
    ).fetchone()
    assert row is not None
    if run.step is not None:
        db.execute(
            "INSERT INTO pgagent.pga_jobsteplog (jsljlgid, jsljstid, jslstatus, jslresult, "
            "jslstart, jslduration, jsloutput) VALUES (%s, %s, %s, -1, %s, '1 second', %s)",
            (row[0], step_id, run.step[0], row[1], run.step[1]),
        )


def _job(db: Conn, name: str) -> tuple[int, int]:
    job_id = create_job(
        db,
        JobSpec(
            name,
            [StepSpec("only", "SELECT 1")],
            [ScheduleSpec("every 10", minutes=EVERY_10)],
        ),
    )
    row = db.execute("SELECT jstid FROM pgagent.pga_jobstep WHERE jstjobid = %s", (job_id,))
    step = row.fetchone()
    assert step is not None
    return job_id, int(step[0])


def _figures(history: JobHistory | None) -> JobHistory | None:
    """``history`` without its window (two reads end at two instants)."""
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
    return history and replace(history, since=epoch, until=epoch)


def test_the_log_is_summarised_per_job(db: Conn, db_dsn: str) -> None:
    ids = {}
    for case in CASES:
        ids[case.name] = _job(db, case.name)
        for run in case.runs:
            _insert(db, *ids[case.name], run)
    gc.collect()
    agent = read_catalog(db_dsn, timezone="UTC").pgagent
    # the read runs with the cyclic collector paused (bridge.collector): sound only while it
    # leaves no garbage cycles behind, and it must leave the collector on
    assert gc.isenabled() and gc.collect() == 0
    assert agent is not None and agent.history_days == 90
    # read_catalog splits the read over two sessions sharing a snapshot: one session alone
    # (a library caller without an opener) gives the same figures
    with reading(db_dsn) as conn:
        alone = read_history(conn, read_pgagent(conn, timezone="UTC"))
    assert [_figures(j.history) for j in alone.jobs] == [_figures(j.history) for j in agent.jobs]
    for case in CASES:
        history = agent.job(ids[case.name][0]).history
        assert isinstance(history, JobHistory), case.name
        got = {k: getattr(history, k) for k in case.expect}
        assert got == case.expect, case.name
    off = agent.job(ids["off schedule"][0]).history
    assert off is not None
    assert [t.minute for t in off.off_schedule_first] == [7, 3]  # oldest first: hour 6 then 5
    stuck = agent.job(ids["stuck"][0]).history
    assert stuck is not None and stuck.running_since is not None
    assert stuck.until - stuck.running_since > dt.timedelta(hours=5)
    steps = agent.job(ids["step failures"][0]).history
    assert steps is not None
    (step,) = steps.steps
    assert (step.runs, step.failures) == (3, 2)
    # the latest failed run's output, its password masked
    assert step.last_error == "could not connect: host=db password=******** user=x"
    assert "Sekr3t" not in repr(agent)
    one = agent.job(ids["one off schedule"][0]).history
    assert one is not None and [t.minute for t in one.off_schedule_first] == [5]
    for name, error in (("step failures at one instant", (4, 3, "ERROR: second")),
                        ("step failure without output", (1, 1, ""))):  # fmt: skip
        with_steps = agent.job(ids[name][0]).history
        assert with_steps is not None
        (step,) = with_steps.steps
        assert (step.runs, step.failures, step.last_error) == error, name


def test_the_log_is_read_on_two_sessions(
    db: Conn, db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A live read opens one more session for the log and hands it to the statements (none is
    opened when the log is not read)."""
    opened: list[int] = []
    given: list[int | None] = []  # the second session's backend, as spread got it

    def counting(dsn: str, conn: Connection) -> Connection:
        other = sibling(dsn, conn)
        opened.append(other.info.backend_pid)
        return other

    def recording(tasks: Sequence[Task], here: Connection, there: Connection | None) -> list[Any]:
        given.append(None if there is None else there.info.backend_pid)
        return snapshots.spread(tasks, here, there)

    monkeypatch.setattr(load, "sibling", counting)
    monkeypatch.setattr(history, "spread", recording)
    job_id, step_id = _job(db, "x")
    _insert(db, job_id, step_id, Run(1, 0))
    read_catalog(db_dsn, timezone="UTC", history_days=0)
    assert opened == [] and given == []
    agent = read_catalog(db_dsn, timezone="UTC").pgagent
    assert len(opened) == 1 and agent is not None and agent.job(job_id).history is not None
    assert given == opened


def test_history_days_zero_reads_no_log(db: Conn, db_dsn: str) -> None:
    job_id, step_id = _job(db, "x")
    _insert(db, job_id, step_id, Run(1, 0))
    agent = read_catalog(db_dsn, timezone="UTC", history_days=0).pgagent
    assert agent is not None and agent.history_days == 0
    assert agent.job(job_id).history is None
    short = read_catalog(db_dsn, timezone="UTC", history_days=1).pgagent
    assert short is not None
    assert short.job(job_id).history is not None
    assert short.job(job_id).history.runs == 1  # type: ignore[union-attr]


def test_the_agents_zone_decides_the_minute(db: Conn, db_dsn: str) -> None:
    """A schedule at 09:00 in New York: a run logged at 09:00 New York time is on schedule, the
    same wall time in UTC is not."""
    job_id = create_job(
        db,
        JobSpec("nine", [StepSpec("s", "SELECT 1")],
                [ScheduleSpec("nine", minutes=frozenset({0}), hours=frozenset({9}))]),
    )  # fmt: skip
    db.execute(
        "INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration) VALUES "
        "(%s, 's', (date_trunc('day', now() AT TIME ZONE 'America/New_York') - interval '1 day' "
        "+ interval '9 hours 5 seconds') AT TIME ZONE 'America/New_York', '1 second'),"
        "(%s, 's', date_trunc('day', now()) - interval '2 days' + interval '9 hours', '1 second')",
        (job_id, job_id),
    )
    agent = read_catalog(db_dsn, timezone="America/New_York").pgagent
    assert agent is not None
    history = agent.job(job_id).history
    assert history is not None
    assert (history.runs, history.off_schedule, history.gap_minutes) == (2, 1, 1440)


def test_calendar_edges_and_the_first_few_off_schedule(db: Conn, db_dsn: str) -> None:
    """23:59 on a month's last day: a start a minute late falls on the 1st of the next month (the
    minute before is the last day's, so it is on schedule); 23:59 on the 1st is not; five
    off-schedule starts (two at the same instant) are counted, and the first three named."""
    job_id = create_job(
        db,
        JobSpec("month end", [StepSpec("s", "SELECT 1")],
                [ScheduleSpec("last day", minutes=frozenset({59}), hours=frozenset({23}),
                              monthdays=frozenset({32}))]),
    )  # fmt: skip
    # The previous month's first: always in the past and inside the 90-day window.
    first = (
        "(date_trunc('month', now() AT TIME ZONE 'UTC') - interval '1 month') AT TIME ZONE 'UTC'"
    )
    starts = (
        f"{first} - interval '1 minute' + interval '5 seconds'",  # last day 23:59: on
        f"{first} + interval '40 seconds'",  # the 1st, 00:00: the minute before is 23:59
        f"{first} + interval '1 minute 10 seconds'",  # 00:01: off
        f"{first} + interval '1 day' - interval '50 seconds'",  # the 1st, 23:59: off
        f"{first} + interval '2 hours'",  # off, and the same instant twice
        f"{first} + interval '2 hours'",
        f"{first} + interval '3 hours'",  # off
    )
    for start in starts:
        db.execute(
            "INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration) "
            f"VALUES (%s, 's', {start}, '1 second')",
            (job_id,),
        )
    first_of_month = db.execute(f"SELECT {first}").fetchone()
    assert first_of_month is not None
    base: dt.datetime = first_of_month[0].astimezone(dt.timezone.utc)
    agent = read_catalog(db_dsn, timezone="UTC").pgagent
    assert agent is not None
    history = agent.job(job_id).history
    assert history is not None
    assert (history.runs, history.off_schedule) == (7, 5)
    assert history.off_schedule_first == (
        base + dt.timedelta(minutes=1, seconds=10),
        base + dt.timedelta(hours=2),
        base + dt.timedelta(hours=2),
    )
