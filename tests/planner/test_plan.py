"""The migration plan, from catalogs built with pgAdmin's SQL: statuses, pg_cron jobs, findings."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable

import pytest
from psycopg import conninfo as psycopg_conninfo

from bridge.catalog.load import read_catalog
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity, reaches
from bridge.naming import MAX_BYTES
from bridge.planner.build import make_plan
from bridge.planner.target import Target
from bridge.planner.types import JobPlan, Plan, PlanOptions
from bridge.report.plan import plan_json_text, plan_markdown, plan_sql, plan_text
from tests.catalogs import Conn
from tests.commands import apply_with_psql, run_psql
from tests.factories import catalog_of
from tests.fix_db import TestServer

TODAY = dt.date(2026, 11, 21)
fs = frozenset
DAILY_0230 = ScheduleSpec("daily", minutes=fs({30}), hours=fs({2}))


def target(release: str = "1.4.2", **kw: object) -> Target:
    return Target(release=release, timezone="GMT", database="postgres", **kw)  # type: ignore[arg-type]


Planner = Callable[..., tuple[JobPlan, Plan]]


@pytest.fixture
def planned() -> Planner:
    """Plan one job built in memory (the planner is pure; tests/factories.py is proved equal to
    what the reader reads from a real catalog)."""

    def run(
        spec: JobSpec, options: PlanOptions | None = None, tgt: Target | None = None
    ) -> tuple[JobPlan, Plan]:
        plan = make_plan(catalog_of(spec), tgt or target(), options, today=TODAY)
        (job,) = plan.jobs
        return job, plan

    return run


@pytest.fixture
def planned_live(db: Conn, db_dsn: str, db_name: str) -> Planner:
    """Create one job the way pgAdmin does in a real catalog, read the catalog back, plan it."""

    def run(
        spec: JobSpec, options: PlanOptions | None = None, tgt: Target | None = None
    ) -> tuple[JobPlan, Plan]:
        job_id = create_job(db, spec)
        plan = make_plan(read_catalog(db_dsn), tgt or target(), options, today=TODAY)
        (job,) = [j for j in plan.jobs if j.job_id == job_id]
        return job, plan

    return run


def step(name: str, code: str, **kw: object) -> StepSpec:
    return StepSpec(name, code, dbname=kw.pop("dbname", "app"), **kw)  # type: ignore[arg-type]


def codes(job: JobPlan) -> dict[str, Severity]:
    return {f.code: f.severity for f in job.findings}


def test_single_step_is_exact_and_verbatim(planned: Planner) -> None:
    code = "DELETE FROM t WHERE note = 'a;b' AND d < now() - interval '90 days'; -- ünïcødé $$\n"
    job, plan = planned(JobSpec("Nightly purge", [step("purge", code)], [DAILY_0230]))
    assert job.status == "exact"
    (cron,) = job.cron_jobs
    assert (cron.name, cron.schedule, cron.database, cron.username, cron.active) == (
        f"pgagent-{plan.catalog_tag}-{job.job_id}-nightly-purge",
        "30 2 * * *",
        "app",
        None,
        True,
    )
    assert cron.command == code  # byte for byte
    assert not cron.wrapped
    assert job.schedules[0].description.startswith("at 02:30")
    assert not reaches(plan.all_findings(), "warning")


def test_several_steps_are_wrapped_with_their_policies(planned: Planner) -> None:
    job, _ = planned(
        JobSpec(
            "etl",
            [
                step("b", "SELECT 2", on_error="s"),
                step("a", "SELECT 1"),
                step("c", "SELECT 3", on_error="i"),
            ],
            [DAILY_0230],
        )
    )
    assert job.status == "exact"
    assert codes(job)["STEPS_WRAPPED"] is Severity.INFO
    (cron,) = job.cron_jobs
    assert cron.wrapped and len(cron.step_ids) == 3
    text = cron.command
    # pgAgent's order (name, then id), each step verbatim, each followed by COMMIT
    assert text.index("SELECT 1") < text.index("SELECT 2") < text.index("SELECT 3")
    assert text.count("COMMIT;") == 3
    assert text.count("EXCEPTION WHEN OTHERS OR query_canceled") == 2  # only 's' and 'i' go on


@pytest.mark.parametrize(
    ("steps", "blocker"),
    [
        ([step("a", "SELECT 1"), step("b", "VACUUM t")], "VACUUM"),
        (
            [step("a", "SELECT 1"), step("b", "CREATE INDEX CONCURRENTLY i ON t (x)")],
            "CONCURRENTLY",
        ),
        ([step("a", "BEGIN; SELECT 1; COMMIT"), step("b", "SELECT 2")], "BEGIN"),
        ([step("a", "CALL p()"), step("b", "SELECT 2")], "CALL"),
        ([step("a", "SELECT 1"), step("b", "SELECT 2", dbname="other")], "different databases"),
        ([step("a", "SELECT 1 INTO t2 FROM t"), step("b", "SELECT 2")], "SELECT INTO"),
        ([step("a", "DISCARD ALL"), step("b", "SELECT 2")], "DISCARD"),
        ([step("a", "REINDEX SCHEMA public"), step("b", "SELECT 2")], "REINDEX"),
        (
            [step("a", "SELECT 1"), step("b", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE")],
            "SET TRANSACTION",
        ),
        (
            [step("a", "SET TRANSACTION SNAPSHOT '00000003-0000001B-1'"), step("b", "SELECT 2")],
            "SET TRANSACTION",
        ),
        (
            [step("a", "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY"), step("b", "S")],
            "SET SESSION CHARACTERISTICS",
        ),
    ],
)
def test_steps_that_cannot_share_a_command(
    planned: Planner, steps: list[StepSpec], blocker: str
) -> None:
    job, _ = planned(JobSpec("j", steps, [DAILY_0230]))
    assert job.status == "manual"
    (finding,) = [f for f in job.findings if f.code == "STEPS_NOT_COMBINABLE"]
    assert finding.severity is Severity.ERROR and blocker in finding.message


def test_split_steps_on_request(planned: Planner) -> None:
    job, plan = planned(
        JobSpec("j", [step("a", "SELECT 1"), step("b", "VACUUM t")], [DAILY_0230]),
        PlanOptions(split_steps=True),
    )
    assert job.status == "changed" and codes(job)["STEPS_SPLIT"] is Severity.WARNING
    names = [c.name for c in job.cron_jobs]
    sched = job.schedules[0].id
    assert names == [
        f"pgagent-{plan.catalog_tag}-{job.job_id}-j-s{sched}-1",
        f"pgagent-{plan.catalog_tag}-{job.job_id}-j-s{sched}-2",
    ]
    assert [c.command for c in job.cron_jobs] == ["SELECT 1", "VACUUM t"]


def test_batch_steps(planned: Planner) -> None:
    script = "#!/bin/sh\npg_dump app > /tmp/x\n"
    only, _ = planned(JobSpec("shell", [StepSpec("dump", script, kind="b")], [DAILY_0230]))
    assert only.status == "manual" and not only.cron_jobs
    (batch,) = [f for f in only.findings if f.code == "STEP_BATCH"]
    assert batch.detail == script and batch.step_id is not None
    mixed = JobSpec(
        "mixed", [StepSpec("dump", script, kind="b"), step("log", "SELECT 1")], [DAILY_0230]
    )
    job, _ = planned(mixed)
    assert job.status == "manual" and "JOB_MIXED_STEPS" in codes(job)
    job, _ = planned(replace_name(mixed, "mixed2"), PlanOptions(sql_part_of_mixed=True))
    assert job.status == "changed" and codes(job)["STEP_BATCH"] is Severity.WARNING
    assert [c.command for c in job.cron_jobs] == ["SELECT 1"]


def replace_name(spec: JobSpec, name: str) -> JobSpec:
    return dataclasses.replace(spec, name=name)


@pytest.mark.parametrize(
    ("steps", "status", "code", "severity"),
    [
        (
            [step("a", "SELECT 1"), step("b", "SELECT 2", enabled=False)],
            "exact",
            "STEP_DISABLED",
            Severity.INFO,
        ),
        (
            [step("a", "  -- nothing\n"), step("b", "SELECT 2")],
            "manual",
            "STEP_EMPTY",
            Severity.ERROR,
        ),
        (
            [step("a", "-- nothing", on_error="i"), step("b", "SELECT 2")],
            "changed",
            "STEP_EMPTY",
            Severity.WARNING,
        ),
        ([step("a", "COPY t FROM STDIN")], "manual", "STEP_NEEDS_CLIENT", Severity.ERROR),
        ([step("a", "select $$ open")], "manual", "STEP_SQL_UNPARSEABLE", Severity.ERROR),
        (
            [StepSpec("r", "SELECT 1", connstr="host=db2.example.com dbname=app")],
            "manual",
            "STEP_REMOTE_SERVER",
            Severity.ERROR,
        ),
    ],
)
def test_step_findings(
    planned: Planner, steps: list[StepSpec], status: str, code: str, severity: Severity
) -> None:
    job, _ = planned(JobSpec("j", steps, [DAILY_0230]))
    assert job.status == status
    assert codes(job)[code] is severity


def test_local_connstr_maps_database_and_role(planned_live: Planner, pg_server: TestServer) -> None:
    port = dataclasses.replace(pg_server).dsn("x")  # the server's own host and port
    params = psycopg_conninfo.conninfo_to_dict(port)
    job, _ = planned_live(
        JobSpec(
            "j",
            [
                StepSpec(
                    "s",
                    "SELECT 1",
                    connstr=f"host=localhost port={params['port']} dbname=sales user=report "
                    "password=x",
                )
            ],
            [DAILY_0230],
        )
    )
    (cron,) = job.cron_jobs
    assert (cron.database, cron.username) == ("sales", "report")
    assert codes(job)["STEP_PASSWORD_DROPPED"] is Severity.WARNING
    assert codes(job)["ROLE_NEEDS_SUPERUSER"] is Severity.WARNING
    assert job.status == "changed"


@pytest.mark.parametrize(
    ("connstr", "local"),
    [
        ("host=localhost port={port} dbname=sales", True),
        ("host=127.0.0.1 port={port} dbname=sales", True),
        ("host={host} port={port} dbname=sales", True),  # the host pgbridge connected to
        ("postgresql://localhost:{port}/sales", True),
        ("host=127.0.0.1 port={other} dbname=sales", False),  # another cluster, same host
        ("host=localhost dbname=sales", None),  # libpq's 5432: local only if the server's
        ("postgresql://u:p@ss@localhost:{port}/sales", "unusable"),  # unencoded @ in password
        ("host=localhost,127.0.0.1 port={port} dbname=sales", False),
        ("host=localhost hostaddr=10.9.9.9 port={port} dbname=sales", False),  # libpq: hostaddr
        ("host=db.example hostaddr=127.0.0.1 port={port} dbname=sales", True),
        ("service=elsewhere", "unknown"),  # pg_service.conf may name any server
        ("host=localhost port={port} dbname=sales service=elsewhere", "unknown"),
    ],
)
def test_same_server_means_same_host_and_port(
    planned_live: Planner, pg_server: TestServer, connstr: str, local: bool | str | None
) -> None:
    params = psycopg_conninfo.conninfo_to_dict(pg_server.dsn("x"))
    port = int(str(params["port"]))
    text = connstr.format(port=port, other=port + 1, host=params.get("host", ""))
    if local is None:
        local = port == 5432
    job, _ = planned_live(JobSpec("where", [StepSpec("s", "SELECT 1", connstr=text)], [DAILY_0230]))
    if local is True:
        assert [c.database for c in job.cron_jobs] == ["sales"] and job.status == "exact"
        return
    assert job.status == "manual" and job.cron_jobs == ()
    code = {"unusable": "STEP_CONNSTR_UNUSABLE", "unknown": "STEP_SERVER_UNKNOWN"}.get(
        str(local), "STEP_REMOTE_SERVER"
    )
    (finding,) = [f for f in job.findings if f.code == code]
    assert "ss@" not in finding.message and finding.severity is Severity.ERROR
    if local is False and "," not in text:
        assert f"listens on {port}" in finding.message


def test_step_database_must_exist_on_the_server(planned: Planner) -> None:
    job, _ = planned(JobSpec("ghost", [step("a", "SELECT 1", dbname="no_such_db")], [DAILY_0230]))
    assert job.status == "manual"
    (finding,) = [f for f in job.findings if f.code == "STEP_DATABASE_MISSING"]
    assert "'no_such_db'" in finding.message and finding.step_id is not None
    job, _ = planned(JobSpec("real", [step("a", "SELECT 1", dbname="sales")], [DAILY_0230]))
    assert job.status == "exact"


def test_offline_catalog_without_server_cannot_place_connstr_steps() -> None:
    catalog = catalog_of(
        JobSpec("old", [StepSpec("s", "SELECT 1", connstr="host=localhost dbname=x")], [DAILY_0230])
    )
    assert catalog.pgagent is not None
    old = dataclasses.replace(  # a snapshot from a pgbridge that did not record the server
        catalog, pgagent=dataclasses.replace(catalog.pgagent, server=None), pgcron=None
    )
    (job,) = make_plan(old, target(), today=TODAY).jobs
    assert job.status == "manual" and codes(job)["STEP_SERVER_UNKNOWN"] is Severity.ERROR


def test_disabled_jobs_and_schedules(planned: Planner) -> None:
    off = JobSpec("off", [step("a", "SELECT 1")], [DAILY_0230], enabled=False)
    job, _ = planned(off)
    assert [c.active for c in job.cron_jobs] == [False] and "JOB_DISABLED" in codes(job)
    job, _ = planned(replace_name(off, "off2"), PlanOptions(disabled="skip"))
    assert job.status == "skipped" and not job.cron_jobs
    sched_off = JobSpec(
        "s", [step("a", "SELECT 1")], [ScheduleSpec("x", minutes=fs({5}), enabled=False)]
    )
    job, _ = planned(sched_off)
    assert [c.active for c in job.cron_jobs] == [False] and "SCHEDULE_DISABLED" in codes(job)


def test_several_schedules(planned: Planner) -> None:
    job, plan = planned(
        JobSpec(
            "twice",
            [step("a", "SELECT 1")],
            [DAILY_0230, ScheduleSpec("evening", minutes=fs({0}), hours=fs({20}))],
        )
    )
    assert [c.schedule for c in job.cron_jobs] == ["30 2 * * *", "0 20 * * *"]
    assert [c.name for c in job.cron_jobs] == [
        f"pgagent-{plan.catalog_tag}-{job.job_id}-twice-s{s.id}" for s in job.schedules
    ]
    assert "JOB_SEVERAL_CRON_JOBS" not in codes(job)  # 02:30 and 20:00 never meet
    assert job.status == "exact"
    same, plan = planned(
        JobSpec(
            "same",
            [step("a", "SELECT 1")],
            [DAILY_0230, ScheduleSpec("dup", minutes=fs({30}), hours=fs({2}))],
        )
    )
    (cron,) = same.cron_jobs  # one minute fires once, as in pgAgent
    assert (
        cron.name == f"pgagent-{plan.catalog_tag}-{same.job_id}-same"
        and len(cron.schedule_ids) == 2
    )


def test_schedules_whose_union_is_one_expression_become_one_job(planned: Planner) -> None:
    job, plan = planned(
        JobSpec(
            "five and six",
            [step("a", "SELECT 1")],
            [
                ScheduleSpec("five", minutes=fs({0}), hours=fs({5})),
                ScheduleSpec("six", minutes=fs({0}), hours=fs({6})),
            ],
        )
    )
    (cron,) = job.cron_jobs
    assert (cron.name, cron.schedule) == (
        f"pgagent-{plan.catalog_tag}-{job.job_id}-five-and-six",
        "0 5-6 * * *",
    )
    assert cron.schedule_ids == tuple(s.id for s in job.schedules)
    assert job.status == "exact" and "JOB_SEVERAL_CRON_JOBS" not in codes(job)


def test_schedule_windows(planned: Planner) -> None:
    ended = ScheduleSpec("old", end="2025-01-01 00:00:00+00", minutes=fs({1}))
    job, _ = planned(JobSpec("ended", [step("a", "SELECT 1")], [ended]))
    assert job.status == "skipped" and "SCHEDULE_ENDED" in codes(job)
    later = ScheduleSpec("later", start="2027-03-01 00:00:00+00", minutes=fs({1}), hours=fs({1}))
    job, _ = planned(JobSpec("later", [step("a", "SELECT 1")], [later]), PlanOptions(guards=False))
    assert codes(job)["SCHEDULE_STARTS_LATER"] is Severity.WARNING and job.status == "changed"


def test_host_pinning(planned: Planner) -> None:
    job, _ = planned(JobSpec("pinned", [step("a", "SELECT 1")], [DAILY_0230], host_agent="db1"))
    assert codes(job)["JOB_HOST_PINNED"] is Severity.WARNING


@pytest.mark.parametrize(
    ("schedule", "release", "status", "expressions", "code"),
    [
        (  # Friday the 13th: no exact encoding before the 1.6.8 switch
            ScheduleSpec(
                "f13", minutes=fs({0}), hours=fs({9}), weekdays=fs({5}), monthdays=fs({13})
            ),
            "1.4.2",
            "manual",
            None,
            "SCHED_DOM_DOW_AND_INEXACT",
        ),
        (  # first Monday: day 1 among the days forces AND with a leading */31
            ScheduleSpec(
                "m1", minutes=fs({0}), hours=fs({9}), weekdays=fs({1}), monthdays=fs(range(1, 8))
            ),
            "1.4.2",
            "exact",
            ["0 9 */31,2-7 * 1"],
            None,
        ),
        (
            ScheduleSpec("last", minutes=fs({30}), hours=fs({23}), monthdays=fs({32})),
            "1.4.2",
            "manual",
            None,
            "SCHED_LAST_DAY_NEEDS_1_6",
        ),
        (
            ScheduleSpec("last", minutes=fs({30}), hours=fs({23}), monthdays=fs({32})),
            "1.6.7",
            "exact",
            ["30 23 $ * *"],
            None,
        ),
    ],
)
def test_schedule_semantics_reach_the_plan(
    planned: Planner,
    schedule: ScheduleSpec,
    release: str,
    status: str,
    expressions: list[str] | None,
    code: str | None,
) -> None:
    job, _ = planned(
        JobSpec("s", [step("a", "SELECT 1")], [schedule]),
        PlanOptions(guards=False),
        target(release),
    )
    assert job.status == status
    if expressions is not None:
        assert [c.schedule for c in job.cron_jobs] == expressions
    if code is not None:
        assert codes(job)[code] is Severity.ERROR


def test_background_worker_target(planned: Planner) -> None:
    bgw = target(background_workers=True)
    job, plan = planned(
        JobSpec("txn", [step("a", "BEGIN; SELECT 1; COMMIT;")], [DAILY_0230]), tgt=bgw
    )
    assert job.status == "manual" and "TARGET_BGW_TXN_CONTROL" in codes(job)
    assert "TARGET_BACKGROUND_WORKERS" in {f.code for f in plan.findings}
    job, _ = planned(
        JobSpec("multi", [step("a", "SELECT 1"), step("b", "SELECT 2")], [DAILY_0230]), tgt=bgw
    )
    assert job.status == "manual"
    (blocked,) = [f for f in job.findings if f.code == "STEPS_NOT_COMBINABLE"]
    assert "background-worker mode rejects the COMMIT" in blocked.message


def test_plans_are_deterministic_and_names_fit(db: Conn, db_dsn: str) -> None:
    for n in range(3):
        create_job(db, JobSpec("Ö" * 80 + str(n), [step("a", "SELECT 1")], [DAILY_0230]))
    catalog = read_catalog(db_dsn, history_days=0)  # a history window is its read's own time
    one = make_plan(catalog, target(), today=TODAY)
    two = make_plan(read_catalog(db_dsn, history_days=0), target(), today=TODAY)
    assert plan_json_text(one).replace(one.source, "") == plan_json_text(two).replace(
        two.source, ""
    )
    names = [c.name for j in one.jobs for c in j.cron_jobs]
    assert len(set(names)) == 3 and all(len(n.encode()) <= MAX_BYTES for n in names)
    doc = json.loads(plan_json_text(one))
    assert (doc["format"], doc["version"]) == ("pgbridge-plan", 1)
    assert doc["summary"]["exact"] == 3


def test_sql_script_creates_exactly_the_planned_jobs(
    db: Conn, db_dsn: str, db_name: str, pg_server: TestServer, cron_db: Conn, cron_dsn: str
) -> None:
    nasty = "SELECT 'it''s; $$ $pgbridge$ ünïcødé' AS \"x;y\", $q$;$q$;"
    create_job(
        db,
        JobSpec("Quote's; $pgbridge$ & Ünïcode", [step("a", nasty, dbname=db_name)], [DAILY_0230]),
    )
    create_job(
        db,
        JobSpec(
            "multi",
            [
                step("a", "SELECT 1", dbname=db_name),
                step("b", "SELECT 2;", dbname=db_name, on_error="i"),
            ],
            [DAILY_0230, ScheduleSpec("evening", minutes=fs({0}), hours=fs({20}))],
            enabled=False,
        ),
    )
    create_job(
        db, JobSpec("local", [step("a", "SELECT 3", dbname=pg_server.cron_database)], [DAILY_0230])
    )
    create_job(
        db,
        JobSpec(
            "local off",
            [step("a", "SELECT 4", dbname=pg_server.cron_database)],
            [DAILY_0230],
            enabled=False,
        ),
    )
    tgt = Target("1.4.2", "GMT", pg_server.cron_database)
    plan = make_plan(read_catalog(db_dsn), tgt, today=TODAY)
    apply_with_psql(plan, cron_dsn)
    rows = cron_db.execute(
        "SELECT jobname, schedule, command, database, active FROM cron.job "
        "WHERE jobname LIKE 'pgagent-%' ORDER BY jobname"
    ).fetchall()
    expected = sorted(
        (c.name, c.schedule, c.command, c.database, c.active)
        for j in plan.jobs
        if j.status in ("exact", "changed")
        for c in j.cron_jobs
    )
    assert [tuple(r) for r in rows] == expected
    assert len(expected) == 5
    assert any(nasty == r[2] for r in rows)
    # The script is idempotent: named upserts update in place.
    apply_with_psql(plan, cron_dsn)
    count = cron_db.execute(
        "SELECT count(*) FROM cron.job WHERE jobname LIKE 'pgagent-%'"
    ).fetchone()
    assert count is not None and count[0] == 5


def test_wrapped_command_keeps_pgagent_step_semantics(db: Conn, db_dsn: str, db_name: str) -> None:
    db.execute("CREATE TABLE log (step int PRIMARY KEY)")
    steps = [
        step("1", "INSERT INTO log VALUES (1)", dbname=db_name),
        step("2", "INSERT INTO log VALUES (2); SELECT 1/0", dbname=db_name, on_error="i"),
        step("3", "INSERT INTO log VALUES (3)", dbname=db_name),
        step("4", "INSERT INTO log VALUES (1)", dbname=db_name),  # duplicate key: fails, 'f'
        step("5", "INSERT INTO log VALUES (5)", dbname=db_name),
    ]
    create_job(db, JobSpec("policies", steps, [DAILY_0230]))
    plan = make_plan(read_catalog(db_dsn), target(), today=TODAY)
    (cron,) = plan.jobs[0].cron_jobs
    # pg_cron sends the command as one simple query; psql -c does the same.
    proc = run_psql(db_dsn, command=cron.command)
    assert proc.returncode != 0 and "duplicate key" in proc.stderr  # step 4 stops the job
    assert "step 2 failed" in proc.stderr  # step 2's failure was ignored, with a warning
    rows = [r[0] for r in db.execute("SELECT step FROM log ORDER BY step")]
    # step 1 and 3 committed on their own; step 2 rolled back as a whole; step 5 never ran
    assert rows == [1, 3]


def test_time_zone_exceptions_and_roles_are_findings(
    planned: Planner, planned_live: Planner, db: Conn, db_name: str
) -> None:
    holidays = ScheduleSpec(
        "weekdays 07:00",
        minutes=fs({0}),
        hours=fs({7}),
        weekdays=fs(range(1, 6)),
        exceptions=((dt.date(2026, 12, 25), None),),
    )
    job, _ = planned(
        JobSpec("holidays", [step("a", "SELECT 1")], [holidays]), PlanOptions(guards=False)
    )
    assert codes(job)["SCHED_EXCEPTIONS_NOT_REPRESENTABLE"] is Severity.WARNING
    assert job.status == "changed"
    db.execute(f"ALTER DATABASE {db_name} SET timezone = 'America/New_York'")
    try:
        job, plan = planned_live(
            JobSpec("ny", [step("a", "SELECT 1")], [DAILY_0230]), PlanOptions(guards=False)
        )
    finally:
        db.execute(f"ALTER DATABASE {db_name} RESET timezone")
    assert plan.agent_timezone == "America/New_York"  # read from the database's setting
    assert codes(job)["SCHED_TZ_DST_MISMATCH"] is Severity.ERROR  # GMT target, DST source
    (cron,) = job.cron_jobs
    assert cron.schedule in ("30 7 * * *", "30 6 * * *")  # the zone's usual offset, shown anyway
    job, _ = planned(
        JobSpec("as role", [step("a", "SELECT 1")], [DAILY_0230]),
        PlanOptions(run_as="reporting"),
        target(applier="postgres"),
    )
    assert job.cron_jobs[0].username == "reporting"
    assert codes(job)["ROLE_NEEDS_SUPERUSER"] is Severity.WARNING


def test_library_entry_point(db: Conn, db_dsn: str) -> None:
    import bridge

    create_job(db, JobSpec("lib", [step("a", "SELECT 1")], [DAILY_0230]))
    catalog = bridge.inventory(pgagent=db_dsn)
    result = bridge.plan(catalog, bridge.Target("1.6.7", "UTC", "postgres"), today=TODAY)
    assert [(j.job_name, j.status) for j in result.jobs] == [("lib", "exact")]
    offline = bridge.plan(pgagent=db_dsn, target_release="1.6.7", cron_timezone="UTC", today=TODAY)
    assert offline.jobs[0].cron_jobs == result.jobs[0].cron_jobs
    with pytest.raises(bridge.BridgeError, match="unknown pg_cron release"):
        bridge.plan(catalog, target_release="one")


def test_sql_script_for_pg_cron_before_1_4_creates_inactive_jobs(
    db: Conn, db_dsn: str, pg_server: TestServer, cron_db: Conn, cron_dsn: str
) -> None:
    # 1.3 has no alter_job: the script keeps the new id in a psql variable and switches the job
    # off with DML. The same SQL runs on the 1.4 server here.
    create_job(
        db,
        JobSpec(
            "old target", [step("a", "SELECT 5", dbname=pg_server.cron_database)], [DAILY_0230],
            enabled=False,
        ),
    )  # fmt: skip
    plan = make_plan(
        read_catalog(db_dsn), Target("1.3.1", "GMT", pg_server.cron_database), today=TODAY
    )
    script = plan_sql(plan)
    assert "\\gset" in script and "SELECT cron.alter_job" not in script
    proc = run_psql(cron_dsn, script=script, stop_on_error=True)
    assert proc.returncode == 0, proc.stderr
    row = cron_db.execute(
        "SELECT schedule, command, active FROM cron.job WHERE jobname LIKE 'pgagent-%-old-target'"
    ).fetchone()
    assert row == ("30 2 * * *", "SELECT 5", False)


@pytest.mark.parametrize(
    ("first", "second", "leak"),
    [
        (
            "SELECT set_config('app.mark', 'leaked', false)",
            "INSERT INTO log SELECT current_setting('app.mark', true)",
            "set_config",
        ),
        (
            "SET app.mark = leaked",
            "INSERT INTO log SELECT current_setting('app.mark', true)",
            "SET",
        ),
        (
            "CREATE TEMP TABLE stage AS SELECT 'leaked'::text AS v",
            "INSERT INTO log SELECT v FROM pg_temp.stage",
            "temporary",
        ),
        (
            "PREPARE q AS SELECT 'leaked'::text",
            "CREATE TEMP TABLE x ON COMMIT DROP AS EXECUTE q; INSERT INTO log SELECT * FROM x",
            "PREPARE",
        ),
        (
            "SELECT pg_advisory_lock(7)",
            "INSERT INTO log SELECT 'leaked' FROM pg_locks WHERE locktype = 'advisory' "
            "AND objid = 7 AND pid = pg_backend_pid()",
            "advisory lock",
        ),
    ],
)
def test_wrapped_steps_that_leak_session_state_are_changed(
    db: Conn, db_dsn: str, db_name: str, first: str, second: str, leak: str
) -> None:
    """What step 1 leaves in the session really reaches step 2 inside the wrapper (pgAgent gives
    each step its own session), so the plan says which step leaks what."""
    db.execute("CREATE TABLE log (v text)")
    steps = [step("1 prepare", first, dbname=db_name), step("2 use", second, dbname=db_name)]
    create_job(db, JobSpec("leaky", steps, [DAILY_0230]))
    plan = make_plan(read_catalog(db_dsn), target(), today=TODAY)
    (job,) = plan.jobs
    assert job.status == "changed"
    (finding,) = [f for f in job.findings if f.code == "STEPS_SHARE_SESSION"]
    assert finding.severity is Severity.WARNING and finding.step_id is not None
    assert "'1 prepare'" in finding.message and leak in finding.message
    assert "--split-steps" in finding.remedy
    (cron,) = job.cron_jobs
    proc = run_psql(db_dsn, command=cron.command)
    assert proc.returncode == 0, proc.stderr
    assert [r[0] for r in db.execute("SELECT v FROM log")] == ["leaked"]


def test_transaction_local_changes_do_not_leak(planned: Planner) -> None:
    steps = [
        step("a", "SET LOCAL work_mem = '1MB'; SELECT set_config('a.b', 'x', true)"),
        step("b", "CREATE TEMP TABLE t (x int) ON COMMIT DROP; SELECT pg_advisory_xact_lock(1)"),
        step("c", "SET search_path = x"),  # the last step: nothing follows it in the session
    ]
    job, _ = planned(JobSpec("tidy", steps, [DAILY_0230]))
    assert job.status == "exact" and "STEPS_SHARE_SESSION" not in codes(job)


def test_set_transaction_in_a_wrapper_fails_every_run(db: Conn, db_dsn: str, db_name: str) -> None:
    """Why such a step cannot be combined: the server rejects it inside the wrapper."""
    from bridge.model import OnError, Step, StepKind
    from bridge.planner.wrapper import wrap

    steps = [
        Step(i, 1, str(i), "", True, StepKind.SQL, code, "", db_name, OnError.FAIL)
        for i, code in enumerate(["SELECT 1", "SET TRANSACTION ISOLATION LEVEL SERIALIZABLE"])
    ]
    proc = run_psql(db_dsn, command=wrap(steps))
    assert proc.returncode != 0 and "must be called before any query" in proc.stderr


MONDAY_0900 = ScheduleSpec("mondays", minutes=fs({0}), hours=fs({9}), weekdays=fs({1}))
FIRST_0900 = ScheduleSpec("firsts", minutes=fs({0, 30}), hours=fs({9}), monthdays=fs({1}))


@pytest.mark.parametrize(
    ("schedules", "meet"),
    [
        ([MONDAY_0900, FIRST_0900], True),  # a Monday the 1st at 09:00
        ([MONDAY_0900, dataclasses.replace(FIRST_0900, enabled=False)], False),  # disabled
        ([MONDAY_0900, dataclasses.replace(FIRST_0900, minutes=fs({30}))], False),  # 09:30 only
    ],
)
def test_several_pg_cron_jobs_are_a_finding_only_where_they_meet(
    planned: Planner, schedules: list[ScheduleSpec], meet: bool
) -> None:
    job, _ = planned(JobSpec("meet", [step("a", "SELECT 1")], schedules))
    assert len(job.cron_jobs) == 2
    found = [f for f in job.findings if f.code == "JOB_SEVERAL_CRON_JOBS"]
    if not meet:
        assert found == [] and job.status == "exact"
        return
    (finding,) = found
    day = next(
        TODAY + dt.timedelta(days=n)
        for n in range(1, 4000)
        if (TODAY + dt.timedelta(days=n)).day == 1
        and (TODAY + dt.timedelta(days=n)).isoweekday() == 1
    )
    assert f"first at {day:%Y-%m-%d} 09:00 UTC" in finding.message
    assert finding.severity is Severity.WARNING and job.status == "changed"


@pytest.mark.parametrize(
    ("schedule", "gap"),
    [
        (ScheduleSpec("5 min", minutes=fs(range(0, 60, 5))), 5),
        (ScheduleSpec("hourly", minutes=fs({15})), 60),
        (ScheduleSpec("two", minutes=fs({50}), hours=fs({1})), None),
        (ScheduleSpec("midnight", minutes=fs({59, 0}), hours=fs({23, 0})), 1),
        (DAILY_0230, None),
    ],
)
def test_frequent_jobs_say_runs_can_queue(
    planned: Planner, schedule: ScheduleSpec, gap: int | None
) -> None:
    job, _ = planned(JobSpec("often", [step("a", "SELECT 1")], [schedule]))
    found = [f for f in job.findings if f.code == "JOB_RUNS_CAN_QUEUE"]
    if gap is None:
        assert found == []
        return
    (finding,) = found
    assert f"as little as {gap} minute(s) apart" in finding.message
    assert finding.severity is Severity.INFO


def test_role_finding_knows_whether_the_applier_is_a_superuser(
    db: Conn, db_dsn: str, cron_dsn: str
) -> None:
    from bridge.planner.target import target_from

    create_job(db, JobSpec("as role", [step("a", "SELECT 1")], [DAILY_0230]))
    catalog = read_catalog(db_dsn, cron_dsn)
    assert catalog.pgcron is not None and catalog.pgcron.reader_superuser  # the test server's
    options = PlanOptions(run_as="reporting")
    live = make_plan(catalog, target_from(catalog.pgcron, applier=catalog.pgcron.reader), options)
    (job,) = live.jobs
    assert "ROLE_NEEDS_SUPERUSER" not in codes(job) and codes(job)["ROLE_RUN_AS"] is Severity.INFO
    assert "is a superuser" in next(f.message for f in job.findings if f.code == "ROLE_RUN_AS")
    offline = make_plan(catalog, target(applier="someone"), options)
    assert codes(offline.jobs[0])["ROLE_NEEDS_SUPERUSER"] is Severity.WARNING


@pytest.mark.parametrize(
    "schedules",
    [
        [],
        [ScheduleSpec("old", end="2025-01-01 00:00:00+00", minutes=fs({1}))],
        [dataclasses.replace(DAILY_0230, enabled=False)],
    ],
)
def test_a_skipped_job_always_says_why(planned: Planner, schedules: list[ScheduleSpec]) -> None:
    job, plan = planned(
        JobSpec("idle", [step("a", "SELECT 1")], schedules),
        PlanOptions(disabled="skip"),
    )
    assert job.status == "skipped" and job.cron_jobs == ()
    assert "JOB_NOT_SCHEDULED" in codes(job)
    assert "None" not in plan_text(plan)


def test_reports_never_show_python_none(planned: Planner) -> None:
    odd = ScheduleSpec(
        "odd",
        start="2024-01-01 00:00:00+00",
        end="2031-06-01 00:00:00+00",
        minutes=fs({30}),
        hours=fs({1}),
        exceptions=((dt.date(2030, 12, 25), None), (None, dt.time(1, 30))),
    )
    job, plan = planned(
        JobSpec("odd", [step("a", "SELECT 1"), step("b", "SET x.y = 1")], [odd]),
        tgt=Target(release="1.6.8", timezone="America/New_York", database="postgres"),
    )
    text = plan_text(plan) + plan_markdown(plan)
    assert job.findings and "None" not in text and "-inf" not in text and "+inf" not in text


def test_pg_cron_on_another_server_is_said(db: Conn, db_dsn: str, cron_dsn: str) -> None:
    from bridge.model import Server

    create_job(db, JobSpec("j", [step("a", "SELECT 1")], [DAILY_0230]))
    catalog = read_catalog(db_dsn, cron_dsn)
    assert catalog.pgagent is not None and catalog.pgcron is not None
    here = catalog.pgagent.server
    assert here is not None and here.system_identifier and "app" in here.databases
    same = make_plan(catalog, target(), today=TODAY)
    assert "TARGET_OTHER_SERVER" not in {f.code for f in same.findings}
    other = Server(here.host, here.port, "1", here.databases)
    moved = dataclasses.replace(catalog, pgcron=dataclasses.replace(catalog.pgcron, server=other))
    plan = make_plan(moved, target(), today=TODAY)
    assert {f.code: f.severity for f in plan.findings}["TARGET_OTHER_SERVER"] is Severity.WARNING
