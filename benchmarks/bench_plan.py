"""Benchmark: read and plan a synthetic catalog of 10,000 pgAgent jobs.

Run: ``.venv/bin/python benchmarks/bench_plan.py [jobs]`` (default 10,000).

A throwaway cluster (``bridge.devtools.cluster``) gets a pgAgent catalog of ``jobs`` jobs with about three
steps and one and a half schedules each (30,000 steps, 15,000 schedules, a few exceptions),
loaded with COPY. The schedules follow the shapes real catalogs are made of (every N minutes,
hourly, daily, weekdays, weekly, monthly, last day, Friday-13th style) with random times, and
2 % of the steps are shell steps. The benchmark reports how many queries reading the catalog
took (it must not depend on the number of jobs), how long the read took, and how long planning
took. Target on a 2-core machine: the plan in under 3 s.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bridge.catalog.load import read_catalog
from bridge.devtools.cluster import local_cluster
from bridge.planner.build import make_plan
from bridge.planner.target import Target
from bridge.planner.types import PlanOptions


class CountingCursor(psycopg.Cursor[Any]):
    executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.executed += 1
        return super().execute(*args, **kwargs)


def flags(selected: set[int], size: int, base: int) -> list[bool]:
    return [base + i in selected for i in range(size)]


def random_schedule(rng: random.Random) -> tuple[set[int], set[int], set[int], set[int], set[int]]:
    """(minutes, hours, weekdays, monthdays, months) in cron numbering, one realistic shape."""
    shape = rng.choices(
        ["every", "hourly", "daily", "weekdays", "weekly", "monthly", "lastday", "and"],
        weights=[15, 10, 35, 15, 10, 8, 4, 3],
    )[0]
    minute = {rng.choice([0, 5, 10, 15, 20, 30, 45])}
    hour = {rng.randrange(24)}
    if shape == "every":
        step = rng.choice([1, 2, 5, 10, 15, 30])
        return set(range(0, 60, step)), set(), set(), set(), set()
    if shape == "hourly":
        return minute, set(), set(), set(), set()
    if shape == "daily":
        return minute, hour, set(), set(), set()
    if shape == "weekdays":
        return minute, hour, set(range(1, 6)), set(), set()
    if shape == "weekly":
        return minute, hour, {rng.randrange(7)}, set(), set()
    if shape == "monthly":
        return minute, hour, set(), {rng.randrange(1, 29)}, set()
    if shape == "lastday":
        return minute, hour, set(), {32}, set()
    return minute, hour, {rng.randrange(1, 6)}, {rng.randrange(8, 29)}, set()


def load(conn: psycopg.Connection[Any], jobs: int, seed: int = 42) -> tuple[int, int, int]:
    rng = random.Random(seed)
    conn.execute("CREATE EXTENSION pgagent")
    # Bulk load: pgAgent's triggers would compute every next run one by one.
    for table in ("pga_job", "pga_schedule", "pga_exception"):
        conn.execute(f"ALTER TABLE pgagent.{table} DISABLE TRIGGER USER")
    steps = schedules = exceptions = 0
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    with conn.cursor() as cur:
        with cur.copy(
            "COPY pgagent.pga_job (jobid, jobjclid, jobname, jobdesc, jobenabled) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                copy.write_row((j, 1 + j % 5, f"job {j}", "", rng.random() > 0.05))
        with cur.copy(
            "COPY pgagent.pga_jobstep (jstid, jstjobid, jstname, jstkind, jstcode, jstdbname, "
            "jstonerror, jstenabled) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                for n in range(rng.choice([1, 2, 3, 4, 5])):
                    steps += 1
                    batch = rng.random() < 0.02
                    copy.write_row(
                        (
                            steps,
                            j,
                            f"step {n:02d}",
                            "b" if batch else "s",
                            "echo hi"
                            if batch
                            else f"UPDATE t{j % 97} SET n = n + 1 WHERE id = {n}",
                            "" if batch else "app",
                            rng.choice("ffffsi"),
                            rng.random() > 0.03,
                        )
                    )
        with cur.copy(
            "COPY pgagent.pga_schedule (jscid, jscjobid, jscname, jscstart, jscminutes, jschours, "
            "jscweekdays, jscmonthdays, jscmonths) FROM STDIN"
        ) as copy:
            for j in range(1, jobs + 1):
                for _ in range(1 if rng.random() < 0.5 else 2):
                    schedules += 1
                    minutes, hours, weekdays, monthdays, months = random_schedule(rng)
                    copy.write_row(
                        (
                            schedules,
                            j,
                            f"schedule {schedules}",
                            start + dt.timedelta(days=rng.randrange(600)),
                            flags(minutes, 60, 0),
                            flags(hours, 24, 0),
                            flags(weekdays, 7, 0),
                            flags(monthdays, 32, 1),
                            flags(months, 12, 1),
                        )
                    )
        with cur.copy("COPY pgagent.pga_exception (jexscid, jexdate, jextime) FROM STDIN") as copy:
            for n in range(0, schedules, 50):  # 2 % of the schedules skip a holiday
                exceptions += 1
                copy.write_row((n + 1, dt.date(2027, 1, 1) + dt.timedelta(days=n), None))
    return steps, schedules, exceptions


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    with local_cluster() as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
            conn.execute("CREATE DATABASE app")  # where the steps run: planning checks it exists
        with psycopg.connect(cluster.dsn("bench"), autocommit=True) as conn:
            t0 = time.perf_counter()
            steps, schedules, exceptions = load(conn, jobs)
            loaded = time.perf_counter() - t0
        print(
            f"catalog: {jobs} jobs, {steps} steps, {schedules} schedules, {exceptions} "
            f"exceptions (loaded in {loaded:.1f} s)"
        )
        dsn = cluster.dsn("bench")
        CountingCursor.executed = 0
        t0 = time.perf_counter()
        with psycopg.connect(dsn, cursor_factory=CountingCursor) as conn:
            conn.read_only = True
            from bridge.catalog.pgagent import read_pgagent

            read_pgagent(conn)
        queries = CountingCursor.executed
        t1 = time.perf_counter()
        catalog = read_catalog(dsn)
        read_time = time.perf_counter() - t1
        print(
            f"read: {queries} queries for the pgAgent catalog; read_catalog took {read_time:.2f} s"
        )
    target = Target("1.6.7", "UTC", "postgres")
    t0 = time.perf_counter()
    plan = make_plan(catalog, target, PlanOptions(), today=dt.date(2026, 11, 21))
    plan_time = time.perf_counter() - t0
    counts = plan.counts()
    print(
        f"plan: {plan_time:.2f} s for {counts['jobs']} jobs ({counts['exact']} exact, "
        f"{counts['changed']} changed, {counts['manual']} manual, {counts['skipped']} skipped; "
        f"{counts['cron_jobs']} pg_cron jobs)"
    )
    print(f"target: plan < 3 s -> {'met' if plan_time < 3 else 'MISSED'}")


if __name__ == "__main__":
    main()
