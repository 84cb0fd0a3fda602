"""``verify --runs``: pg_cron's run log against the fire times of what pgbridge migrated."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from dataclasses import replace
from typing import Any
from zoneinfo import ZoneInfo

import psycopg
import pytest

from bridge import api
from bridge.apply import ledger, switch
from bridge.apply.ledger import LedgerJob, TakeOver, stamp_switch
from bridge.apply.results import RunCheck
from bridge.apply.runs import (
    GUESSED_NOTE,
    LATE,
    AgentRule,
    GuardedRuns,
    Window,
    agent_rule,
    compare_runs,
    first_minute,
    guard_skipped,
    judge_guarded,
    judge_job,
    judged_from,
    percentile_cont,
    run_durations,
    run_findings,
)
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.guard import SKIP_MESSAGE
from bridge.planner.types import CronJobPlan
from bridge.schedule import CronTarget
from bridge.serialize import to_jsonable
from tests.factories import catalog_of

Conn = psycopg.Connection[tuple[Any, ...]]
UTC = dt.timezone.utc
T0 = dt.datetime(2026, 5, 1, 10, 0, tzinfo=UTC)


def at(*minutes: float) -> list[dt.datetime]:
    return [T0 + dt.timedelta(minutes=m) for m in minutes]


@pytest.mark.parametrize(
    ("expected", "starts", "missed", "extra"),
    [
        (at(0, 1, 2), at(0.01, 1.5, 2.2), [], []),  # late by seconds: still that fire's run
        (at(0, 1, 2), at(0.01, 2.01), at(1), []),
        (at(0, 10), at(0.01, 5), at(10), at(5)),  # a run at no fire time is extra
        (at(0, 10), at(0.01, 0.5), at(10), at(0.5)),  # one run per fire time
        (at(0, 1), at(1.1, 1.2), [], []),  # queued behind a long run: the 10:00 fire ran late
        ([], at(3), [], at(3)),
        (at(0), [], at(0), []),
    ],
)
def test_runs_are_matched_to_fire_times(
    expected: list[dt.datetime],
    starts: list[dt.datetime],
    missed: list[dt.datetime],
    extra: list[dt.datetime],
) -> None:
    assert compare_runs(expected, starts) == (missed, extra)


@pytest.mark.parametrize(
    ("took", "first"),
    [
        # a cross-database switch's instant: every fire time strictly after it is pg_cron's
        (TakeOver(T0 + dt.timedelta(seconds=30), True), T0 + dt.timedelta(seconds=30, microseconds=1)),
        (TakeOver(T0, True), T0 + dt.timedelta(microseconds=1)),  # a fire at the stamp: pgAgent's
        # a transaction's start (one-transaction switch, an older ledger, a later change)
        (TakeOver(T0 + dt.timedelta(seconds=30), False), T0 + dt.timedelta(seconds=30) + LATE),
    ],
)  # fmt: skip
def test_the_first_judged_instant(took: TakeOver, first: dt.datetime) -> None:
    assert judged_from(took) == first


@pytest.mark.parametrize(
    ("expected", "runs", "verdict"),
    [
        # a skip at a pgAgent fire time: the guard withheld a run pgAgent would have made
        (at(0), [(0.01, True)], ([], [], 0, at(0))),
        # a skip at a minute pgAgent does not fire: the superset's, as planned
        (at(0), [(0.01, False), (1.01, True)], ([], [], 1, [])),
        # a run that went ahead at a minute pgAgent does not fire: the guard let it through
        (at(0), [(0.01, False), (5.02, False)], ([], at(5.02), 0, [])),
        # a run at a fire time: as planned
        (at(0, 10), [(0.5, False), (10.01, False)], ([], [], 0, [])),
        # no run at all: missed (a skip at a fire time is not also missed)
        (at(0, 10), [(10.01, True)], (at(0), [], 0, at(10))),
        # judged by the minute it started in, as its guard was: a minute late is not that fire's
        (at(0), [(1.1, False)], (at(0), at(1.1), 0, [])),
        # one run per fire time; a skip beside a run in the same minute is still a wrong skip
        (at(0), [(0.01, False), (0.6, False)], ([], at(0.6), 0, [])),
        (at(0), [(0.01, True), (0.02, False)], ([], [], 0, at(0))),
        ([], [(3.0, True), (4.0, True)], ([], [], 2, [])),
    ],
)  # fmt: skip
def test_guarded_runs_are_judged_by_pgagents_fire_times(
    expected: list[dt.datetime],
    runs: list[tuple[float, bool]],
    verdict: tuple[list[dt.datetime], list[dt.datetime], int, list[dt.datetime]],
) -> None:
    rows = [(T0 + dt.timedelta(minutes=m), skip) for m, skip in runs]
    assert judge_guarded(expected, rows) == GuardedRuns(*verdict)
    # the minute is the instant's, whatever zone the start is given in
    kolkata = dt.timezone(dt.timedelta(hours=5, minutes=30))
    assert judge_guarded(expected, [(t.astimezone(kolkata), s) for t, s in rows]) == GuardedRuns(
        *verdict
    )


def test_a_guarded_jobs_rule_prefers_the_ledgers_definition() -> None:
    """The schedules the pg_cron job stands for, enabled and started, from the definition the
    plan was built from; pgAgent's catalog as it is now only when the ledger holds none (or one
    this release cannot read); the zone and mode from the recorded context."""
    catalog = catalog_of(
        JobSpec(
            "j",
            [StepSpec("a", "SELECT 1")],
            [ScheduleSpec("a", minutes=frozenset({5})), ScheduleSpec("b", minutes=frozenset({7})),
             ScheduleSpec("off", minutes=frozenset({9}), enabled=False)],
        ),
        timezone="Asia/Tokyo",
    )  # fmt: skip
    assert catalog.pgagent is not None
    (job,) = catalog.pgagent.jobs
    a, _, off = job.schedules
    led = LedgerJob(
        "x", "u", 9, "src", job.id, (a.id, off.id), "* * * * *", "DO $$ $$", "app", True
    )
    context = {"options": {"mode": "configured"}, "timezone": "Europe/Berlin"}
    # the ledger's definition: as migrated, before schedule a moved to minute 6
    moved = to_jsonable(job)
    moved["schedules"][0]["minutes"][5], moved["schedules"][0]["minutes"][6] = False, True
    rule = agent_rule(led, {job.id: moved}, context, catalog.pgagent)
    assert rule is not None and (rule.source, rule.zone, rule.mode) == (
        "ledger",
        "Europe/Berlin",
        "configured",
    )
    assert [s.id for s in rule.schedules] == [a.id] and rule.schedules[0].minutes[6]
    assert not rule.guessed  # an older ledger's job, without the context: a guess, and said so
    assert agent_rule(led, {job.id: moved}, None, catalog.pgagent).guessed  # type: ignore[union-attr]
    for recorded in ({}, {job.id: {"id": "not a job"}}):
        rule = agent_rule(led, recorded, None, catalog.pgagent)
        assert rule is not None and (rule.source, rule.zone, rule.mode) == (
            "catalog",
            "Asia/Tokyo",
            "actual",
        )
        assert rule.schedules == (a,)
    gone = replace(catalog.pgagent, jobs=())
    assert agent_rule(led, {}, context, gone) is None


def check(**kw: Any) -> RunCheck:
    return RunCheck(1, "pgagent-abc-1-x", 5, "* * * * *", T0, T0 + dt.timedelta(hours=1), **kw)


@pytest.mark.parametrize(
    ("figures", "codes"),
    [
        ({"expected": 60, "ran": 60}, []),
        ({"expected": 60, "ran": 59, "missed": 1, "missed_first": tuple(at(5))},
         [("VERIFY_RUNS_MISSED", "error")]),
        ({"expected": 0, "evidence": "cron.log_run is off: pg_cron records no runs"},
         [("VERIFY_RUNS_NO_EVIDENCE", "warning")]),
        ({"expected": 0, "evidence": "too young: no fire time between ..."},
         [("VERIFY_RUNS_PARTIAL", "info")]),
        ({"expected": 60, "ran": 61, "extra": 1, "extra_first": tuple(at(5.5))},
         [("VERIFY_RUNS_EXTRA", "warning")]),
        ({"expected": 10, "ran": 10, "p95_seconds": 30.0, "pgagent_p95_seconds": 2.0},
         [("VERIFY_RUNS_SLOWER", "info")]),
        ({"expected": 10, "ran": 10, "p95_seconds": 3.0, "pgagent_p95_seconds": 2.0}, []),
        # guarded jobs: skips at pgAgent fire times are errors, wherever the rule came from
        ({"expected": 60, "ran": 59, "skipped": 600, "skipped_fire": 1,
          "skipped_fire_first": tuple(at(5)), "guard_rule": "ledger"},
         [("VERIFY_RUNS_GUARD_SKIPPED_FIRE", "error")]),
        ({"expected": 60, "ran": 61, "extra": 1, "extra_first": tuple(at(5.5)),
          "guard_rule": "ledger"}, [("VERIFY_RUNS_EXTRA", "warning")]),
        ({"expected": 60, "ran": 59, "skipped_fire": 1, "skipped_fire_first": tuple(at(5)),
          "guard_rule": "catalog", "evidence": "judged by pgAgent's catalog as it is now: ..."},
         [("VERIFY_RUNS_PARTIAL", "info"), ("VERIFY_RUNS_GUARD_SKIPPED_FIRE", "error")]),
        ({"expected": 600, "ran": 60, "skipped": 540, "guard_rule": "unavailable",
          "evidence": "the guard's skips are counted, not judged: neither ..."},
         [("VERIFY_RUNS_NO_EVIDENCE", "warning")]),
        ({"expected": 0, "guard_rule": "unavailable",
          "evidence": "too young: ...; the guard's skips are counted, not judged: ..."},
         [("VERIFY_RUNS_NO_EVIDENCE", "warning")]),
    ],
)  # fmt: skip
def test_findings_of_a_check(figures: dict[str, Any], codes: list[tuple[str, str]]) -> None:
    assert [(f.code, f.severity.value) for f in run_findings(check(**figures))] == codes


@pytest.mark.parametrize(
    ("message", "skipped"),
    [
        # libpq mode: PQresultErrorMessage, as pg_cron logs a guard's skip (the live test in
        # tests/planner/test_guarded_plan.py sees it from a real scheduler)
        ("ERROR:  pgbridge guard skipped this run: 2027-01-01 12:00:00+00 is not a fire time of "
         "pgAgent's schedule (skips 1 January 2027)\nCONTEXT:  PL/pgSQL function "
         "inline_code_block line 7 at RAISE\n", True),
        ("ERROR: pgbridge guard skipped this run: 2027-01-01 12:00:00+00 is not ...", True),
        ("ERROR:  relation \"t\" does not exist", False),
        ("ERROR:  step failed\nDETAIL: pgbridge guard skipped this run: quoted", False),
        ("ERROR:  pgbridge guard skipped this run is my own text", False),
        ("", False),
    ],
)  # fmt: skip
def test_a_guards_skip_is_told_from_a_failure(message: str, skipped: bool) -> None:
    assert guard_skipped(message) is skipped


S = dt.timedelta(seconds=1)


@pytest.mark.parametrize(
    ("runs", "figures"),
    [
        ([], (None, None, None)),
        ([(T0, T0 + 4 * S, "succeeded", "")], (4.0, 4.0, 4.0)),
        # a guarded job: many near-zero skips (logged 'failed') and a failure do not count
        ([(T0, T0 + 10 * S, "succeeded", ""), (T0, T0 + 20 * S, "succeeded", "")]
         + [(T0, T0 + S / 100, "failed", "ERROR:  pgbridge guard skipped this run: x")] * 50
         + [(T0, T0 + 99 * S, "failed", "ERROR:  boom")], (15.0, 19.5, 20.0)),
        # still running (no end_time): not a duration
        ([(T0, None, "running", ""), (T0, T0 + 2 * S, "succeeded", "")], (2.0, 2.0, 2.0)),
        ([(T0, T0 + 3 * S, "failed", "ERROR:  pgbridge guard skipped this run: x")],
         (None, None, None)),
    ],
)  # fmt: skip
def test_durations_leave_out_skips_and_failures(
    runs: list[tuple[dt.datetime, dt.datetime | None, str, str]],
    figures: tuple[float | None, float | None, float | None],
) -> None:
    assert run_durations(runs) == figures


@pytest.mark.parametrize(
    "values",
    [[1.0], [3.0, 1.0], [0.25, 7.5, 2.0, 9.125], [0.1 * i for i in range(1, 38)], [5.0] * 4],
)
def test_percentiles_are_postgresqls_percentile_cont(cron_db: Conn, values: list[float]) -> None:
    """Bit for bit what the aggregate the durations used to be read with gives."""
    row = cron_db.execute(
        "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY v), "
        "percentile_cont(0.95) WITHIN GROUP (ORDER BY v) FROM unnest(%s::float8[]) AS v",
        [values],
    ).fetchone()
    cron_db.rollback()
    assert row == (percentile_cont(0.5, values), percentile_cont(0.95, values))


def _details(cron_db: Conn, jobid: int, rows: list[tuple[dt.datetime, str, str]]) -> None:
    for start, status, message in rows:
        cron_db.execute(
            "INSERT INTO cron.job_run_details (jobid, job_pid, database, username, command, "
            "status, return_message, start_time, end_time) VALUES (%s, 0, 'x', current_user, "
            "'x', %s, %s, %s, %s + interval '3 seconds')",
            (jobid, status, message, start, start),
        )


def _migrated_daily(
    db: Conn,
    db_dsn: str,
    db_name: str,
    cron_dsn: str,
    cron_db: Conn,
    skip_days: tuple[int, ...] = (),
) -> tuple[dt.datetime, int, CronJobPlan]:
    """A daily pgAgent job at the minute 20 minutes ago (so the real scheduler does not fire it
    during the test), migrated across databases: its fire time, pgAgent job id and pg_cron job.
    ``skip_days``: dates (days from the fire's) pgAgent skips as exceptions."""
    row = cron_db.execute("SELECT date_trunc('minute', now() - interval '20 minutes')").fetchone()
    assert row is not None
    fire: dt.datetime = row[0].astimezone(UTC)
    excepted = tuple((fire.date() + dt.timedelta(days=d), None) for d in skip_days)
    job = create_job(
        db,
        JobSpec(
            "daily",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("d", minutes=frozenset({fire.minute}), hours=frozenset({fire.hour}),
                          exceptions=excepted)],
        ),
    )  # fmt: skip
    result = api.migrate(db_dsn, cron_dsn, apply=True, timezone="UTC")
    (cron,) = [c for j in result.plan.jobs if j.job_id == job for c in j.cron_jobs]  # type: ignore[union-attr]
    return fire, job, cron


