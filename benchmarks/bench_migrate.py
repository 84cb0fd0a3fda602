"""Benchmark: apply a 10,000-job migration, re-apply it, verify it, roll it back.

Run: ``.venv/bin/python benchmarks/bench_migrate.py [jobs]`` (default 10,000).

A throwaway cluster (``bridge.devtools.cluster``) gets a pgAgent catalog of ``jobs`` single-step
jobs in database ``bench`` (loaded with COPY, pgAgent's triggers on again afterwards); pg_cron is in
``postgres``, so every job is a ``cron.schedule_in_database`` call and the switch is the
cross-database one. Every schedule fires once a year, in a month other than the current one, so
pg_cron's launcher runs nothing while the benchmark measures.

Printed, in one run: the floor (one statement calling ``cron.schedule_in_database`` ``jobs`` times,
in a transaction), ``plan`` (read + plan), ``migrate --apply``, the same again with nothing to
change, ``verify`` and ``rollback``: each as a time, as a ratio to the floor and to the plan, and
with the number of statements it sent (every ``execute`` of a psycopg cursor, as
``bench_plan.py`` counts queries; an ``executemany`` counts one per parameter set). The apply
starts at second 6 of a server minute, so its quiet-minute switch never waits for the window (a
wait would measure the clock, not pgbridge). Targets on two cores: apply at most plan + 10x the
floor; re-apply, verify and rollback each at most 1.5x plan.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bridge import api
from bridge.devtools.cluster import local_cluster

T = TypeVar("T")
TODAY = dt.date.today()
#: The month no schedule fires in while the benchmark runs.
QUIET_MONTH = (TODAY.month + 5) % 12 + 1


class Counter:
    """Statements sent through any psycopg cursor while counting."""

    statements = 0

    @classmethod
    @contextmanager
    def installed(cls) -> Iterator[None]:
        execute, executemany = psycopg.Cursor.execute, psycopg.Cursor.executemany

        def counted(self: psycopg.Cursor[Any], *args: Any, **kwargs: Any) -> Any:
            cls.statements += 1
            return execute(self, *args, **kwargs)

        def counted_many(self: psycopg.Cursor[Any], query: Any, params: Any, **kw: Any) -> Any:
            params = list(params)
            cls.statements += len(params)
            return executemany(self, query, params, **kw)

        psycopg.Cursor.execute = counted  # type: ignore[method-assign]
        psycopg.Cursor.executemany = counted_many  # type: ignore[method-assign]
        try:
            yield
        finally:
            psycopg.Cursor.execute = execute  # type: ignore[method-assign]
            psycopg.Cursor.executemany = executemany  # type: ignore[method-assign]


def measure(what: Callable[[], T]) -> tuple[T, float, int]:
    """``what()``, its wall time and the statements it sent."""
    Counter.statements = 0
    t0 = time.perf_counter()
    result = what()
    return result, time.perf_counter() - t0, Counter.statements


def flags(selected: set[int], size: int, base: int) -> list[bool]:
    return [base + i in selected for i in range(size)]


def load(conn: psycopg.Connection[Any], jobs: int, seed: int = 16) -> None:
    """``jobs`` enabled single-step SQL jobs, one yearly schedule each."""
    rng = random.Random(seed)
    conn.execute("CREATE EXTENSION pgagent")
    conn.execute("CREATE TABLE counters (id int PRIMARY KEY, n bigint NOT NULL DEFAULT 0)")
    # Bulk load: pgAgent's triggers would compute every next run one by one.
    for table in ("pga_job", "pga_schedule"):
        conn.execute(f"ALTER TABLE pgagent.{table} DISABLE TRIGGER USER")
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY pgagent.pga_job (jobid, jobjclid, jobname, jobdesc, jobenabled) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                copy.write_row((j, 1 + j % 5, f"job {j}", "", True))
        with cur.copy(
            "COPY pgagent.pga_jobstep (jstid, jstjobid, jstname, jstkind, jstcode, jstdbname, "
            "jstonerror, jstenabled) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                code = f"UPDATE counters SET n = n + 1 WHERE id = {j}"
                copy.write_row((j, j, "step", "s", code, "bench", "f", True))
        with cur.copy(
            "COPY pgagent.pga_schedule (jscid, jscjobid, jscname, jscstart, jscminutes, jschours, "
            "jscweekdays, jscmonthdays, jscmonths) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                copy.write_row(
                    (
                        j,
                        j,
                        "yearly",
                        start + dt.timedelta(days=rng.randrange(600)),
                        flags({rng.randrange(60)}, 60, 0),
                        flags({rng.randrange(24)}, 24, 0),
                        flags(set(), 7, 0),
                        flags({rng.randrange(1, 29)}, 32, 1),
                        flags({QUIET_MONTH}, 12, 1),
                    )
                )
    for table in ("pga_job", "pga_schedule"):
        conn.execute(f"ALTER TABLE pgagent.{table} ENABLE TRIGGER USER")


def floor(dsn: str, jobs: int) -> float:
    """pg_cron's own cost: one statement scheduling ``jobs`` jobs, in a transaction."""
    with psycopg.connect(dsn) as conn:
        t0 = time.perf_counter()
        conn.execute(
            "SELECT count(cron.schedule_in_database('floor-' || i, %s, 'SELECT 1', 'bench', "
            "NULL, true)) FROM generate_series(1, %s) AS i",
            [f"0 3 1 {QUIET_MONTH} *", jobs],
        )
        conn.commit()
        took = time.perf_counter() - t0
        conn.execute("DELETE FROM cron.job WHERE jobname LIKE 'floor-%'")
        conn.commit()
    return took


