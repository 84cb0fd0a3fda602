"""Guarded plans from catalogs built with pgAdmin's SQL: which jobs get a guard, what it looks
like, what the real server does with the command, and what pg_cron really runs."""

from __future__ import annotations

import datetime as dt
import subprocess
import time

import pytest

from bridge.api import migrate, verify
from bridge.apply.runs import LATE
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec
from bridge.findings import Severity
from bridge.planner.guard import GUARD_MARK, SKIP_MESSAGE
from bridge.planner.types import CronJobPlan, PlanOptions
from bridge.report.layout import TextOptions
from bridge.report.plan import plan_json, plan_text
from tests.catalogs import Conn
from tests.planner.test_plan import TODAY, Planner, codes, planned, planned_live, step

__all__ = ["planned", "planned_live"]  # the fixture, used by name
fs = frozenset
FRIDAY_13 = ScheduleSpec(
    "f13", minutes=fs({15}), hours=fs({4}), monthdays=fs({13}), weekdays=fs({5})
)
HOLIDAYS = ScheduleSpec(
    "weekdays 07:00",
    minutes=fs({0}),
    hours=fs({7}),
    weekdays=fs(range(1, 6)),
    exceptions=((dt.date(2026, 12, 25), None), (dt.date(2027, 1, 1), None)),
)


def test_friday_13th_is_exact_with_a_guard(planned: Planner) -> None:
    job, plan = planned(JobSpec("f13", [step("a", "SELECT 1")], [FRIDAY_13]))
    assert job.status == "exact", job.findings
    (cron,) = job.cron_jobs
    assert cron.schedule == "15 4 13 * *" and cron.guard is not None and cron.wrapped
    assert codes(job)["JOB_GUARDED"] is Severity.INFO and "STEP_WRAPPED_BY_GUARD" in codes(job)
    assert "SCHED_DOM_DOW_AND_INEXACT" not in codes(job)
    assert cron.command.startswith("DO $pgbridge$\n" + GUARD_MARK)
    assert "EXECUTE $s1_$SELECT 1$s1_$;" in cron.command  # the step, verbatim
    doc = plan_json(plan)
    (guard,) = [
        c["guard"] for j in doc["jobs"] if j["job_id"] == job.job_id for c in j["cron_jobs"]
    ]
    assert guard == {"sql": cron.guard.sql, "description": cron.guard.description}
    verbose = plan_text(plan, TextOptions(width=200, verbose=True))  # an exact job: with -v
    assert "guard: runs the steps only at pgAgent's fire times" in verbose
    off, _ = planned(JobSpec("f13 off", [step("a", "SELECT 1")], [FRIDAY_13]),
                     PlanOptions(guards=False))  # fmt: skip
    assert off.status == "manual" and off.cron_jobs[0].guard is None
    assert codes(off)["SCHED_DOM_DOW_AND_INEXACT"] is Severity.ERROR


def test_exceptions_windows_and_last_day_are_exact_with_a_guard(planned: Planner) -> None:
    window = ScheduleSpec("window", start="2027-01-10 08:00:00+00", end="2027-03-31 00:00:00+00",
                          minutes=fs({0}), hours=fs({8}))  # fmt: skip
    last = ScheduleSpec("month end", minutes=fs({30}), hours=fs({23}), monthdays=fs({32}))
    for spec in (HOLIDAYS, window, last):
        job, _ = planned(JobSpec(spec.name, [step("a", "SELECT 1")], [spec]))
        assert job.status == "exact", (spec.name, job.findings)
        (cron,) = job.cron_jobs
        assert cron.guard is not None
    assert cron.schedule == "30 23 28-31 * *"


def test_a_time_only_exception_that_removes_an_hour_folds_into_the_expression(
    planned: Planner,
) -> None:
    hourly = ScheduleSpec("hourly", minutes=fs({0}), exceptions=((None, dt.time(12, 0)),))
    job, _ = planned(JobSpec("hourly", [step("a", "SELECT 1")], [hourly]))
    assert job.status == "exact"
    (cron,) = job.cron_jobs
    assert cron.schedule == "0 0-11,13-23 * * *" and cron.guard is None


def test_overlapping_schedules_share_one_guarded_pg_cron_job(planned: Planner) -> None:
    a = ScheduleSpec(
        "a", minutes=fs({0, 30}), hours=fs({9}), exceptions=((dt.date(2026, 12, 25), None),)
    )
    b = ScheduleSpec("b", minutes=fs({30}), hours=fs({9, 10}), weekdays=fs({1}), monthdays=fs({2}))
    job, _ = planned(JobSpec("two", [step("a", "SELECT 1")], [a, b]))
    assert job.status == "exact", job.findings
    (cron,) = job.cron_jobs  # one job: a minute both schedules fire at runs once
    assert len(cron.schedule_ids) == 2 and cron.guard is not None
    assert "JOB_SEVERAL_CRON_JOBS" not in codes(job)


def test_steps_that_must_run_alone_keep_todays_result(planned: Planner) -> None:
    job, _ = planned(JobSpec("vacuum", [step("a", "VACUUM")], [HOLIDAYS]))
    assert job.status == "changed" and job.cron_jobs[0].guard is None
    assert codes(job)["JOB_GUARD_NOT_USABLE"] is Severity.INFO
    (why,) = [f.message for f in job.findings if f.code == "JOB_GUARD_NOT_USABLE"]
    assert "VACUUM" in why and "must run alone" in why


