"""A pg_cron binary newer than its extension's SQL version (issue 16 follow-up).

``CREATE EXTENSION pg_cron VERSION '1.3'`` on a 1.4+ package (or an extension never updated after
the package was) leaves the binary's settings but not its SQL API: no cron.alter_job, no
cron.schedule_in_database (pg_cron--1.3--1.4.sql brings both). Plans must call only what the
catalog has, say so, and the pre-1.4 path (DML on cron.job) then runs live.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest

from bridge.api import migrate, plan, rollback
from bridge.devtools.cluster import LocalCluster
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import CatalogNotFound, ExtensionOutdated
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
from bridge.planner.types import PlanOptions
from bridge.schedule.versions import parse_release
from tests.commands import run

AGENT_DB = "agentdb"


@pytest.fixture(scope="module")
def old_sql() -> Iterator[LocalCluster]:
    """A private cluster whose pg_cron extension is created at SQL version 1.3."""
    cluster = LocalCluster().start()
    try:
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
            offered = {
                str(r[0])
                for r in conn.execute(
                    "SELECT version FROM pg_available_extension_versions WHERE name = 'pg_cron'"
                )
            }
            if "1.3" not in offered:
                pytest.skip(f"the installed pg_cron offers no SQL version 1.3 ({offered})")
            conn.execute(f"CREATE DATABASE {AGENT_DB}")
        with psycopg.connect(cluster.dsn(AGENT_DB), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pgagent")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def agent(old_sql: LocalCluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """pgAgent's catalog, empty, and pg_cron created afresh at SQL 1.3, for each test."""
    with psycopg.connect(old_sql.dsn("postgres"), autocommit=True) as cron:
        cron.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
        cron.execute("DROP EXTENSION IF EXISTS pg_cron")
        cron.execute("CREATE EXTENSION pg_cron VERSION '1.3'")
    with psycopg.connect(old_sql.dsn(AGENT_DB), autocommit=True) as conn:
        conn.execute("DELETE FROM pgagent.pga_job")
        yield conn


def _job(conn: psycopg.Connection[tuple[object, ...]], name: str, dbname: str) -> int:
    return create_job(
        conn,
        JobSpec(
            name,
            [StepSpec("a", "SELECT 1", dbname=dbname)],
            [ScheduleSpec("d", minutes=frozenset({30}), hours=frozenset({2}))],
        ),
    )


def _cron_jobs(cluster: LocalCluster) -> list[tuple[object, ...]]:
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        return conn.execute(
            "SELECT jobname, schedule, command, database, active FROM cron.job ORDER BY jobid"
        ).fetchall()


def _jobids(cluster: LocalCluster) -> list[object]:
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        return [r[0] for r in conn.execute("SELECT jobid FROM cron.job ORDER BY jobid")]


def _enabled(conn: psycopg.Connection[tuple[object, ...]]) -> list[object]:
    return [r[0] for r in conn.execute("SELECT jobenabled FROM pgagent.pga_job ORDER BY jobid")]