def _jobid(cron_db: Conn, name: str) -> int:
    """The pg_cron job id of ``name``, which must exist."""
    got = cron_db.execute("SELECT jobid FROM cron.job WHERE jobname = %s", [name]).fetchone()
    assert got is not None, name
    return int(got[0])


def test_verify_runs_reports_missed_failed_and_extra_runs(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """A daily job at a minute that passed 20 minutes ago (so the real scheduler does not fire
    it during the test): three days of fabricated run details, one missed, one failed, one extra."""
    fire, job, cron = _migrated_daily(db, db_dsn, db_name, cron_dsn, cron_db)
    assert cron.schedule == f"{fire.minute} {fire.hour} * * *"
    jobid = _jobid(cron_db, cron.name)
    day = dt.timedelta(days=1)
    _details(
        cron_db,
        jobid,
        [
            (fire - 3 * day + dt.timedelta(seconds=1), "succeeded", "SELECT 1"),
            (fire - 2 * day + dt.timedelta(seconds=2), "failed",
             "ERROR: could not connect: password=Sekr3t host=x"),
            # fire - 1 day: missed
            (fire - 1 * day + dt.timedelta(hours=2), "succeeded", "SELECT 1"),  # extra
            (fire + dt.timedelta(seconds=1), "succeeded", "SELECT 1"),
        ],
    )  # fmt: skip
    since = fire - 3 * day - dt.timedelta(minutes=1)
    v = api.verify(db_dsn, cron_dsn, runs=True, since=since)
    (c,) = [c for c in v.runs if c.pgagent_job_id == job]
    assert (c.expected, c.ran, c.missed, c.extra, c.failed) == (4, 4, 1, 1, 1)
    assert c.missed_first == (fire - day,) and c.extra_first == (
        fire - day + dt.timedelta(hours=2),
    )
    assert c.failures[0].message == "ERROR: could not connect: password=******** host=x"
    assert (c.median_seconds, c.evidence) == (3.0, "")
    codes = {f.code for f in v.findings if f.job_id == job}
    assert codes == {"VERIFY_RUNS_MISSED", "VERIFY_RUNS_FAILED", "VERIFY_RUNS_EXTRA"}
    assert not v.ok

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", "verify", "--pgagent", db_dsn, "--pgcron", cron_dsn,
             *args], capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    stamp = since.strftime("%Y-%m-%d %H:%M")
    text = cli("--runs", "--since", stamp, "--width", "300")  # a line per pg_cron job, unwrapped
    assert text.returncode == 1, text.stderr
    assert f"{cron.name} ('{cron.schedule}', pgAgent job {job})" in text.stdout
    assert "4 expected, 4 ran, 1 missed, 1 extra, 1 failed" in text.stdout
    assert "Sekr3t" not in text.stdout
    doc = json.loads(cli("--runs", "--since", stamp, "--format", "json").stdout)
    (run,) = [r for r in doc["runs"] if r["pgagent_job_id"] == job]
    assert (run["missed"], run["failed"], run["extra"]) == (1, 1, 1)
    markdown = cli("--runs", "--since", stamp, "--format", "markdown").stdout
    assert f"| `{cron.name}` |" in markdown and "| 4 | 4 | 1 | 1 | 1 |" in markdown
    plain = cli()  # without --runs: the verification as before, no run log read
    assert plain.returncode == 0 and "runs:" not in plain.stdout
    assert cli("--since", stamp).returncode == 2  # --since needs --runs
    # since the migration itself: too young for a daily job
    young = api.verify(db_dsn, cron_dsn, runs=True)
    (c,) = [c for c in young.runs if c.pgagent_job_id == job]
    assert c.expected == 0 and c.evidence.startswith("too young")
    assert young.ok


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
def test_verify_runs_reports_in_utc_whatever_the_sessions_timezone(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None, zone: str
) -> None:
    """psycopg returns timestamptz in the session's TimeZone: the window, the take-over and the
    runs are UTC in the result and the report, whatever the connection's zone."""
    fire, job, cron = _migrated_daily(db, db_dsn, db_name, cron_dsn, cron_db)
    jobid = _jobid(cron_db, cron.name)
    day = dt.timedelta(days=1)
    _details(
        cron_db,
        jobid,
        [
            (fire - 2 * day + dt.timedelta(seconds=1), "succeeded", "SELECT 1"),
            (fire - day + dt.timedelta(seconds=2), "failed", "ERROR: boom"),
        ],  # fire itself: missed
    )
    local = psycopg.conninfo.make_conninfo(cron_dsn, options=f"-c TimeZone={zone}")
    with psycopg.connect(local) as conn:
        assert conn.execute("SHOW TimeZone").fetchone() == (zone,)
    since = fire - 2 * day - dt.timedelta(minutes=1)
    v = api.verify(db_dsn, local, runs=True, since=since)
    (c,) = [c for c in v.runs if c.pgagent_job_id == job]
    assert (c.expected, c.ran, c.missed, c.failed) == (3, 2, 1, 1)
    assert c.missed_first == (fire,)
    for instant in (c.since, c.until, c.failures[0].start, *c.missed_first):
        assert instant.utcoffset() == dt.timedelta(0), instant
    young = api.verify(db_dsn, local, runs=True)  # from the ledger's take-over, read as local
    (c,) = [c for c in young.runs if c.pgagent_job_id == job]
    assert c.since.utcoffset() == dt.timedelta(0) and c.until.utcoffset() == dt.timedelta(0)
    assert f"{c.since:%Y-%m-%d %H:%M} UTC" in c.evidence


