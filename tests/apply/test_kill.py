"""A migration killed (SIGKILL) in the middle of a batch of its write phase: nothing of it is kept,
and running it again converges."""

from __future__ import annotations

import datetime as dt
import os
import signal
import subprocess
import sys
import textwrap
import time

from bridge.api import migrate
from bridge.apply.selection import Selection

from ..catalogs import Conn
from ..fix_db import TestServer
from .test_scale import add_jobs

TODAY = dt.date(2026, 11, 21)
JOBS = 40


def cron_jobs(cron_db: Conn, prefix: str) -> list[tuple[object, ...]]:
    return cron_db.execute(
        "SELECT jobname, active FROM cron.job WHERE jobname LIKE %s ORDER BY jobname",
        [prefix + "%"],
    ).fetchall()


def test_killed_in_the_middle_of_a_batch_then_rerun_converges(
    db: Conn,
    db_name: str,
    db_dsn: str,
    cron_dsn: str,
    cron_db: Conn,
    pg_server: TestServer,
    ledger_gone: None,
) -> None:
    ids = add_jobs(db, db_name, 0, JOBS)
    first = migrate(db_dsn, cron_dsn, apply=True, selection=Selection(jobs=(str(ids[0]),)),
                    today=TODAY)  # fmt: skip
    assert first.count("create") == 1 and first.plan is not None
    prefix = "pgagent-" + first.plan.catalog_tag
    script = textwrap.dedent(
        f"""
        import datetime
        from bridge.api import migrate
        migrate({db_dsn!r}, {cron_dsn!r}, apply=True, today=datetime.date(2026, 11, 21))
        """
    )
    with (
        pg_server.connect(pg_server.cron_database) as holder,
        pg_server.connect(pg_server.cron_database) as watcher,  # fresh statistics each query
        holder.transaction(),
    ):
        # Writers of the ledger wait (readers do not): the run gets as far as its ledger batch.
        holder.execute("LOCK TABLE pgbridge.cron_jobs IN SHARE MODE")
        proc = subprocess.Popen([sys.executable, "-c", script])
        deadline = time.monotonic() + 120
        waiting = None
        while waiting is None and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.1)
            waiting = watcher.execute(
                "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                "AND query LIKE 'INSERT INTO pgbridge.cron_jobs%%'"
            ).fetchone()
        assert waiting is not None, proc.returncode
        # Its pg_cron batch is done: 39 jobs created in its open transaction, none visible.
        assert len(cron_jobs(holder, prefix)) == 1
        os.kill(proc.pid, signal.SIGKILL)
        assert proc.wait(30) == -signal.SIGKILL
    assert len(cron_jobs(cron_db, prefix)) == 1  # nothing of the killed run was committed
    enabled = dict(db.execute("SELECT jobid, jobenabled FROM pgagent.pga_job").fetchall())
    assert [i for i in ids if not enabled[i]] == [ids[0]]
    # The server ends the orphaned session once its statement returns; the re-run waits for its
    # lock, then finishes the work.
    final = migrate(db_dsn, cron_dsn, apply=True, today=TODAY, wait_lock=60)
    assert final.count("create") == JOBS - 1 and final.count("unchanged") == 1
    assert final.verification is not None and final.verification.ok, final.verification
    rows = cron_jobs(cron_db, prefix)
    assert len(rows) == JOBS and all(active for _, active in rows)
    assert not any(db.execute("SELECT bool_or(jobenabled) FROM pgagent.pga_job").fetchone() or ())
    again = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert again.count("unchanged") == JOBS and len(again.changes) == JOBS
