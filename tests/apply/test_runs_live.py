"""``verify --runs`` against the real pg_cron scheduler (slow: it waits for real runs)."""

from __future__ import annotations

import time
from typing import Any

import psycopg
import pytest

from bridge import api
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec

Conn = psycopg.Connection[tuple[Any, ...]]


@pytest.mark.slow
def test_verify_runs_reports_exactly_the_failed_run(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """An every-minute job migrated to pg_cron fails in every odd minute (a division by zero
    the planner cannot fold: it depends on now()); after two judged runs (the last two minutes
    are not judged), verify --runs reports exactly those failures and nothing missed."""
    job = create_job(
        db,
        JobSpec(
            "every minute",
            [StepSpec("a", "SELECT 1 / (date_part('minute', now())::int % 2 - 1)", dbname=db_name)],
            [ScheduleSpec("m", minutes=frozenset(range(60)))],
        ),
    )
    result = api.migrate(db_dsn, cron_dsn, apply=True)
    (cron,) = [c for j in result.plan.jobs if j.job_id == job for c in j.cron_jobs]  # type: ignore[union-attr]
    assert cron.schedule == "* * * * *"
    row = cron_db.execute("SELECT now()").fetchone()
    assert row is not None
    migrated = row[0]
    deadline = time.monotonic() + 540
    done = 0
    while time.monotonic() < deadline:
        row = cron_db.execute(
            "SELECT count(*) FROM cron.job_run_details d JOIN cron.job j USING (jobid) "
            "WHERE j.jobname = %s AND d.status IN ('succeeded', 'failed') "
            "AND d.start_time < now() - interval '2 minutes' "
            "AND d.start_time >= %s::timestamptz + interval '2 minutes'",
            [cron.name, migrated],
        ).fetchone()
        done = int(row[0]) if row else 0
        if done >= 2:
            break
        time.sleep(5)
    assert done >= 2, f"pg_cron finished only {done} runs in time"
    v = api.verify(db_dsn, cron_dsn, runs=True)
    (c,) = [c for c in v.runs if c.pgagent_job_id == job]
    assert c.evidence == ""
    starts = cron_db.execute(
        "SELECT d.start_time FROM cron.job_run_details d JOIN cron.job j USING (jobid) "
        "WHERE j.jobname = %s AND d.start_time >= %s AND d.start_time < %s",
        [cron.name, c.since, c.until],
    ).fetchall()
    failing = sum(1 for (start,) in starts if start.minute % 2 == 1)
    assert failing >= 1 and (c.missed, c.extra, c.failed) == (0, 0, failing)
    assert c.expected == c.ran == len(starts) >= 2
    assert "division by zero" in c.failures[0].message
    codes = {f.code for f in v.findings if f.job_id == job}
    assert codes == {"VERIFY_RUNS_FAILED"}
    assert not v.ok
