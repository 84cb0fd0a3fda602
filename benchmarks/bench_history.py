"""Benchmark: summarise a synthetic pgAgent run log of 5 million runs over 10,000 jobs.

Run: ``.venv/bin/python benchmarks/bench_history.py [jobs] [runs_per_job]`` (default 10,000 x 500).

The catalog is ``bench_plan.py``'s (10,000 jobs, about 30,000 steps and 15,000 schedules), in two
databases with two logs of about ``jobs x runs_per_job`` runs over the last 89 days (3 % failed,
0.5 % internal failures, a few still marked running, durations from a long-tailed distribution,
one ``pga_jobsteplog`` row per run):

- realistic: runs at their schedules' fire times (a few seconds late, the frequent jobs capped so
  that every job has a share), 2 % started by hand at any instant, stored in time order as a
  real log is appended;
- adversarial: ``runs_per_job`` runs per job at instants that ignore the schedules (about 9 in 10
  are off schedule, the worst case for that test), stored job after job.

Each log is summarised twice in a fresh process: on one session (a library caller without an
opener) and on two sessions sharing a snapshot (``pgbridge inventory``'s read). The benchmark
reports how many queries each summary took (it must not depend on the number of jobs or runs),
how long it took (with the load average beside it), the CPU time the server backends (their
parallel workers included) and the Python process spent on it, each query's wall time (and on
one session its server CPU: on a shared machine the CPU figures are the ones to compare), and the
Python process's peak memory growth while summarising (the rows never leave the server, so it
stays bounded). Target on a 2-core machine: the summary in a few seconds (under 10 s).
"""

from __future__ import annotations

import datetime as dt
import os
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, ClassVar

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import load

from bridge.catalog import history
from bridge.catalog.history import read_history
from bridge.catalog.pgagent import read_pgagent
from bridge.devtools.cluster import local_cluster
from bridge.model import PgAgentCatalog
from bridge.schedule.agent import AgentSchedule, effective_slot
from bridge.schedule.slots import Slot

LOG = """
INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration)
SELECT j, CASE WHEN r < 0.03 THEN 'f' WHEN r < 0.035 THEN 'i'
               WHEN n = %(runs)s AND j %% 1000 = 0 THEN 'r' ELSE 's' END,
       now() - interval '89 days' * (n::float8 / %(runs)s) + interval '1 second' * (j %% 60),
       CASE WHEN n = %(runs)s AND j %% 1000 = 0 THEN NULL
            ELSE interval '1 millisecond' * floor(1000 * (-ln(1 - random()) * 5) ^ 1.5) END
  FROM generate_series(1, %(jobs)s) AS j, generate_series(1, %(runs)s) AS n,
       LATERAL (SELECT random() + 0 * j AS r) AS x
"""

STEP_LOG = """
INSERT INTO pgagent.pga_jobsteplog (jsljlgid, jsljstid, jslstatus, jslresult, jslstart,
                                    jslduration, jsloutput)
SELECT l.jlgid, s.first, CASE WHEN l.jlgstatus = 'f' THEN 'f' ELSE 's' END,
       CASE WHEN l.jlgstatus = 'f' THEN -1 ELSE 1 END, l.jlgstart, l.jlgduration,
       CASE WHEN l.jlgstatus = 'f' THEN 'ERROR: deadlock detected' ELSE '' END
  FROM pgagent.pga_joblog l
  JOIN (SELECT jstjobid, min(jstid) AS first FROM pgagent.pga_jobstep GROUP BY jstjobid) s
    ON s.jstjobid = l.jlgjobid
"""


#: The realistic log: runs at their schedules' fire times (a few seconds late), 2 % started by
#: hand at any instant, in the order they ran (a real log is appended to, so its heap is in time
#: order, not job order). Statuses and durations as in :data:`LOG`.
REAL_LOG = """
INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration)
SELECT j, CASE WHEN r < 0.03 THEN 'f' WHEN r < 0.035 THEN 'i'
               WHEN last AND mod(j, 1000) = 0 THEN 'r' ELSE 's' END,
       start,
       CASE WHEN last AND mod(j, 1000) = 0 THEN NULL
            ELSE interval '1 millisecond' * floor(1000 * (-ln(1 - random()) * 5) ^ 1.5) END
  FROM (SELECT j, start, random() AS r,
               row_number() OVER (PARTITION BY j ORDER BY start DESC) = 1 AS last
          FROM bench_starts) AS s
 ORDER BY start
"""
MANUAL = 0.02