def test_the_time_zone_is_guarded_on_gmt(planned_live: Planner, db: Conn, db_name: str) -> None:
    db.execute(f"ALTER DATABASE {db_name} SET timezone = 'America/New_York'")
    try:
        spec = ScheduleSpec("daily", minutes=fs({30}), hours=fs({2}))
        job, _ = planned_live(JobSpec("ny", [step("a", "SELECT 1")], [spec]))
    finally:
        db.execute(f"ALTER DATABASE {db_name} RESET timezone")
    assert job.status == "exact", job.findings
    (cron,) = job.cron_jobs
    assert cron.schedule == "30 6-7 * * *" and cron.guard is not None
    assert "America/New_York" in cron.guard.sql


SHADOW_NOW = """
CREATE SCHEMA IF NOT EXISTS shadow;
CREATE OR REPLACE FUNCTION shadow.now() RETURNS timestamptz LANGUAGE sql AS $$ SELECT %s::timestamptz $$;
"""


def test_the_guarded_command_skips_or_runs_in_the_real_server(
    planned_live: Planner, db: Conn, db_dsn: str
) -> None:
    """The command as pg_cron sends it (one simple query, psql -c does the same), with now()
    shadowed to choose the minute: a holiday raises the skip message, a workday runs the step."""
    db.execute("CREATE TABLE ran (at timestamptz DEFAULT pg_catalog.now())")
    job, _ = planned_live(JobSpec("h", [step("a", "INSERT INTO ran DEFAULT VALUES", dbname=db.info.dbname)],
                             [HOLIDAYS]))  # fmt: skip
    (cron,) = job.cron_jobs
    for when, runs in (("2026-12-25 07:00+00", False), ("2026-12-28 07:00:41+00", True),
                       ("2026-12-28 07:01+00", False)):  # fmt: skip
        db.execute(SHADOW_NOW.replace("%s", f"'{when}'"))
        proc = subprocess.run(
            ["psql", "-X", "-q", "-d", db_dsn, "-c", "SET search_path = shadow, pg_catalog, public",
             "-c", cron.command],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert (proc.returncode == 0) is runs, proc.stderr
        if not runs:
            assert SKIP_MESSAGE in proc.stderr and "is not a fire time" in proc.stderr
    count = db.execute("SELECT count(*) FROM ran").fetchone()
    assert count is not None and count[0] == 1


def guarded_ticks(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn
) -> tuple[CronJobPlan, dt.datetime, dict[dt.datetime, tuple[str, str]]]:
    """An every-minute job (inserting into ``ticks``) whose time-only exception, at a minute a
    moment ahead, gives it a guard, migrated; then pg_cron's real runs until it reached that
    minute and a later success (200 s at most), and until ``verify --runs`` judges that minute:
    the pg_cron job, the excepted minute, and the finished runs by minute (status, message)."""
    db.execute("CREATE TABLE ticks (at timestamptz NOT NULL DEFAULT now())")
    db.execute(f"ALTER DATABASE {db_name} SET timezone = 'UTC'")
    now = dt.datetime.now(dt.timezone.utc)
    skip = (now + dt.timedelta(minutes=2 if now.second > 40 else 1)).replace(
        second=0, microsecond=0
    )
    every = ScheduleSpec("every minute", minutes=fs(range(60)), exceptions=((None, skip.time()),))
    create_job(db, JobSpec("tick", [step("a", "INSERT INTO ticks DEFAULT VALUES", dbname=db_name)],
                           [every]))  # fmt: skip
    try:
        result = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    finally:
        db.execute(f"ALTER DATABASE {db_name} RESET timezone")
    (cron,) = [c for j in result.plan.jobs for c in j.cron_jobs]  # type: ignore[union-attr]
    assert cron.schedule == "* * * * *" and cron.guard is not None
    deadline = time.monotonic() + 200
    seen: dict[dt.datetime, tuple[str, str]] = {}
    while time.monotonic() < deadline:
        rows = cron_db.execute(
            "SELECT date_trunc('minute', d.start_time), d.status, d.return_message "
            "FROM cron.job_run_details d JOIN cron.job j USING (jobid) WHERE j.jobname = %s",
            [cron.name],
        ).fetchall()
        seen = {
            t.astimezone(dt.timezone.utc): (s, m)
            for t, s, m in rows
            if s in ("succeeded", "failed")
        }
        if skip in seen and any(t > skip and s == "succeeded" for t, (s, _) in seen.items()):
            break
        time.sleep(3)
    assert skip in seen, f"pg_cron did not reach {skip:%H:%M} within 200 s: {seen}"
    while True:  # until verify --runs judges that minute: the last LATE are not judged yet
        row = cron_db.execute("SELECT now()").fetchone()
        assert row is not None
        if row[0] > skip + LATE + dt.timedelta(seconds=2):
            return cron, skip, seen
        time.sleep(3)


@pytest.mark.slow
def test_pg_cron_really_skips_an_excepted_minute_and_runs_the_next(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    cron, skip, seen = guarded_ticks(db, db_dsn, db_name, cron_dsn, cron_db)
    status, message = seen[skip]
    assert status == "failed" and SKIP_MESSAGE in message, seen[skip]
    later = [(s, m) for t, (s, m) in seen.items() if t > skip]
    assert later and later[0][0] == "succeeded" and later[0][1] == "DO", later
    ticks = {r[0].replace(second=0, microsecond=0) for r in db.execute("SELECT at FROM ticks")}
    assert skip not in {t.astimezone(dt.timezone.utc) for t in ticks}
    # verify --runs counts the skip as skipped, not failed (the superset's run, not extra):
    # the ledger's definition says pgAgent does not fire there
    checks = verify(db_dsn, cron_dsn, runs=True, since=skip - dt.timedelta(minutes=1))
    (check,) = [c for c in checks.runs if c.cron_job == cron.name]
    assert check.skipped >= 1 and check.failed == check.skipped_fire == 0, check
    assert check.guard_rule == "ledger"
