"""The reverse export against real servers: pg_cron jobs become pgAgent jobs that fire the same."""

from __future__ import annotations

import datetime as dt
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.api import migrate
from bridge.catalog.load import read_catalog
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.exporter.translate import ExportResult, make_export
from bridge.exporter.writer import export
from bridge.findings import Severity
from bridge.model import CronJob, PgCronSide
from bridge.report.export import export_sql, export_text
from bridge.schedule import AgentSchedule, CronTarget, check_equivalence, cron_fires_at, parse_cron
from tests.catalogs import Conn
from tests.commands import pgagent_daemon, run_psql
from tests.fix_db import TestServer
from tests.schedule.oracle import pga_fires
from tests.schedule.strategies import cron_texts

UTC = dt.timezone.utc
TODAY = dt.date(2026, 11, 21)
fs = frozenset


@pytest.fixture
def clean_ledger(cron_db: Conn) -> Iterator[None]:
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
    yield
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")


def exported_schedules(db_dsn: str, name: str) -> list[AgentSchedule]:
    catalog = read_catalog(db_dsn).pgagent
    assert catalog is not None
    (job,) = [j for j in catalog.jobs if j.name == name]
    return [AgentSchedule.from_model(s) for s in job.schedules]


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(expr=cron_texts(last_day=False), seed=st.integers(0, 2**32))
def test_exported_jobs_fire_when_pg_cron_would(
    db: Conn, db_dsn: str, db_name: str, cron_db: Conn, cron_dsn: str, clean_ledger: None,
    pg_cron_target: CronTarget, expr: str, seed: int,
) -> None:  # fmt: skip
    """Random cron expressions: pg_cron's fire set == the union of the exported pgAgent
    schedules, both by the equivalence checker and by pgAgent's own pga_next_schedule."""
    cron_db.execute("DELETE FROM cron.job WHERE jobname = 'pgbridge-export-prop'")
    db.execute("DELETE FROM pgagent.pga_job")
    row = cron_db.execute(
        "SELECT cron.schedule_in_database('pgbridge-export-prop', %s, 'SELECT 1', %s)",
        [expr, db_name],
    ).fetchone()
    assert row is not None
    result = export(cron_dsn, pgagent=db_dsn, apply=True, select=("pgbridge-export-prop",))
    (job,) = result.plan.jobs
    if job.job is None:  # e.g. 29 February alone: pgAgent cannot hold it, and says so
        assert job.status == "manual"
        assert "EXPORT_NOTHING_TO_SCHEDULE" in {f.code for f in job.findings}
        return
    if "SCHED_SHORT_MONTH_ERROR" in {f.code for f in job.findings}:
        # e.g. days 29 and 30 in January: pgAgent itself would raise, so nothing is written
        assert job.status == "manual" and result.created == ()
        return
    schedules = exported_schedules(db_dsn, "pgbridge-export-prop")
    source = pg_cron_target  # the real server's release, cron.timezone and DOM/DOW switch
    agent_zone = read_catalog(db_dsn).pgagent.timezone  # type: ignore[union-attr]
    cron = parse_cron(expr, source.version)
    feb29 = any(f.code == "SCHED_CRON_FEB_29_DROPPED" for f in job.findings)
    equivalence = check_equivalence(
        tuple(schedules), [cron], target=source, agent_zone=agent_zone, since=dt.date(2027, 1, 1)
    )
    if not equivalence.exact and not (feb29 and equivalence.agent_only == 0):
        # only where the zone changes its clocks (pgAgent and pg_cron treat DST apart), and said
        assert source.zone not in ("GMT", "UTC"), job.findings
        said = {f.code for f in job.findings if f.severity is not Severity.INFO}
        assert any(c.startswith("SCHED_") for c in said), job.findings
        return
    # pgAgent's own function: sample instants, every one must agree with pg_cron's rule
    rng = random.Random(seed)
    t0 = dt.datetime(2027, 1, 1, tzinfo=UTC)
    instants = sorted({t0 + dt.timedelta(minutes=rng.randrange(366 * 1440)) for _ in range(120)})
    fires = {t: False for t in instants}
    for schedule in schedules:
        for t, ok in pga_fires(db, schedule, agent_zone, instants).items():
            fires[t] = fires[t] or ok
    expected = {
        t: cron_fires_at(cron, t, source.zone, and_logic=source.and_logic) for t in instants
    }
    if feb29:
        expected = {t: v and not (t.month == 2 and t.day == 29) for t, v in expected.items()}
    assert fires == expected


