"""The run log a real pgAgent daemon writes, read back as HISTORY_* findings (slow)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from bridge import api
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from tests.commands import pgagent_daemon

Conn = psycopg.Connection[tuple[Any, ...]]
EVERY_MINUTE = ScheduleSpec("every minute", minutes=frozenset(range(60)))


@pytest.mark.slow
def test_a_real_daemons_log_gives_failing_overlapping_and_stuck_jobs(
    db: Conn, db_dsn: str, db_name: str
) -> None:

    def job(name: str, code: str) -> int:
        return create_job(db, JobSpec(name, [StepSpec("a", code, dbname=db_name)], [EVERY_MINUTE]))

    failing = job("fails", "SELECT 1 / 0")
    long = job("outlasts its interval", "SELECT pg_sleep(70)")
    stuck = job("stuck", "SELECT 1")
    db.execute("UPDATE pgagent.pga_job SET jobenabled = false WHERE jobid = %s", [stuck])
    # an artificially stuck run: marked running for three hours, where its runs take a second
    db.execute(
        "INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration) VALUES "
        "(%s, 'r', now() - interval '3 hours', NULL), (%s, 's', now() - interval '4 hours', "
        "'1 second'), (%s, 's', now() - interval '5 hours', '1 second')",
        [stuck, stuck, stuck],
    )
    with pgagent_daemon(db_dsn) as agent:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and agent.poll() is None:
            row = db.execute(
                "SELECT count(*) FILTER (WHERE jlgjobid = %s AND jlgstatus = 'f'), "
                "count(*) FILTER (WHERE jlgjobid = %s AND jlgduration > interval '1 minute') "
                "FROM pgagent.pga_joblog",
                [failing, long],
            ).fetchone()
            if row is not None and row[0] >= 1 and row[1] >= 1:
                break
            time.sleep(3)
        assert agent.poll() is None, agent.stderr.read() if agent.stderr else ""
        plan = api.plan(pgagent=db_dsn)
    jobs = {j.job_id: j for j in plan.jobs}
    found = {i: {f.code for f in jobs[i].findings} for i in (failing, long, stuck)}
    assert "HISTORY_FAILING" in found[failing], found
    assert "HISTORY_RUNS_OVERLAP" in found[long] and "JOB_RUNS_CAN_QUEUE" not in found[long]
    assert "HISTORY_STUCK" in found[stuck], found
    h = jobs[failing].history
    assert h is not None and h.failed >= 1 and h.steps and h.steps[0].failures >= 1
    assert "division by zero" in h.steps[0].last_error
    over = jobs[long].history
    assert over is not None and over.gap_minutes == 1 and over.over_gap >= 1
    assert over.off_schedule == 0  # the daemon starts runs on schedule
