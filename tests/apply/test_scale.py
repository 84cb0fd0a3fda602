"""Apply at scale: a constant number of statements per phase, whatever the number of jobs."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
import pytest

from bridge.api import activate, migrate, rollback, verify
from bridge.apply import ledger
from bridge.apply.batch import CallFailed, run_calls
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.calls import Call

from ..catalogs import Conn

TODAY = dt.date(2026, 11, 21)


@contextmanager
def counting() -> Iterator[list[int]]:
    """Statements sent through any psycopg cursor (an executemany counts one per row)."""
    sent = [0]
    execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

    def one(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        if "clock_timestamp()" not in str(query) and "pg_sleep" not in str(query):
            sent[0] += 1  # the quiet-minute wait's clock reads depend on the time, not the jobs
        return execute(self, query, *args, **kwargs)

    def many(self: psycopg.Cursor[Any], query: Any, params: Any, **kwargs: Any) -> Any:
        params = list(params)
        sent[0] += len(params)
        return executemany(self, query, params, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(psycopg.Cursor, "execute", one)
        mp.setattr(psycopg.Cursor, "executemany", many)
        yield sent


def add_jobs(db: Conn, db_name: str, first: int, count: int) -> list[int]:
    return [
        create_job(
            db,
            JobSpec(
                f"bulk {n}",
                [StepSpec("a", f"SELECT {n}", dbname=db_name)],
                [ScheduleSpec("d", minutes=frozenset({n % 60}), hours=frozenset({3}))],
            ),
        )
        for n in range(first, first + count)
    ]


def statements(db_dsn: str, cron_dsn: str) -> dict[str, int]:
    """Statements of each command over the whole catalog: apply, re-apply, verify, rollback,
    then cutover + activate."""
    steps: list[tuple[str, Callable[[], object]]] = [
        ("apply", lambda: migrate(db_dsn, cron_dsn, apply=True, today=TODAY)),
        ("re-apply", lambda: migrate(db_dsn, cron_dsn, apply=True, today=TODAY)),
        ("verify", lambda: verify(db_dsn, cron_dsn, today=TODAY)),
        ("rollback", lambda: rollback(db_dsn, cron_dsn)),
        ("cutover", lambda: migrate(db_dsn, cron_dsn, apply=True, cutover=True, today=TODAY)),
        ("activate", lambda: activate(db_dsn, cron_dsn)),
        ("rollback again", lambda: rollback(db_dsn, cron_dsn)),
    ]
    out = {}
    for name, step in steps:
        with counting() as sent:
            step()
        out[name] = sent[0]
    return out


def test_statements_do_not_grow_with_the_number_of_jobs(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    ledger.ensure(cron_db)  # both rounds find it (creating it is two statements more)
    add_jobs(db, db_name, 0, 3)
    few = statements(db_dsn, cron_dsn)
    add_jobs(db, db_name, 3, 27)
    many = statements(db_dsn, cron_dsn)
    assert many == few, (few, many)
    assert few["re-apply"] < few["apply"]  # nothing to write: no write statements at all


def versions(db: Conn, cron_db: Conn) -> list[Any]:
    """The transaction that last wrote each row pgbridge could touch, on both sides."""
    return [
        db.execute("SELECT jobid, xmin::text FROM pgagent.pga_job ORDER BY 1").fetchall(),
        *(
            cron_db.execute(query).fetchall()
            for query in (
                "SELECT jobid, xmin::text FROM cron.job ORDER BY 1",
                "SELECT jobname, xmin::text FROM pgbridge.cron_jobs ORDER BY 1",
                "SELECT pgagent_job_id, xmin::text FROM pgbridge.pgagent_jobs ORDER BY 1",
            )
        ),
    ]


def test_a_noop_rerun_writes_nothing_and_calls_no_pg_cron_function(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    add_jobs(db, db_name, 0, 5)
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    before = versions(db, cron_db)
    sent: list[str] = []
    execute = psycopg.Cursor.execute

    def spy(self: psycopg.Cursor[Any], query: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(str(query))
        return execute(self, query, *args, **kwargs)

    said: list[str] = []
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(psycopg.Cursor, "execute", spy)
        again = migrate(db_dsn, cron_dsn, apply=True, today=TODAY, progress=said.append)
    assert again.count("unchanged") == 5 and len(again.changes) == 5
    assert versions(db, cron_db) == before
    assert not [q for q in sent if q.lstrip().upper().startswith(("INSERT", "DELETE"))]
    assert not [q for q in sent if "cron.schedule" in q or "cron.alter_job" in q]
    assert said == []  # nothing to switch: no wait for the quiet minute


def test_a_batch_the_server_refuses_names_the_call(cron_db: Conn) -> None:
    double = [Call("(%s::bigint * 2)", (("int", n),)) for n in range(4)]
    cron_db.execute("BEGIN")
    try:
        mixed = [*double, Call("upper(%s)", (("text", "a"),)), *double[1:2]]
        assert run_calls(cron_db, mixed) == [0, 2, 4, 6, "A", 2]  # in order, across shapes
        assert run_calls(cron_db, []) == []
        with pytest.raises(CallFailed) as failed:
            run_calls(cron_db, [*double[:2], Call("(1 / %s)::bigint", (("int", 0),))])
        assert failed.value.index == 2
        assert isinstance(failed.value.error, psycopg.errors.DivisionByZero)
    finally:
        cron_db.execute("ROLLBACK")


def test_ledger_writes_of_many_rows_are_one_statement(cron_db: Conn, ledger_gone: None) -> None:
    cron_db.execute("BEGIN")
    try:
        ledger.ensure(cron_db)
        jobs = [
            ledger.LedgerJob(
                f"j{n}", "u", n, "src", n, (n, n + 1) if n % 2 else (), "* * * * *", "SELECT 1",
                "db", bool(n % 3),
            )
            for n in range(50)
        ]  # fmt: skip
        with counting() as sent:
            ledger.record_jobs(cron_db, jobs)
            ledger.record_jobs(cron_db, jobs)  # unchanged: nothing rewritten, still one query
        assert sent[0] == 3  # two upserts, and one look at the rows the second left alone
        read, _ = ledger.read(cron_db, "src")
        assert sorted(read, key=lambda j: j.jobid) == jobs
        with counting() as sent:
            ledger.forget_jobs(cron_db, [(j.jobname, j.username) for j in jobs[:10]])
        assert sent[0] == 1
        assert len(ledger.read(cron_db, "src")[0]) == 40
    finally:
        cron_db.execute("ROLLBACK")