@pytest.fixture
def other_catalog(pg_server: TestServer) -> Iterator[str]:
    """A second, empty pgAgent catalog (another installation to export into)."""
    name = "pgbridge_t_other"
    with pg_server.connect("postgres") as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name}")
        conn.execute(f"CREATE DATABASE {name} TEMPLATE pgbridge_test_template")
    try:
        yield pg_server.dsn(name)
    finally:
        with pg_server.connect("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.mark.pgcron_matrix
def test_round_trip_gives_the_original_job_back(
    db: Conn,
    db_dsn: str,
    db_name: str,
    cron_dsn: str,
    cron_db: Conn,
    clean_ledger: None,
    other_catalog: str,
) -> None:
    original = JobSpec(
        "Nightly ETL",
        [
            StepSpec("10 extract", "SELECT 1", dbname=db_name),
            StepSpec("20 load", "SELECT 2", dbname=db_name, on_error="i"),
        ],
        [
            ScheduleSpec(
                "weekdays",
                minutes=fs({15}),
                hours=fs({1}),
                weekdays=fs(range(1, 6)),
                exceptions=((dt.date(2027, 12, 24), None),),
            ),
            ScheduleSpec("sunday", minutes=fs({0}), hours=fs({6}), weekdays=fs({0})),
        ],
        description="etl",
    )
    job_id = create_job(db, original)
    before = read_catalog(db_dsn).pgagent
    assert before is not None
    migrated = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert migrated.count("create") == 1  # one guarded pg_cron job (the holiday exception)
    # Back into the same catalog: the original is still there (disabled), no copy is made.
    same = export(cron_dsn, pgagent=db_dsn, apply=True)
    assert same.created == () and [f.code for f in same.notes] == ["EXPORT_ORIGINAL_PRESENT"]
    # Into another pgAgent installation: the original definition, exactly.
    result = export(cron_dsn, pgagent=other_catalog, apply=True)
    (back,) = [j for j in result.plan.jobs if j.origin == "ledger"]
    assert back.key == f"pgagent:{migrated.plan.catalog_tag}:{job_id}" and len(back.cron_jobs) == 1
    after = read_catalog(other_catalog).pgagent
    assert after is not None
    old = before.job(job_id)
    new = next(j for j in after.jobs if j.id == result.created[0][1])
    assert new.name == old.name and new.enabled == old.enabled
    assert [(s.name, s.code, s.dbname, s.on_error) for s in new.steps] == [
        (s.name, s.code, s.dbname, s.on_error) for s in old.steps
    ]
    shape = lambda s: (  # noqa: E731
        s.name, s.minutes, s.hours, s.weekdays, s.monthdays, s.months,
        [(e.date, e.time) for e in s.exceptions],
    )  # fmt: skip
    assert [shape(s) for s in new.schedules] == [shape(s) for s in old.schedules]


def test_reexport_replaces_instead_of_duplicating(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, clean_ledger: None
) -> None:
    cron_db.execute(
        "SELECT cron.schedule_in_database('pgbridge-export-twice', '*/5 1-3 * * 1-5', "
        "$$SELECT 'it''s'$$, %s)",
        [db_name],
    )
    first = export(cron_dsn, pgagent=db_dsn, apply=True, select=("pgbridge-export-twice",))
    second = export(cron_dsn, pgagent=db_dsn, apply=True, select=("pgbridge-export-twice",))
    assert first.replaced == () and second.replaced == ("cron:postgres/pgbridge-export-twice",)
    rows = db.execute(
        "SELECT j.jobname, s.jstcode, s.jstdbname, s.jstonerror FROM pgagent.pga_job j "
        "JOIN pgagent.pga_jobstep s ON s.jstjobid = j.jobid"
    ).fetchall()
    assert rows == [("pgbridge-export-twice", "SELECT 'it''s'", db_name, "f")]


def test_sql_script_creates_the_jobs(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, clean_ledger: None
) -> None:
    cron_db.execute(
        "SELECT cron.schedule_in_database('pgbridge-export-sql', '0 12 1-7 * 1', "
        "'SELECT 1; SELECT 2', %s)",
        [db_name],
    )
    script = export_sql(export(cron_dsn, pgagent=db_dsn, select=("pgbridge-export-sql",)).plan)
    for _ in range(2):  # twice: no duplicate
        proc = run_psql(db_dsn, script=script)
        assert proc.returncode == 0, proc.stderr
    schedules = exported_schedules(db_dsn, "pgbridge-export-sql")
    assert len(schedules) == 2  # pg_cron ORs days 1-7 and Mondays: two pgAgent schedules
    equivalence = check_equivalence(
        tuple(schedules), ["0 12 1-7 * 1"], target=CronTarget.of("1.4.2"), agent_zone="UTC"
    )
    assert equivalence.exact


def side_with(*jobs: CronJob) -> PgCronSide:
    return PgCronSide(
        database="postgres",
        extension_version="1.6",
        loaded=True,
        binary_at_least="1.6.5",
        settings=(("cron.timezone", "UTC"),),
        capabilities=("timezone",),
        jobs=jobs,
    )


def cron(jobid: int, schedule: str, **kw: Any) -> CronJob:
    base: dict[str, Any] = dict(
        name=f"j{jobid}", command="SELECT 1", nodename="localhost", nodeport=5432,
        database="app", username="alice", active=True,
    )  # fmt: skip
    base.update(kw)
    return CronJob(jobid, base.pop("name"), schedule, **base)


@pytest.mark.parametrize(
    ("job", "name"),
    [
        (cron(55, "30 seconds", name="vacuum-often"), "vacuum-often"),  # manual: no pgAgent job
        (cron(56, "@reboot", name=None), "pg_cron job 56"),
        (cron(57, "0 3 * * *", name="nightly"), "nightly"),
    ],
)
def test_export_report_names_every_job(job: CronJob, name: str) -> None:
    (exported,) = make_export(side_with(job), agent_zone="UTC").jobs
    text = export_text(ExportResult(make_export(side_with(job), agent_zone="UTC"), False))
    head = f"[{exported.status.upper()}] {name}  (pg_cron job {job.id}; translated)"
    assert exported.name == name and head in text.splitlines()


@pytest.mark.parametrize(
    ("job", "status", "code"),
    [
        (cron(1, "30 seconds"), "manual", "SCHED_CRON_SECONDS_NOT_REPRESENTABLE"),
        (cron(2, "@reboot"), "manual", "SCHED_CRON_REBOOT_NOT_REPRESENTABLE"),
        (cron(3, "0 23 $ * *"), "changed", "EXPORT_BOTH_SCHEDULERS"),
        (cron(4, "0 3 * * *", nodename="db2.example.com"), "changed", "EXPORT_REMOTE_NODE"),
        (cron(5, "0 3 * * *", active=False), "exact", "EXPORT_ROLE"),
    ],
)
def test_what_pgagent_cannot_do_is_reported(job: CronJob, status: str, code: str) -> None:
    plan = make_export(side_with(job), agent_zone="UTC")
    (exported,) = plan.jobs
    assert exported.status == status
    assert code in {f.code for f in exported.findings}


def test_schedules_pgagent_would_fail_on_are_refused() -> None:
    # Found by the property test against the real pgagent.pga_next_schedule: odd days and
    # Wednesdays give a schedule of days {29} without February, and pgAgent still steps from
    # January 30 into "2027-2-29" and raises.
    (job,) = make_export(side_with(cron(7, "*/1 * */2 * 3-3")), agent_zone="UTC").jobs
    assert job.status == "manual"
    (trap,) = [f for f in job.findings if f.code == "SCHED_SHORT_MONTH_ERROR"]
    assert "day 29 in month 2 (stepping on from month 1)" in trap.message


def test_exported_job_shapes() -> None:
    last = make_export(side_with(cron(3, "0 23 $ * *")), agent_zone="UTC", inactive=True).jobs[0]
    assert last.job is not None and not last.job.enabled
    (sched,) = last.job.schedules
    assert (sched.minutes, sched.hours, sched.monthdays) == (fs({0}), fs({23}), fs({32}))
    remote = make_export(side_with(cron(4, "0 3 * * *", nodename="db2")), agent_zone="UTC").jobs[0]
    assert remote.job is not None
    assert remote.job.steps[0].connstr == "host=db2 port=5432 dbname=app user=alice"
    plan = make_export(
        side_with(cron(6, "0 12 * * *")), agent_zone="Europe/Berlin"
    )  # pg_cron in UTC, pgAgent in Berlin: DST zone against a fixed one
    assert plan.jobs[0].status == "manual"
    assert "SCHED_TZ_DST_MISMATCH" in {f.code for f in plan.jobs[0].findings}
    assert all(f.severity is not Severity.ERROR for f in plan.findings)


@pytest.mark.slow
def test_pgagent_daemon_runs_an_exported_job(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, clean_ledger: None
) -> None:
    db.execute("CREATE TABLE ticks (at timestamptz NOT NULL DEFAULT now(), via text)")
    cron_db.execute(
        "SELECT cron.schedule_in_database('pgbridge-export-run', '* * * * *', "
        "$$INSERT INTO ticks (via) VALUES ('pgagent')$$, %s)",
        [db_name],
    )
    cron_db.execute(
        "UPDATE cron.job SET active = false WHERE jobname = 'pgbridge-export-run'"
    )  # only pgAgent should run it here
    result = export(cron_dsn, pgagent=db_dsn, apply=True, select=("pgbridge-export-run",))
    ((_, job_id),) = result.created
    db.execute(
        "UPDATE pgagent.pga_job SET jobenabled = true, jobnextrun = NULL WHERE jobid = %s", [job_id]
    )
    with pgagent_daemon(db_dsn) as agent:
        deadline = time.monotonic() + 150
        status = None
        while time.monotonic() < deadline and agent.poll() is None:
            row = db.execute(
                "SELECT jlgstatus FROM pgagent.pga_joblog WHERE jlgjobid = %s AND jlgstatus <> 'r' "
                "ORDER BY jlgid DESC LIMIT 1",
                [job_id],
            ).fetchone()
            if row is not None:
                status = row[0]
                break
            time.sleep(2)
        assert agent.poll() is None, agent.stderr.read() if agent.stderr else ""
        assert status == "s", f"pgAgent did not log a success within 150 s (status {status!r})"
        count = db.execute("SELECT count(*) FROM ticks WHERE via = 'pgagent'").fetchone()
        assert count is not None and count[0] >= 1


@pytest.mark.pgcron_matrix
def test_cli_export(
    db: Conn,
    db_dsn: str,
    db_name: str,
    cron_dsn: str,
    cron_db: Conn,
    pg_server: TestServer,
    clean_ledger: None,
    pg_cron_target: CronTarget,
) -> None:
    cron_db.execute(
        "SELECT cron.schedule_in_database('pgbridge-export-cli', '0 4 * * 0', 'VACUUM', %s)",
        [db_name],
    )

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    text = run("export", "--pgcron", cron_dsn, "--pgagent", db_dsn, "--job", "pgbridge-export-cli")
    assert text.returncode == 0, text.stderr
    assert "[CHANGED] pgbridge-export-cli" in text.stdout and "at 04:00 on Sunday" in text.stdout
    zone = "UTC" if pg_cron_target.zone == "GMT" else pg_cron_target.zone
    sql = run("export", "--pgcron", cron_dsn, "--timezone", zone, "--format", "sql")
    assert "INSERT INTO pgagent.pga_job" in sql.stdout
    applied = run("export", "--pgcron", cron_dsn, "--pgagent", db_dsn, "--apply", "--inactive")
    assert applied.returncode == 0, applied.stderr
    assert "export: 1 pgAgent job written" in applied.stdout  # one job: singular (issue 15)
    bad = run("export", "--pgcron", cron_dsn, "--apply")
    assert bad.returncode == 2 and "give --pgagent" in bad.stderr


def test_sql_script_comments_cannot_be_escaped(db: Conn, db_dsn: str) -> None:
    evil = "x\nDELETE FROM pgagent.pga_jobclass; --"
    script = export_sql(make_export(side_with(cron(9, "0 1 * * *", name=evil)), agent_zone="UTC"))
    proc = run_psql(db_dsn, script=script)
    assert proc.returncode == 0, proc.stderr
    classes = db.execute("SELECT count(*) FROM pgagent.pga_jobclass").fetchone()
    assert classes == (5,)  # nothing in a job's name ran as SQL
    names = [r[0] for r in db.execute("SELECT jobname FROM pgagent.pga_job")]
    assert names == [evil]  # the name arrived intact, as data


def test_assumed_zone_makes_zone_dependent_jobs_not_exact(
    cron_db: Conn, cron_dsn: str, db_name: str, clean_ledger: None
) -> None:
    # No wall-clock schedule is zone-free: on a fall-back day pgAgent (America/New_York, say)
    # fires an ambiguous wall time once, pg_cron in UTC fires every UTC minute.
    names = {"zone-daily": "0 4 * * *", "zone-15": "*/15 * * * *", "zone-every": "* * * * *"}
    for name, when in names.items():
        cron_db.execute(
            "SELECT cron.schedule_in_database(%s, %s, 'SELECT 1', %s, active := false)",
            [name, when, db_name],
        )
    assumed = export(pgcron=cron_dsn, select=tuple(names))
    by_name = {j.job.name: j for j in assumed.plan.jobs if j.job is not None}
    assert set(by_name) == set(names)
    for job in by_name.values():
        (note,) = [f for f in job.findings if f.code == "EXPORT_ZONE_DEPENDS"]
        assert job.status == "changed" and "in UTC (assumed" in note.message
    assert "EXPORT_ZONE_ASSUMED" in {f.code for f in assumed.plan.findings}
    given = export(pgcron=cron_dsn, timezone="UTC", select=tuple(names))
    assert [j.status for j in given.plan.jobs] == ["exact"] * len(names)
