"""Benchmark: summarise a synthetic pgAgent run log of 5 million runs over 10,000 jobs.

Run: ``.venv/bin/python benchmarks/bench_history.py [jobs] [runs_per_job]`` (default 10,000 x 500).

The catalog is ``bench_plan.py``'s (10,000 jobs, about 30,000 steps and 15,000 schedules); the log
gets ``runs_per_job`` runs per job spread over the last 89 days (3 % failed, 0.5 % internal
failures, a few still marked running, durations from a long-tailed distribution) and one
``pga_jobsteplog`` row per run, generated on the server. The benchmark reports how many queries
the summary took (it must not depend on the number of jobs or runs), how long it took, and the
Python process's peak memory growth while summarising (the rows never leave the server, so it
stays bounded). Target on a 2-core machine: the summary in a few seconds (under 10 s).
"""

from __future__ import annotations

import resource
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_plan import CountingCursor, load

from bridge.catalog.history import read_history
from bridge.catalog.pgagent import read_pgagent
from bridge.devtools.cluster import local_cluster

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


def peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    jobs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 500
    with local_cluster() as cluster:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            conn.execute("CREATE DATABASE bench")
        dsn = cluster.dsn("bench")
        with psycopg.connect(dsn, autocommit=True) as conn:
            t0 = time.perf_counter()
            load(conn, jobs)
            conn.execute(LOG, {"jobs": jobs, "runs": runs})
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
            f"log: {row[0]:,} runs and {row[1]:,} step runs over {jobs:,} jobs ({row[2]} on "
            f"disk; loaded in {loaded:.0f} s)"
        )
        with psycopg.connect(dsn, cursor_factory=CountingCursor) as conn:
            conn.read_only = True
            catalog = read_pgagent(conn, timezone="UTC")
            conn.rollback()
            before = peak_mib()
            CountingCursor.executed = 0
            t0 = time.perf_counter()
            summarised = read_history(conn, catalog, 90)
            took = time.perf_counter() - t0
            queries = CountingCursor.executed
            grew = peak_mib() - before
    histories = [j.history for j in summarised.jobs if j.history is not None]
    total = sum(h.runs for h in histories)
    failing = sum(1 for h in histories if h.failures)
    off = sum(h.off_schedule for h in histories)
    over = sum(h.over_gap for h in histories)
    print(
        f"history: {queries} queries, {took:.2f} s for {total:,} runs of {len(histories):,} jobs "
        f"({failing:,} jobs with failures, {over:,} runs longer than their gap, {off:,} runs off "
        f"schedule); Python peak memory grew {grew:.0f} MiB"
    )
    print(f"target: summary < 10 s -> {'met' if took < 10 else 'MISSED'}")


if __name__ == "__main__":
    main()