def second_six(dsn: str) -> None:
    """Wait for second 6 of the server's minute: the apply's switch then finds its window open."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT extract(second FROM clock_timestamp())").fetchone()
        assert row is not None
        time.sleep((6.0 - float(row[0])) % 60.0)


def ledger_versions(dsn: str) -> set[tuple[str, str]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "SELECT jobname, xmin::text FROM pgbridge.cron_jobs UNION ALL "
            "SELECT pgagent_job_id::text, xmin::text FROM pgbridge.pgagent_jobs"
        ).fetchall()
    return {(str(a), str(b)) for a, b in rows}


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with local_cluster() as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")
        with psycopg.connect(cluster.dsn("bench"), autocommit=True) as conn:
            load(conn, jobs)
        pgagent, pgcron = cluster.dsn("bench"), cluster.dsn("postgres")
        print(f"catalog: {jobs} single-step jobs in database bench, pg_cron in postgres")
        base = floor(pgcron, jobs)
        with Counter.installed():
            plan, plan_s, plan_n = measure(
                lambda: api.plan(pgagent=pgagent, pgcron=pgcron, today=TODAY)
            )
            assert plan.counts()["cron_jobs"] == jobs, plan.counts()
            said: list[str] = []
            second_six(pgcron)
            applied, apply_s, apply_n = measure(
                lambda: api.migrate(pgagent, pgcron, apply=True, today=TODAY, progress=said.append)
            )
            assert applied.count("create") == jobs, applied.count("create")
            assert applied.verification is not None and applied.verification.ok
            before = ledger_versions(pgcron)
            again, again_s, again_n = measure(
                lambda: api.migrate(pgagent, pgcron, apply=True, today=TODAY)
            )
            assert again.count("unchanged") == jobs and again.count("update") == 0
            rewritten = len(before - ledger_versions(pgcron))
            checked, verify_s, verify_n = measure(lambda: api.verify(pgagent, pgcron, today=TODAY))
            assert checked.checked == jobs and checked.ok, checked.findings[:3]
            undone, rollback_s, rollback_n = measure(lambda: api.rollback(pgagent, pgcron))
            assert undone.count("unschedule") == jobs
    print(f"floor: {base:.2f} s (cron.schedule_in_database x {jobs} in one statement)")
    rows = [
        ("plan", plan_s, plan_n),
        ("apply", apply_s, apply_n),
        ("re-apply", again_s, again_n),
        ("verify", verify_s, verify_n),
        ("rollback", rollback_s, rollback_n),
    ]
    print(f"{'step':<9} {'time':>8} {'x floor':>8} {'x plan':>7} {'statements':>11}")
    for name, took, sent in rows:
        print(f"{name:<9} {took:>6.2f} s {took / base:>8.1f} {took / plan_s:>7.2f} {sent:>11}")
    if said:
        print("apply said: " + "; ".join(said))
    print(f"re-apply: {rewritten} ledger rows rewritten")
    checks = [
        (f"apply <= plan + 10x floor ({plan_s + 10 * base:.2f} s)", apply_s <= plan_s + 10 * base),
        (f"re-apply <= 1.5x plan ({1.5 * plan_s:.2f} s)", again_s <= 1.5 * plan_s),
        (f"verify <= 1.5x plan ({1.5 * plan_s:.2f} s)", verify_s <= 1.5 * plan_s),
        (f"rollback <= 1.5x plan ({1.5 * plan_s:.2f} s)", rollback_s <= 1.5 * plan_s),
    ]
    for text, ok in checks:
        print(f"target: {text} -> {'met' if ok else 'MISSED'}")


if __name__ == "__main__":
    main()