def test_the_cluster_has_a_newer_binary_than_its_sql(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """The premise, read from the server: 1.4+ settings, SQL 1.3, no cron.alter_job."""
    with psycopg.connect(old_sql.dsn("postgres")) as conn:
        row = conn.execute(
            "SELECT extversion, to_regprocedure("
            "'cron.alter_job(bigint,text,text,text,text,boolean)') IS NULL, "
            "current_setting('cron.enable_superuser_jobs', true) IS NOT NULL "
            "FROM pg_extension WHERE extname = 'pg_cron'"
        ).fetchone()
    assert row == ("1.3", True, True)


def test_plan_calls_only_what_the_sql_version_has(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    _job(agent, "here", "postgres")
    _job(agent, "elsewhere", AGENT_DB)
    result = plan(pgagent=old_sql.dsn(AGENT_DB), pgcron=old_sql.dsn("postgres"))
    assert parse_release(result.target.release) >= (1, 4, 0)  # the binary, from its settings
    outdated = [f for f in result.findings if f.code == "TARGET_EXTENSION_OUTDATED"]
    assert len(outdated) == 1 and outdated[0].severity is Severity.ERROR
    assert "1.3" in outdated[0].message and "ALTER EXTENSION pg_cron UPDATE" in outdated[0].remedy
    by_name = {j.job_name: j for j in result.jobs}
    codes = {f.code: f for f in by_name["elsewhere"].findings}
    assert codes["TARGET_NO_SCHEDULE_IN_DATABASE"].severity is Severity.ERROR
    assert "1.3" in codes["TARGET_NO_SCHEDULE_IN_DATABASE"].message
    assert "TARGET_NO_SCHEDULE_IN_DATABASE" not in {f.code for f in by_name["here"].findings}
    sql = run(
        "plan", "--pgagent", old_sql.dsn(AGENT_DB), "--pgcron", old_sql.dsn("postgres"),
        "--format", "sql",
    )  # fmt: skip
    assert sql.returncode in (0, 1), sql.stderr
    assert "cron.alter_job(" not in sql.stdout
    assert "cron.schedule_in_database(" not in sql.stdout
    assert "cron.schedule(" not in sql.stdout  # its named form would crash the server
    assert "nothing is created" in sql.stdout and "TARGET_EXTENSION_OUTDATED" in sql.stdout


def _started(cluster: LocalCluster) -> object:
    with psycopg.connect(cluster.dsn("postgres")) as conn:
        row = conn.execute("SELECT pg_postmaster_start_time()").fetchone()
    assert row is not None
    return row[0]


def test_the_named_schedule_of_sql_13_would_crash_the_library(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Why nothing may be migrated: the 1.4 library's cron_schedule_named reads a text job name,
    SQL 1.3 declares it ``name`` (pg_cron--1.3--1.4.sql fixes the signature)."""
    with psycopg.connect(old_sql.dsn("postgres")) as conn:
        sigs = {
            str(r[0])
            for r in conn.execute(
                "SELECT p.oid::regprocedure::text FROM pg_proc p "
                "WHERE p.pronamespace = 'cron'::regnamespace AND p.proname = 'schedule'"
            )
        }
    assert "cron.schedule(name,text,text)" in sigs
    assert "cron.schedule(text,text,text)" not in sigs


def test_migrate_refuses_before_writing_and_works_after_the_update(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Not "missing EXECUTE on cron.alter_job", and no crash: one line naming the remedy."""
    _job(agent, "here", "postgres")
    _job(agent, "elsewhere", AGENT_DB)
    agent_dsn, cron_dsn = old_sql.dsn(AGENT_DB), old_sql.dsn("postgres")
    up_since = _started(old_sql)
    out = run("migrate", "--pgagent", agent_dsn, "--pgcron", cron_dsn, "--apply")
    text = out.stdout + out.stderr
    assert out.returncode == 2, text
    assert "Traceback" not in text and "cron.alter_job" not in text.replace("no cron.alter_job", "")
    assert "SQL version 1.3" in text and "ALTER EXTENSION pg_cron UPDATE" in text
    assert _started(old_sql) == up_since  # the server did not restart
    assert _cron_jobs(old_sql) == []
    assert _enabled(agent) == [True, True]
    # the library raises its own class: pg_cron is found, its SQL version is the problem
    with pytest.raises(ExtensionOutdated, match="ALTER EXTENSION pg_cron UPDATE") as raised:
        migrate(agent_dsn, cron_dsn, apply=True)
    assert not isinstance(raised.value, CatalogNotFound) and raised.value.exit_code == 2
    # a declared release does not bypass the refusal: preflight judges what it reads
    declared = run(
        "migrate", "--pgagent", agent_dsn, "--pgcron", cron_dsn, "--apply",
        "--target-pg-cron", "1.3.1",
    )  # fmt: skip
    assert declared.returncode == 2 and "ALTER EXTENSION pg_cron UPDATE" in declared.stderr
    assert len(declared.stderr.strip().splitlines()) == 1
    with pytest.raises(ExtensionOutdated):
        migrate(agent_dsn, cron_dsn, apply=True, target_release="1.3.1")
    assert _started(old_sql) == up_since and _cron_jobs(old_sql) == []
    with psycopg.connect(cron_dsn, autocommit=True) as conn:
        conn.execute("ALTER EXTENSION pg_cron UPDATE")
    result = plan(pgagent=agent_dsn, pgcron=cron_dsn)
    assert "TARGET_EXTENSION_OUTDATED" not in {f.code for f in result.all_findings()}
    done = migrate(agent_dsn, cron_dsn, apply=True)
    assert done.count("create") == 2
    assert sorted((r[3], r[4]) for r in _cron_jobs(old_sql)) == [
        (AGENT_DB, True),
        ("postgres", True),
    ]
    assert _enabled(agent) == [False, False]
    assert rollback(agent_dsn, cron_dsn).changes
    assert _cron_jobs(old_sql) == [] and _enabled(agent) == [True, True]


def test_the_pre_14_batches_run_live_with_a_declared_release(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Issue 16 noted the DML batches for pg_cron < 1.4 (UPDATE cron.job for activity and
    changes, no cron.alter_job) were never run live: on the updated extension, declared 1.3.1."""
    with psycopg.connect(old_sql.dsn("postgres"), autocommit=True) as conn:
        conn.execute("ALTER EXTENSION pg_cron UPDATE")
    _job(agent, "here", "postgres")
    _job(agent, "paused", "postgres")
    agent.execute("UPDATE pgagent.pga_job SET jobenabled = false WHERE jobname = 'paused'")
    agent_dsn, cron_dsn = old_sql.dsn(AGENT_DB), old_sql.dsn("postgres")
    options = PlanOptions(disabled="inactive")
    dry = migrate(agent_dsn, cron_dsn, target_release="1.3.1", options=options)
    assert dry.plan is not None and not dry.plan.target.has_function("cron.alter_job")
    done = migrate(agent_dsn, cron_dsn, apply=True, target_release="1.3.1", options=options)
    assert done.count("create") == 2
    rows = _cron_jobs(old_sql)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("30 2 * * *", "SELECT 1", "postgres", True),
        ("30 2 * * *", "SELECT 1", "postgres", False),  # switched off by UPDATE cron.job
    ]
    assert _enabled(agent) == [False, False]
    again = migrate(agent_dsn, cron_dsn, apply=True, target_release="1.3.1", options=options)
    assert again.count("create") == 0 and again.count("update") == 0
    assert _cron_jobs(old_sql) == rows
    ids = _jobids(old_sql)
    # a changed schedule is changed in place by UPDATE cron.job (same jobid, same name)
    agent.execute("UPDATE pgagent.pga_schedule SET jscminutes[31] = false, jscminutes[46] = true")
    changed = migrate(agent_dsn, cron_dsn, apply=True, target_release="1.3.1", options=options)
    assert changed.count("update") == 2
    assert [(r[0], r[1], r[4]) for r in _cron_jobs(old_sql)] == [
        (r[0], "45 2 * * *", r[4]) for r in rows
    ]
    assert _jobids(old_sql) == ids
    assert rollback(agent_dsn, cron_dsn).changes
    assert _cron_jobs(old_sql) == []
    assert _enabled(agent) == [True, False]