SKIP = "ERROR:  pgbridge guard skipped this run: {} is not a fire time of pgAgent's schedule (x)"


def test_verify_runs_judges_a_guarded_job_by_pgagents_fire_times(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """A daily job whose exceptions (two past days, one ten days ahead) give it a guard, with six
    days of fabricated run details: a skip on an excepted day is as planned, a skip on a fire
    day is VERIFY_RUNS_GUARD_SKIPPED_FIRE (exit 1), a run the guard let through on an excepted
    day is extra. The rule is the ledger's definition even when pgAgent's catalog says else,
    and pgAgent's catalog when the ledger holds none."""
    fire, job, cron = _migrated_daily(
        db, db_dsn, db_name, cron_dsn, cron_db, skip_days=(-4, -3, 10)
    )
    assert cron.guard is not None
    jobid = _jobid(cron_db, cron.name)
    day = dt.timedelta(days=1)
    sec = dt.timedelta(seconds=1)

    def skip(t: dt.datetime) -> tuple[dt.datetime, str, str]:
        return (t + sec, "failed", SKIP.format(f"{t:%Y-%m-%d %H:%M:%S}+00"))

    _details(
        cron_db,
        jobid,
        [
            (fire - 5 * day + sec, "succeeded", "DO"),
            skip(fire - 4 * day),  # excepted: as planned
            (fire - 3 * day + sec, "succeeded", "DO"),  # excepted, yet run: extra
            skip(fire - 2 * day),  # a fire time: the guard withheld it
            # fire - 1 day: missed
            (fire + sec, "succeeded", "DO"),
        ],
    )
    since = fire - 5 * day - dt.timedelta(minutes=1)

    def judged() -> RunCheck:
        v = api.verify(db_dsn, cron_dsn, runs=True, since=since)
        (c,) = [c for c in v.runs if c.pgagent_job_id == job]
        assert not v.ok
        return c

    c = judged()
    figures = (c.expected, c.ran, c.missed, c.extra, c.failed, c.skipped, c.skipped_fire)
    assert figures == (4, 3, 1, 1, 0, 1, 1) and (c.guard_rule, c.evidence) == ("ledger", "")
    assert c.skipped_fire_first == (fire - 2 * day,) and c.missed_first == (fire - day,)
    assert c.extra_first == (fire - 3 * day + sec,)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", "verify", "--pgagent", db_dsn, "--pgcron", cron_dsn,
             "--runs", "--since", since.strftime("%Y-%m-%d %H:%M"), *args],
            capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    text = cli("--width", "400")
    assert text.returncode == 1, text.stderr
    assert (
        "4 expected, 3 ran, 1 missed, 1 extra, 0 failed, 1 skipped by the guard, 1 skipped "
        "at pgAgent fire times" in text.stdout
    )
    assert "VERIFY_RUNS_GUARD_SKIPPED_FIRE" in text.stdout
    assert f"(first: {fire - 2 * day:%Y-%m-%d %H:%M} UTC)" in text.stdout
    doc = json.loads(cli("--format", "json").stdout)
    (run,) = [r for r in doc["runs"] if r["pgagent_job_id"] == job]
    assert (run["skipped"], run["skipped_fire"], run["guard_rule"]) == (1, 1, "ledger")
    (found,) = [f for f in doc["findings"] if f["code"] == "VERIFY_RUNS_GUARD_SKIPPED_FIRE"]
    assert found["severity"] == "error" and found["job_id"] == job
    markdown = cli("--format", "markdown")
    assert markdown.returncode == 1 and "| 4 | 3 | 1 | 1 | 0 | 1 (1) |" in markdown.stdout

    # The ledger says what the plan was built from: without the exceptions there, the skip on
    # an excepted day is a withheld fire too, and the run on the other is pgAgent's.
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET definition = jsonb_set(definition, "
        "'{schedules,0,exceptions}', '[]') WHERE pgagent_job_id = %s",
        [job],
    )
    c = judged()
    assert (c.expected, c.ran, c.missed, c.extra, c.skipped, c.skipped_fire) == (6, 3, 1, 0, 0, 2)
    assert c.skipped_fire_first == (fire - 4 * day, fire - 2 * day)
    # no definition in the ledger: pgAgent's catalog as it is now, and the evidence says so
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET definition = NULL WHERE pgagent_job_id = %s", [job]
    )
    c = judged()
    assert (c.expected, c.ran, c.missed, c.extra, c.skipped, c.skipped_fire) == (4, 3, 1, 1, 1, 1)
    assert c.guard_rule == "catalog" and c.evidence.startswith("judged by pgAgent's catalog")


