"""``verify --runs`` against the real pg_cron scheduler (slow: it waits for real runs)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
from typing import Any

import psycopg
import pytest

from bridge import api
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.guard import SKIP_MESSAGE
from tests.planner.test_guarded_plan import guarded_ticks

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


@pytest.mark.slow
def test_verify_runs_reports_a_guards_skip_at_a_pgagent_fire_time(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """pg_cron really runs a guarded every-minute job whose guard skips one excepted minute;
    then the ledger's definition loses that exception (as if the guard skipped a minute the
    plan's pgAgent schedules fire at): verify --runs reports that skip as
    VERIFY_RUNS_GUARD_SKIPPED_FIRE, first at that minute, and exits 1."""
    cron, skip, seen = guarded_ticks(db, db_dsn, db_name, cron_dsn, cron_db)
    assert seen[skip][0] == "failed" and SKIP_MESSAGE in seen[skip][1], seen[skip]
    before = api.verify(db_dsn, cron_dsn, runs=True, since=skip)
    (c,) = [c for c in before.runs if c.cron_job == cron.name]
    assert (c.skipped_fire, c.guard_rule) == (0, "ledger") and c.skipped >= 1, c
    assert "VERIFY_RUNS_GUARD_SKIPPED_FIRE" not in {f.code for f in before.findings}
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET definition = jsonb_set(definition, "
        "'{schedules,0,exceptions}', '[]') WHERE pgagent_job_id = "
        "(SELECT pgagent_job_id FROM pgbridge.cron_jobs WHERE jobname = %s)",
        [cron.name],
    )
    after = api.verify(db_dsn, cron_dsn, runs=True, since=skip)
    (c,) = [c for c in after.runs if c.cron_job == cron.name]
    assert c.skipped_fire == 1 and c.skipped_fire_first == (skip,) and c.skipped == 0, c
    (found,) = [f for f in after.findings if f.code == "VERIFY_RUNS_GUARD_SKIPPED_FIRE"]
    assert found.severity.value == "error" and f"{skip:%Y-%m-%d %H:%M} UTC" in found.message
    assert not after.ok
    proc = subprocess.run(
        [sys.executable, "-m", "bridge", "verify", "--pgagent", db_dsn, "--pgcron", cron_dsn,
         "--runs", "--since", f"{skip.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M}"],
        capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
    )  # fmt: skip
    assert proc.returncode == 1, proc.stderr
    assert "VERIFY_RUNS_GUARD_SKIPPED_FIRE" in proc.stdout
