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
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
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
            conn.execute("CREATE EXTENSION pg_cron VERSION '1.3'")
            conn.execute(f"CREATE DATABASE {AGENT_DB}")
        with psycopg.connect(cluster.dsn(AGENT_DB), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pgagent")
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture
def agent(old_sql: LocalCluster) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """pgAgent's catalog, empty, and pg_cron without jobs or ledger, for each test."""
    with psycopg.connect(old_sql.dsn("postgres"), autocommit=True) as cron:
        cron.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
        cron.execute("DELETE FROM cron.job")
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


def _enabled(conn: psycopg.Connection[tuple[object, ...]]) -> list[object]:
    return [r[0] for r in conn.execute("SELECT jobenabled FROM pgagent.pga_job ORDER BY jobid")]


def test_the_cluster_has_a_newer_binary_than_its_sql(old_sql: LocalCluster) -> None:
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
    assert len(outdated) == 1 and outdated[0].severity is Severity.WARNING
    assert "1.3" in outdated[0].message and "ALTER EXTENSION pg_cron UPDATE" in outdated[0].remedy
    by_name = {j.name: j for j in result.jobs}
    codes = {f.code: f for f in by_name["elsewhere"].findings}
    assert codes["TARGET_NO_SCHEDULE_IN_DATABASE"].severity is Severity.ERROR
    assert "1.3" in codes["TARGET_NO_SCHEDULE_IN_DATABASE"].message
    assert "TARGET_NO_SCHEDULE_IN_DATABASE" not in {f.code for f in by_name["here"].findings}
    sql = run(
        "plan", "--pgagent", old_sql.dsn(AGENT_DB), "--pgcron", old_sql.dsn("postgres"),
        "--format", "sql",
    )  # fmt: skip
    assert sql.returncode in (0, 1), sql.stderr
    assert "cron.alter_job" not in sql.stdout
    assert "cron.schedule_in_database" not in sql.stdout
    assert "cron.schedule(" in sql.stdout  # the job in pg_cron's database is still planned


def test_migrate_and_rollback_run_the_pre_14_path_live(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Issue 16 noted the DML batches for pg_cron < 1.4 were never run live: here they are."""
    _job(agent, "here", "postgres")
    _job(agent, "paused", "postgres")
    agent.execute("UPDATE pgagent.pga_job SET jobenabled = false WHERE jobname = 'paused'")
    agent_dsn, cron_dsn = old_sql.dsn(AGENT_DB), old_sql.dsn("postgres")
    done = migrate(agent_dsn, cron_dsn, apply=True)
    assert done.count("create") == 2
    rows = _cron_jobs(old_sql)
    assert [(r[1], r[2], r[3], r[4]) for r in rows] == [
        ("30 2 * * *", "SELECT 1", "postgres", True),
        ("30 2 * * *", "SELECT 1", "postgres", False),  # switched off by UPDATE cron.job
    ]
    assert _enabled(agent) == [False, False]
    again = migrate(agent_dsn, cron_dsn, apply=True)
    assert again.count("create") == 0 and _cron_jobs(old_sql) == rows
    # a changed schedule is altered in place by UPDATE cron.job (no cron.alter_job in SQL 1.3)
    agent.execute("UPDATE pgagent.pga_schedule SET jscminutes[31] = false, jscminutes[46] = true")
    changed = migrate(agent_dsn, cron_dsn, apply=True)
    assert changed.count("update") == 2
    after = _cron_jobs(old_sql)
    assert [(r[0], r[1]) for r in after] == [(r[0], "45 2 * * *") for r in rows]
    undone = rollback(agent_dsn, cron_dsn)
    assert undone.changes
    assert _cron_jobs(old_sql) == []
    assert _enabled(agent) == [True, False]


def test_migrate_refuses_a_job_in_another_database_with_the_reason(
    old_sql: LocalCluster, agent: psycopg.Connection[tuple[object, ...]]
) -> None:
    """Not "missing EXECUTE on cron.alter_job": the plan's finding says what is wrong."""
    _job(agent, "elsewhere", AGENT_DB)
    out = run(
        "migrate", "--pgagent", old_sql.dsn(AGENT_DB), "--pgcron", old_sql.dsn("postgres"),
        "--apply",
    )  # fmt: skip
    text = out.stdout + out.stderr
    assert out.returncode != 0
    assert "Traceback" not in text
    assert "cron.alter_job" not in text
    assert "TARGET_NO_SCHEDULE_IN_DATABASE" in text
    assert "TARGET_EXTENSION_OUTDATED" in text
    assert _cron_jobs(old_sql) == []