def _ledger_times(cron_db: Conn, job: int) -> tuple[dt.datetime, dt.datetime | None]:
    row = cron_db.execute(
        "SELECT updated_at, switched_at FROM pgbridge.pgagent_jobs WHERE pgagent_job_id = %s",
        [job],
    ).fetchone()
    assert row is not None
    return row[0], row[1]


def test_a_cross_database_switch_is_judged_from_its_recorded_instant(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """migrate --apply across databases records the switch's instant after its transaction's
    start and inside the quiet window; verify --runs judges the fire time right after it (the
    ledger moved back to just before a fire time 20 minutes ago, so the real scheduler does not
    fire it during the test), where a transaction's start alone leaves it unjudged."""
    fire, job, cron = _migrated_daily(db, db_dsn, db_name, cron_dsn, cron_db)
    started, switched = _ledger_times(cron_db, job)
    assert switched is not None and switched > started
    assert 5 <= switched.astimezone(UTC).second < 45  # inside the quiet window
    again = api.migrate(db_dsn, cron_dsn, apply=True, timezone="UTC")  # nothing to hand over
    assert again.count("unchanged") == 1 and _ledger_times(cron_db, job) == (started, switched)
    # The instant is recorded after the commits, only while the clock reads its minute: one
    # read in a minute the clock has left (a commit that crossed a boundary) records nothing.
    row = cron_db.execute(
        "SELECT source, clock_timestamp() FROM pgbridge.pgagent_jobs WHERE pgagent_job_id = %s",
        [job],
    ).fetchone()
    assert row is not None
    source, clock = row
    stamp_switch(cron_db, source, [job], clock - dt.timedelta(minutes=1))
    assert _ledger_times(cron_db, job) == (started, switched)
    row = cron_db.execute("SELECT clock_timestamp()").fetchone()
    assert row is not None
    stamp_switch(cron_db, source, [job], row[0])  # read in the minute the clock still shows
    after = cron_db.execute("SELECT clock_timestamp()").fetchone()
    assert after is not None
    now_stamp = _ledger_times(cron_db, job)[1]
    if after[0].replace(second=0, microsecond=0) == row[0].replace(second=0, microsecond=0):
        assert now_stamp == row[0]
    else:  # the clock turned during these three statements: either outcome is right
        assert now_stamp in (switched, row[0])
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET switched_at = %s WHERE pgagent_job_id = %s",
        [switched, job],
    )

    jobid = _jobid(cron_db, cron.name)
    _details(cron_db, jobid, [(fire + dt.timedelta(seconds=1), "succeeded", "SELECT 1")])

    def moved(start: dt.timedelta, stamp: dt.timedelta | None) -> RunCheck:
        """verify --runs with the ledger's times put at ``fire`` + these offsets."""
        cron_db.execute(
            "UPDATE pgbridge.pgagent_jobs SET updated_at = %s, switched_at = %s "
            "WHERE pgagent_job_id = %s",
            [fire + start, None if stamp is None else fire + stamp, job],
        )
        cron_db.execute(
            "UPDATE pgbridge.cron_jobs SET updated_at = %s WHERE pgagent_job_id = %s",
            [fire - dt.timedelta(minutes=1), job],
        )
        (c,) = [c for c in api.verify(db_dsn, cron_dsn, runs=True).runs if c.pgagent_job_id == job]
        return c

    late = dt.timedelta(seconds=-40)
    exact = moved(late, dt.timedelta(seconds=-30))
    # judged from the stamp's instant, from its first whole minute on: this fire time
    assert exact.since == fire
    assert (exact.expected, exact.ran, exact.missed, exact.extra, exact.evidence) == (
        1,
        1,
        0,
        0,
        "",
    )
    # a one-transaction switch records no instant; a later change (an update after the switch)
    # outdates it: both start at the transaction's start + LATE, after this fire time
    for c in (moved(late, None), moved(dt.timedelta(seconds=-20), dt.timedelta(seconds=-30))):
        assert c.since > fire and c.expected == 0 and c.evidence.startswith("too young")


