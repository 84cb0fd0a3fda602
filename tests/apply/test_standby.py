"""Read-only means read-only: every command that does not write runs on a real hot standby.

The standby streams from the session's server (``pg_basebackup -R`` into a second data directory on
another loopback port), built once for this module. A command that opened a READ WRITE transaction
would fail there with "cannot set transaction read-write mode during recovery".
"""

from __future__ import annotations

import time
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import conninfo as ci

from bridge.api import migrate
from bridge.devtools.cluster import LocalCluster
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import HarnessError
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.pg.connect import connect, reading
from bridge.pg.snapshots import twin
from tests.catalogs import Conn, build_catalog
from tests.commands import run
from tests.fix_db import TestServer


@pytest.fixture(scope="module")
def standby(pg_default_server: TestServer) -> Iterator[LocalCluster]:
    """A streaming hot standby of the test server (pg_cron preloaded there too)."""
    pg_server = pg_default_server
    cluster = LocalCluster(primary=pg_server.base_dsn)
    try:
        cluster.start()
    except HarnessError as exc:
        if pg_server.kind == "local":
            raise
        pytest.skip(f"cannot stream a standby from {pg_server.kind}: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def on_standby(pg_server: TestServer, standby: LocalCluster, dbname: str) -> str:
    params = ci.conninfo_to_dict(pg_server.dsn(dbname))
    return ci.make_conninfo("", **{**params, "host": "127.0.0.1", "port": str(standby.port)})


def standby_conn(pg_server: TestServer, standby: LocalCluster) -> Conn:
    return psycopg.connect(on_standby(pg_server, standby, "postgres"), autocommit=True)


def caught_up(pg_server: TestServer, standby: LocalCluster) -> None:
    """Wait until the standby has replayed everything the primary wrote so far."""
    with pg_server.connect("postgres") as primary:
        row = primary.execute("SELECT pg_current_wal_insert_lsn()").fetchone()
        assert row is not None
    with standby_conn(pg_server, standby) as conn:
        deadline = time.monotonic() + 60
        while True:
            got = conn.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [row[0]])
            done = got.fetchone()
            if done and done[0]:
                return
            assert time.monotonic() < deadline, "the standby did not catch up in 60 s"
            time.sleep(0.1)


@pytest.fixture
def migrated(db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn) -> Iterator[None]:
    """A catalog with migrated jobs (so a ledger exists) on the primary."""
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
    build_catalog(db)
    create_job(
        db,
        JobSpec(
            "nightly",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("d", minutes=frozenset({30}), hours=frozenset({2}))],
        ),
    )
    assert migrate(db_dsn, cron_dsn, apply=True).count("create") == 1
    yield
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")


def test_reading_commands_run_on_a_hot_standby(
    pg_server: TestServer, standby: LocalCluster, db_name: str, migrated: None
) -> None:
    caught_up(pg_server, standby)
    with standby_conn(pg_server, standby) as conn:
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        assert row is not None and row[0] is True
    agent = on_standby(pg_server, standby, db_name)
    cron = on_standby(pg_server, standby, pg_server.cron_database)
    both = ("--pgagent", agent, "--pgcron", cron)
    for args in (
        ("inventory", *both),
        ("plan", *both, "--fail-on", "never"),
        ("snapshot", *both, "-o", "-"),
        ("export", "--pgcron", cron, "--pgagent", agent),
        ("migrate", *both),
        ("verify", *both),
    ):
        proc = run(*args)
        assert proc.returncode == 0, (args[0], proc.stderr)
        assert proc.stderr == "", (args[0], proc.stderr)
    # the run log is read on two sessions sharing a snapshot there too (PostgreSQL 10 and later)
    with reading(agent) as conn, twin(conn, lambda: connect(agent, read_only=True)) as other:
        assert other is not None
    writes = run("migrate", *both, "--apply")
    assert writes.returncode == 2
    assert "hot standby" in writes.stderr and "primary" in writes.stderr
    assert len(writes.stderr.strip().splitlines()) == 1
