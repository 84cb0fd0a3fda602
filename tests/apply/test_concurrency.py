"""Concurrency and production settings: simultaneous runs, session timeouts, a quiet ledger."""

from __future__ import annotations

import datetime as dt
import importlib
import threading
from collections.abc import Iterator

import psycopg
import pytest
from psycopg import sql

from bridge.api import migrate
from bridge.apply.session import LOCK_KEY
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.exporter.translate import ExportResult
from bridge.exporter.writer import export
from tests.catalogs import Conn
from tests.commands import run
from tests.fix_db import TestServer

TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def clean_ledger(cron_db: Conn) -> Iterator[None]:
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
    yield
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")


def test_concurrent_exports_never_duplicate(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, clean_ledger: None
) -> None:
    names = [f"pgbridge-race-{n}" for n in range(4)]
    for name in names:
        cron_db.execute(
            "SELECT cron.schedule_in_database(%s, '*/5 * * * *', 'SELECT 1', %s)", [name, db_name]
        )

    def one(start: threading.Barrier, results: list[ExportResult | BaseException]) -> None:
        start.wait()
        try:
            results.append(export(cron_dsn, pgagent=db_dsn, apply=True, select=tuple(names)))
        except BaseException as exc:  # reported below, in the test's thread
            results.append(exc)

    for _ in range(6):
        start = threading.Barrier(2)
        results: list[ExportResult | BaseException] = []
        threads = [threading.Thread(target=one, args=(start, results)) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(results) == 2 and all(isinstance(r, ExportResult) for r in results), results
        rows = db.execute(
            "SELECT jobname, count(*) FROM pgagent.pga_job GROUP BY jobname ORDER BY jobname"
        ).fetchall()
        assert rows == [(name, 1) for name in names]


def ledger_rows(cron_db: Conn) -> dict[tuple[str, ...], tuple[str, object]]:
    """Every ledger row by key, with the transaction that last wrote it and its updated_at."""
    rows = cron_db.execute(
        "SELECT 'job', jobname, xmin::text, updated_at FROM pgbridge.cron_jobs UNION ALL "
        "SELECT 'source', pgagent_job_id::text, xmin::text, updated_at FROM pgbridge.pgagent_jobs"
    ).fetchall()
    return {(str(r[0]), str(r[1])): (str(r[2]), r[3]) for r in rows}


def test_a_noop_migration_touches_no_ledger_row(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, clean_ledger: None
) -> None:
    ids = [
        create_job(
            db,
            JobSpec(
                name,
                [StepSpec("a", f"SELECT {n}", dbname=db_name)],
                [ScheduleSpec("d", minutes=frozenset({n}), hours=frozenset({3}))],
            ),
        )
        for n, name in enumerate(["one", "two", "three"])
    ]
    first = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert first.count("create") == 3
    before = ledger_rows(cron_db)
    assert len(before) == 6
    again = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert again.count("unchanged") == 3 and again.count("create") == again.count("update") == 0
    assert ledger_rows(cron_db) == before
    # a real change touches exactly the rows it changes: that job's pg_cron job and definition
    db.execute(
        "UPDATE pgagent.pga_schedule SET jscminutes[1] = false, jscminutes[2] = true "
        "WHERE jscjobid = %s",
        [ids[0]],
    )
    assert migrate(db_dsn, cron_dsn, apply=True, today=TODAY).count("update") == 1
    after = ledger_rows(cron_db)
    touched = {k for k in after if after[k] != before[k]}
    (name,) = {c.cron_job for c in first.changes if c.pgagent_job_id == ids[0] and c.cron_job}
    assert touched == {("job", name), ("source", str(ids[0]))}


@pytest.fixture
def short_idle_timeout(pg_server: TestServer, db_name: str) -> Iterator[None]:
    """idle_in_transaction_session_timeout of 2 s for the test's role on both databases."""
    with pg_server.connect("postgres") as conn:
        role = conn.execute("SELECT current_user").fetchone()
        assert role is not None
        for database in {db_name, pg_server.cron_database}:
            conn.execute(
                sql.SQL(
                    "ALTER ROLE {} IN DATABASE {} SET idle_in_transaction_session_timeout = '2s'"
                ).format(sql.Identifier(str(role[0])), sql.Identifier(database))
            )
        try:
            yield
        finally:
            for database in {db_name, pg_server.cron_database}:
                conn.execute(
                    sql.SQL(
                        "ALTER ROLE {} IN DATABASE {} RESET idle_in_transaction_session_timeout"
                    ).format(sql.Identifier(str(role[0])), sql.Identifier(database))
                )


def test_cross_database_switch_waits_busy_under_idle_timeout(
    db: Conn,
    db_name: str,
    db_dsn: str,
    cron_dsn: str,
    cron_db: Conn,
    clean_ledger: None,
    short_idle_timeout: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    job = create_job(
        db,
        JobSpec(
            "switch",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("d", minutes=frozenset({7}))],
        ),
    )
    with psycopg.connect(db_dsn) as fresh:  # a new session: the role's setting is in force
        row = fresh.execute("SHOW idle_in_transaction_session_timeout").fetchone()
        assert row is not None and row[0] == "2s"
        now = fresh.execute("SELECT extract(second FROM clock_timestamp())").fetchone()
        assert now is not None
    # a window that opens 6 s from now: the switch must wait in its open transaction
    low = (float(now[0]) + 6.0) % 60.0
    module = importlib.import_module("bridge.apply.switch")
    monkeypatch.setattr(module, "QUIET_WINDOW", (low, (low + 8.0) % 60.0))
    said: list[str] = []
    result = migrate(db_dsn, cron_dsn, apply=True, today=TODAY, progress=said.append)
    assert result.count("create") == 1 and result.count("disable-pgagent") == 1
    assert any("waiting" in m and "second" in m for m in said), said
    enabled = db.execute("SELECT jobenabled FROM pgagent.pga_job WHERE jobid = %s", [job])
    assert enabled.fetchone() == (False,)


def test_the_cli_says_what_it_waits_for(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, pg_server: TestServer, clean_ledger: None
) -> None:
    create_job(
        db,
        JobSpec(
            "waiter",
            [StepSpec("a", "SELECT 1", dbname=db_name)],
            [ScheduleSpec("d", minutes=frozenset({9}))],
        ),
    )
    with pg_server.connect(pg_server.cron_database) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        proc = run("migrate", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--apply",
                   "--wait-lock", "1.5")  # fmt: skip
    assert proc.returncode == 2
    assert "pgbridge: waiting up to 1.5 s for another pgbridge run to finish" in proc.stderr
    assert "another pgbridge run is migrating" in proc.stderr