def fire_minutes(slot: Slot, first: dt.datetime, days: int) -> list[tuple[dt.datetime, int]]:
    """(day, fire times that day) of ``slot`` over ``days`` days from ``first`` (UTC)."""
    per_day = []
    times = bin(slot.hours).count("1") * bin(slot.minutes).count("1")
    for n in range(days):
        day = first + dt.timedelta(days=n)
        last = (day + dt.timedelta(days=1)).day == 1
        if (
            slot.months >> day.month & 1
            and slot.weekdays >> (day.isoweekday() % 7) & 1
            and (slot.days >> day.day & 1 or (slot.last and last))
        ):
            per_day.append((day, times))
    return per_day


def realistic_starts(
    catalog: PgAgentCatalog, total: int, seed: int = 7
) -> list[tuple[int, dt.datetime]]:
    """About ``total`` runs at the jobs' fire times over the last 89 days, the frequent jobs capped
    so that every job keeps a share, plus :data:`MANUAL` of them at random instants."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc).replace(second=0, microsecond=0)
    first = (now - dt.timedelta(days=89)).replace(hour=0, minute=0)
    fires = {}
    for job in catalog.jobs:
        enabled = [s for s in job.schedules if s.enabled]
        if enabled:
            slot = effective_slot(AgentSchedule.from_model(enabled[0]), "actual")
            fires[job.id] = (slot, fire_minutes(slot, first, 89))
    counts = {j: sum(n for _, n in days) for j, (_, days) in fires.items()}
    low, high = 1, max(counts.values())
    while low < high:  # the smallest cap that reaches ``total``
        cap = (low + high) // 2
        if sum(min(c, cap) for c in counts.values()) >= total:
            high = cap
        else:
            low = cap + 1
    out = []
    for j, (slot, days) in fires.items():
        hours = [h for h in range(24) if slot.hours >> h & 1]
        minutes = [m for m in range(60) if slot.minutes >> m & 1]
        per_day = len(hours) * len(minutes)
        wanted = min(counts[j], low)
        for i in range(wanted):
            k = i * counts[j] // wanted
            day, t = days[k // per_day][0], k % per_day
            start = day + dt.timedelta(
                hours=hours[t // len(minutes)], minutes=minutes[t % len(minutes)],
                seconds=rng.random() * 20,
            )  # fmt: skip
            if start < now:
                out.append((j, start))
        for _ in range(int(wanted * MANUAL)):
            out.append((j, now - dt.timedelta(seconds=rng.random() * 89 * 86400)))
    return out


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _stat(pid: int | str) -> list[str]:
    """The fields of /proc/<pid>/stat after the command name (state, parent pid, ...: proc(5))."""
    return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()


def server_cpu(backend: int) -> float:
    """CPU seconds used so far by ``backend`` and its parallel workers, live and reaped (the
    postmaster's reaped children: the cluster is the benchmark's own). On a shared machine wall
    time measures the neighbours as much as the queries; this does not."""
    own = _stat(backend)
    fields = _stat(own[1])
    ticks = int(fields[13]) + int(fields[14]) + int(own[11]) + int(own[12])
    worker = f"parallel worker for PID {backend}"
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and worker in Path(f"/proc/{entry}/cmdline").read_text():
                ticks += sum(int(n) for n in _stat(entry)[11:13])
        except OSError:  # it ended meanwhile: its ticks are among the reaped
            continue
    return ticks / os.sysconf("SC_CLK_TCK")


class TimingCursor(psycopg.Cursor[Any]):
    """Counts the statements and times each, wall and server CPU (a client-side cursor has the
    rows when it returns)."""

    took: ClassVar[list[tuple[str, float, float]]] = []

    def execute(self, query: Any, *args: Any, **kwargs: Any) -> Any:
        t0, c0 = time.perf_counter(), server_cpu(self.connection.info.backend_pid)
        try:
            return super().execute(query, *args, **kwargs)
        finally:
            cpu = server_cpu(self.connection.info.backend_pid) - c0
            name = (
                QUERY_NAMES.get(query, "setup") if isinstance(query, str) else "setup"
            )  # window, snapshot
            TimingCursor.took.append((name, time.perf_counter() - t0, cpu))


QUERY_NAMES = {
    getattr(history, name): name
    for name in ("COUNTS", "DURATIONS", "OFF_SCHEDULE", "STEPS", "GONE_AGENT")
}


def _reader(dsn: str) -> psycopg.Connection[Any]:
    conn = psycopg.connect(dsn, cursor_factory=TimingCursor)
    conn.read_only = True
    conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # as bridge.pg.connect's
    return conn


def summarise(dsn: str, label: str, twin: bool) -> float:
    """One summary of ``dsn``'s log, on one session or (``twin``) two sharing a snapshot, as
    ``pgbridge inventory`` reads it."""
    twins: list[int] = []

    def opener() -> psycopg.Connection[Any]:
        conn = _reader(dsn)
        twins.append(conn.info.backend_pid)
        return conn

    with _reader(dsn) as conn:
        catalog = read_pgagent(conn, timezone="UTC")
        conn.rollback()
        before = peak_mib()
        TimingCursor.took = []
        t0, c0 = time.perf_counter(), server_cpu(conn.info.backend_pid)
        p0 = time.process_time()
        summarised = read_history(conn, catalog, 90, opener=opener if twin else None)
        took = time.perf_counter() - t0
        python_cpu = time.process_time() - p0
        while any(Path(f"/proc/{pid}").exists() for pid in twins):  # reaped: its CPU counted
            time.sleep(0.01)
        cpu = server_cpu(conn.info.backend_pid) - c0
        queries = len(TimingCursor.took)
        grew = peak_mib() - before
    histories = [j.history for j in summarised.jobs if j.history is not None]
    total = sum(h.runs for h in histories)
    failing = sum(1 for h in histories if h.failures)
    off = sum(h.off_schedule for h in histories)
    over = sum(h.over_gap for h in histories)
    how = "two sessions sharing a snapshot" if twin else "one session"
    print(
        f"{label}, {how}: {queries} queries, {took:.2f} s for {total:,} runs of "
        f"{len(histories):,} jobs ({failing:,} jobs with failures, {over:,} runs longer than their "
        f"gap, {off:,} runs off schedule); Python peak memory grew {grew:.0f} MiB"
    )
    load = os.getloadavg()[0]
    print(f"  CPU: server {cpu:.2f} s, Python {python_cpu:.2f} s (load average {load:.2f})")
    if twin:  # a statement's server CPU would count the other session's reaped workers too
        print("  per query (wall, two at a time): " + ", ".join(
            f"{name} {secs:.2f} s" for name, secs, _ in TimingCursor.took
        ))  # fmt: skip
    else:
        print("  per query (wall, server CPU): " + ", ".join(
            f"{name} {secs:.2f} s, {used:.2f} s ({used / cpu:.0%})"
            for name, secs, used in TimingCursor.took
        ))  # fmt: skip
    print(f"  took {took:.3f}")
    return took


def main() -> None:
    if sys.argv[1:2] == ["--summarise"]:
        summarise(sys.argv[2], sys.argv[3], twin=False)
        summarise(sys.argv[2], sys.argv[3], twin=True)
        return
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    took = {}
    with local_cluster() as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE adversarial")
            conn.execute("CREATE DATABASE realistic")
        for label in ("realistic", "adversarial"):
            dsn = cluster.dsn(label)
            with psycopg.connect(dsn, autocommit=True) as conn:
                t0 = time.perf_counter()
                load(conn, jobs)
                if label == "adversarial":
                    conn.execute(LOG, {"jobs": jobs, "runs": runs})
                else:
                    catalog = read_pgagent(conn, timezone="UTC")
                    conn.execute("CREATE TEMP TABLE bench_starts (j int, start timestamptz)")
                    with conn.cursor().copy("COPY bench_starts FROM STDIN") as copy:
                        for start in realistic_starts(catalog, jobs * runs):
                            copy.write_row(start)
                    conn.execute(REAL_LOG)
                conn.execute(STEP_LOG)
                conn.execute("VACUUM ANALYZE pgagent.pga_joblog, pgagent.pga_jobsteplog")
                row = conn.execute(
                    "SELECT (SELECT count(*) FROM pgagent.pga_joblog), "
                    "(SELECT count(*) FROM pgagent.pga_jobsteplog), "
                    "pg_size_pretty(pg_total_relation_size('pgagent.pga_joblog') "
                    "+ pg_total_relation_size('pgagent.pga_jobsteplog'))"
                ).fetchone()
                assert row is not None
                loaded = time.perf_counter() - t0
            print(
                f"{label} log: {row[0]:,} runs and {row[1]:,} step runs over {jobs:,} jobs "
                f"({row[2]} on disk; loaded in {loaded:.0f} s)"
            )
            # A fresh process: this one's peak memory already holds the realistic starts.
            child = subprocess.run(
                [sys.executable, __file__, "--summarise", dsn, label],
                check=True, capture_output=True, text=True,
            )  # fmt: skip
            print(child.stdout, end="")
            took[label] = float(child.stdout.rsplit("took ", 1)[1])
    print(f"adversarial / realistic: {took['adversarial'] / took['realistic']:.2f}")
    met = max(took.values()) < 10
    print(f"target: summary < 10 s -> {'met' if met else 'MISSED'}")


if __name__ == "__main__":
    main()
