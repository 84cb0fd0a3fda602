"""Concurrency and production settings: simultaneous runs, session timeouts, a quiet ledger."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from bridge.reverse import ExportResult, export

from .catalogs import Conn


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
    for _ in range(6):
        start = threading.Barrier(2)
        results: list[ExportResult] = []
        errors: list[BaseException] = []

        def one() -> None:
            start.wait()
            try:
                results.append(export(cron_dsn, pgagent=db_dsn, apply=True, select=tuple(names)))
            except BaseException as exc:  # reported below, in the test's thread
                errors.append(exc)

        threads = [threading.Thread(target=one) for _ in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert errors == [] and len(results) == 2
        rows = db.execute(
            "SELECT jobname, count(*) FROM pgagent.pga_job GROUP BY jobname ORDER BY jobname"
        ).fetchall()
        assert rows == [(name, 1) for name in names]