def test_activate_records_the_instant_of_its_switch(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    """A cut-over job is not handed over (no instant); activate hands it over and records one,
    after its transaction's start and inside the quiet window; activating again records none."""
    job = create_job(
        db,
        JobSpec(
            "hourly",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("h", minutes=frozenset({7}))],
        ),
    )
    api.migrate(db_dsn, cron_dsn, apply=True, cutover=True)
    assert _ledger_times(cron_db, job)[1] is None
    api.activate(db_dsn, cron_dsn)
    started, switched = _ledger_times(cron_db, job)
    assert switched is not None and switched > started
    assert 5 <= switched.astimezone(UTC).second < 45
    assert api.activate(db_dsn, cron_dsn).changes == ()
    assert _ledger_times(cron_db, job) == (started, switched)


def test_activate_upgrades_an_older_ledger_before_it_waits(
    db: Conn,
    db_dsn: str,
    db_name: str,
    cron_dsn: str,
    cron_db: Conn,
    ledger_gone: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A ledger without ``switched_at`` gets it in a commit of its own, before the quiet-minute
    wait: the ALTER TABLE's lock is not held through it (issue 14); the switch still records
    its instant."""
    job = create_job(
        db,
        JobSpec(
            "hourly",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("h", minutes=frozenset({7}))],
        ),
    )
    api.migrate(db_dsn, cron_dsn, apply=True, cutover=True)
    cron_db.execute("ALTER TABLE pgbridge.pgagent_jobs DROP COLUMN switched_at")
    cron_db.commit()
    seen: list[bool] = []
    wait = switch.quiet_moment

    def watched(run: Any, needed: float) -> None:
        row = cron_db.execute(
            "SELECT count(*) FROM pg_attribute WHERE attrelid = 'pgbridge.pgagent_jobs'::regclass "
            "AND attname = 'switched_at' AND NOT attisdropped"
        ).fetchone()
        cron_db.rollback()
        seen.append(row == (1,))
        wait(run, needed)

    monkeypatch.setattr(switch, "quiet_moment", watched)
    api.activate(db_dsn, cron_dsn)
    assert seen == [True]  # committed, seen from another session, before the wait
    started, switched = _ledger_times(cron_db, job)
    assert switched is not None and switched > started


def _ledger_job(schedule: str, command: str = "SELECT 1") -> LedgerJob:
    return LedgerJob("x", "u", 9, "src", 1, (1,), schedule, command, "app", True)


def _minute_five() -> AgentRule:
    """pgAgent's rule of a job that fires at minute 5 of every hour (UTC)."""
    catalog = catalog_of(
        JobSpec("j", [StepSpec("a", "SELECT 1")], [ScheduleSpec("a", minutes=frozenset({5}))]),
        timezone="UTC",
    )
    assert catalog.pgagent is not None
    (job,) = catalog.pgagent.jobs
    return AgentRule(job.schedules, "UTC", "actual", "ledger")


CRON = CronTarget.of("1.6.4", "GMT")
SKIP = f"ERROR:  {SKIP_MESSAGE}: not a fire time"


def _rows(*minutes: float, skip: bool = False) -> list[tuple[Any, ...]]:
    return [
        (t, t + dt.timedelta(seconds=1), "failed" if skip else "succeeded", SKIP if skip else "")
        for t in at(*minutes)
    ]


@pytest.mark.parametrize(
    ("log_run", "oldest"), [("off", None), ("on", None), (None, None), ("off", T0)]
)
def test_a_guarded_job_with_no_run_log_is_never_missed(log_run: str | None, oldest: Any) -> None:
    """cron.log_run off or an empty cron.job_run_details: nothing may be called missed."""
    window = Window(T0, T0 + dt.timedelta(hours=3), log_run, oldest)
    c = judge_job(
        _ledger_job("* * * * *"), window, [], CRON, _minute_five(), "ledger", "4.2", (None, None)
    )
    assert (c.missed, c.skipped_fire, c.extra) == (0, 0, 0)
    assert c.expected == 3 and c.evidence
    assert [f.code for f in run_findings(c)] == ["VERIFY_RUNS_NO_EVIDENCE"]


def test_a_guarded_job_is_expected_at_pgagents_own_fire_times() -> None:
    """An entry that no longer covers pgAgent's fire times (a changed cron.timezone) and whose
    guard skips every run: pgAgent's fire times are missed, and the evidence says why."""
    window = Window(T0, T0 + dt.timedelta(hours=3), "on", T0 - dt.timedelta(days=1))
    rows = _rows(10, 70, 130, skip=True)  # the entry fires at minute 10, the guard skips
    c = judge_job(
        _ledger_job("10 * * * *"), window, rows, CRON, _minute_five(), "ledger", "4.2", (None, None)
    )
    assert (c.expected, c.missed, c.skipped, c.ran) == (3, 3, 3, 0)
    assert c.missed_first == tuple(at(5, 65, 125))
    assert "'10 * * * *' no longer fires at 3 of pgAgent's fire times" in c.evidence
    codes = [(f.code, f.severity.value) for f in run_findings(c)]
    assert codes == [("VERIFY_RUNS_PARTIAL", "info"), ("VERIFY_RUNS_MISSED", "error")]
    # an entry that covers them, running at each: as planned
    rows = _rows(5, 65, 125)
    c = judge_job(
        _ledger_job("5 * * * *"), window, rows, CRON, _minute_five(), "ledger", "4.2", (None, None)
    )
    assert (c.expected, c.missed, c.ran, c.evidence) == (3, 0, 3, "")


@pytest.mark.parametrize("zone", ["America/New_York", "Asia/Tokyo"])
@pytest.mark.parametrize("hour", [23, 16])  # New York's day ends before UTC's; Tokyo's starts
def test_windows_are_cut_in_utc_whatever_the_sessions_zone(zone: str, hour: int) -> None:
    """psycopg gives timestamptz in the session's TimeZone: judged and printed in UTC."""
    tz = ZoneInfo(zone)
    begin = dt.datetime(2026, 5, 1, hour, 30, tzinfo=UTC)
    window = Window(begin, begin + dt.timedelta(hours=2), "on", begin - dt.timedelta(days=1))
    rows = [(begin + dt.timedelta(minutes=m, seconds=3), None, "succeeded", "") for m in (30, 90)]
    job = _ledger_job("0 * * * *")
    utc = judge_job(job, window, rows, CRON, None, "", "4.2", (None, None))
    local = judge_job(
        job,
        Window(begin.astimezone(tz), window.now.astimezone(tz), "on", window.oldest.astimezone(tz)),  # type: ignore[union-attr]
        [(r[0].astimezone(tz), *r[1:]) for r in rows],
        CRON, None, "", "4.2", (None, None),
    )  # fmt: skip
    assert local == utc and (utc.expected, utc.ran, utc.missed, utc.extra) == (2, 2, 0, 0)
    assert local.since.utcoffset() == dt.timedelta(0)
    assert (
        f"since 2026-05-01 {hour}:30 UTC"
        in run_findings(replace(local, missed=1, missed_first=(begin,)))[0].message
    )


def test_the_window_starts_at_the_first_whole_minute() -> None:
    """A take-over at 10:00:30: the run at 10:00:40 of pgAgent's 10:00 fire is not pg_cron's."""
    begin = T0 + dt.timedelta(seconds=30)
    window = Window(begin, T0 + dt.timedelta(minutes=10), "on", T0 - dt.timedelta(days=1))
    rows = _rows(0.67, 1.01, 2.01, 3.01, 4.01, 5.01, 6.01, 7.01)
    for rule, command in ((None, "SELECT 1"), (_minute_five(), "SELECT 1")):
        c = judge_job(
            _ledger_job("* * * * *", command),
            window,
            rows,
            CRON,
            rule,
            "ledger" if rule else "",
            "4.2",
            (None, None),
        )
        assert c.since == T0 + dt.timedelta(minutes=1)
        assert c.extra == (6 if rule else 0) and c.missed == 0
    assert first_minute(T0) == T0 and first_minute(begin) == T0 + dt.timedelta(minutes=1)


def test_a_rule_guessed_for_an_old_ledger_lowers_a_skipped_fire_to_a_warning() -> None:
    window = Window(T0, T0 + dt.timedelta(hours=1), "on", T0 - dt.timedelta(days=1))
    rule = replace(_minute_five(), guess="the live zone (UTC)")
    c = judge_job(
        _ledger_job("* * * * *"),
        window,
        _rows(5, skip=True),
        CRON,
        rule,
        "ledger",
        "4.2",
        (None, None),
    )
    assert GUESSED_NOTE in c.evidence and c.skipped_fire == 1
    codes = [(f.code, f.severity.value) for f in run_findings(c)]
    assert ("VERIFY_RUNS_GUARD_SKIPPED_FIRE", "warning") in codes
    assert run_findings(replace(c, evidence=""))[-1].severity.value == "error"


@pytest.mark.parametrize(
    ("figures", "remedy", "not_said"),
    [
        ({"guard_rule": "unavailable", "evidence": "the guard's skips are counted, not judged: ..."},
         "gone from both pgAgent's catalog and the ledger", "cron.log_run"),
        ({"guard_rule": "catalog", "evidence": "judged by pgAgent's catalog as it is now: ..."},
         "so the ledger records the job's definition", "again later"),
        ({"evidence": "too young: no fire time between ..."}, "again later", "cron.log_run"),
        ({"evidence": "cron.log_run is off: pg_cron records no runs"}, "cron.log_run on", "later"),
    ],
)  # fmt: skip
def test_each_evidence_has_its_own_remedy(
    figures: dict[str, Any], remedy: str, not_said: str
) -> None:
    (finding,) = run_findings(check(expected=0, **figures))
    assert remedy in finding.remedy and not_said not in finding.remedy


def test_a_context_this_release_cannot_read_is_a_guess_and_said_so() -> None:
    """Each part of the recorded context that is missing or unreadable (another release's
    options, a zone this host does not know, a damaged row) is replaced by the default options
    or the live zone, and the guess names exactly what stood in; the rest is the record's."""
    live, default, berlin = "Asia/Tokyo", "the default options", "Europe/Berlin"
    both = f"{default} and the live zone (Asia/Tokyo)"
    cases: list[tuple[object, str, str, str]] = [
        (None, "actual", live, both),
        ({}, "actual", live, both),
        ([1, 2], "actual", live, both),
        ("text", "actual", live, both),
        ({"options": {"mode": "configured"}}, "configured", live, "the live zone (Asia/Tokyo)"),
        ({"options": {"mode": "configured"}, "timezone": None}, "configured", live,
         "the live zone (Asia/Tokyo)"),
        ({"options": {"mode": "configured"}, "timezone": "Mars/Olympus"}, "configured", live,
         "the live zone (Asia/Tokyo)"),
        ({"options": {"mode": "configured"}, "timezone": 5}, "configured", live,
         "the live zone (Asia/Tokyo)"),
        ({"timezone": berlin}, "actual", berlin, default),
        ({"options": {"mode": "sometimes"}, "timezone": berlin}, "actual", berlin, default),
        ({"options": ["not", "an", "object"], "timezone": berlin}, "actual", berlin, default),
        ({"options": {"mode": "configured"}, "timezone": berlin}, "configured", berlin, ""),
    ]  # fmt: skip
    for context, mode, zone, guess in cases:
        planned = ledger.planned_as(context, live)
        assert (planned.options.mode, planned.zone, planned.guess) == (mode, zone, guess), context


def test_a_guessed_rule_says_what_stood_in() -> None:
    """The warning names the zone and mode the guard's skips were really judged with."""
    window = Window(T0, T0 + dt.timedelta(hours=1), "on", T0 - dt.timedelta(days=1))
    rule = replace(_minute_five(), guess="the live zone (Asia/Tokyo)")
    c = judge_job(
        _ledger_job("* * * * *"), window, _rows(5, skip=True), CRON, rule, "ledger", "4.2",
        (None, None),
    )  # fmt: skip
    (skip,) = [f for f in run_findings(c) if f.code == "VERIFY_RUNS_GUARD_SKIPPED_FIRE"]
    assert skip.severity.value == "warning"
    assert f"({GUESSED_NOTE}: judged with the live zone (Asia/Tokyo))" in skip.message
