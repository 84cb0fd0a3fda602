"""Two sessions sharing one snapshot (bridge.pg.snapshots), on a real server."""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg
import pytest

from bridge.errors import ConnectionFailed
from bridge.pg.connect import Connection, connect, reading
from bridge.pg.snapshots import TWIN_THREAD, spread, twin

Conn = psycopg.Connection[tuple[Any, ...]]


def _jobs(conn: Connection) -> int:
    row = conn.execute("SELECT count(*) FROM pgagent.pga_job").fetchone()
    assert row is not None
    return int(row[0])


def _add_job(db: Conn) -> None:
    db.execute("INSERT INTO pgagent.pga_job (jobjclid, jobname) VALUES (1, 'meanwhile')")


def test_the_twin_sees_the_snapshot_not_what_came_after(db: Conn, db_dsn: str) -> None:
    """A job committed after the read began is seen by neither session, though the twin connected
    after it was committed; a fresh session does see it."""
    with reading(db_dsn) as conn:
        before = _jobs(conn)
        _add_job(db)
        with twin(conn, lambda: connect(db_dsn, read_only=True)) as other:
            assert other is not None
            assert _jobs(other) == _jobs(conn) == before
            row = other.execute("SELECT current_setting('transaction_read_only')").fetchone()
            assert row == ("on",)
        assert other.closed
    with reading(db_dsn) as fresh:
        assert _jobs(fresh) == before + 1


def _refused() -> Connection:
    raise ConnectionFailed("too many clients already")


def test_no_twin_when_none_can_be_had(db: Conn, db_dsn: str, cron_dsn: str) -> None:
    """No opener, a refused connection, an autocommit session, or a DSN that reaches another
    database (the snapshot cannot be adopted there): ``None``, and the caller's transaction
    goes on unharmed."""
    with reading(db_dsn) as conn:
        for opener in (None, _refused, lambda: connect(cron_dsn, read_only=True)):
            with twin(conn, opener) as other:
                assert other is None
            assert _jobs(conn) >= 0  # still usable: nothing was aborted
    with (
        psycopg.connect(db_dsn, autocommit=True) as auto,
        twin(auto, lambda: connect(db_dsn, read_only=True)) as other,
    ):
        assert other is None


def _sleeper(seconds: float, mark: list[str], name: str) -> Any:
    def task(conn: Connection) -> str:
        conn.execute("SELECT pg_sleep(%s)", (seconds,))
        mark.append(name)
        return name

    return task


def test_spread_runs_two_at_a_time_and_keeps_the_order(db_dsn: str) -> None:
    """Four tasks of 0.4 s on two sessions take about two rounds, not four; results come in the
    tasks' order whichever session ran them; on one session they run one after the other."""
    with reading(db_dsn) as here, twin(here, lambda: connect(db_dsn, read_only=True)) as there:
        assert there is not None
        mark: list[str] = []
        t0 = time.perf_counter()
        got = spread([_sleeper(0.4, mark, str(n)) for n in range(4)], here, there)
        two = time.perf_counter() - t0
        assert got == ["0", "1", "2", "3"] and sorted(mark) == got
        t0 = time.perf_counter()
        assert spread([_sleeper(0.4, [], str(n)) for n in range(4)], here, None) == got
        one = time.perf_counter() - t0
    assert one >= 1.6 and two < one - 0.5  # 1.6 s in a row, about 0.8 s side by side


def _backend_busy(dsn: str, pid: int) -> bool:
    with psycopg.connect(dsn, autocommit=True) as conn:
        row = conn.execute("SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
    return row is not None and row[0] == "active"


def _on_twin() -> bool:
    return threading.current_thread().name == TWIN_THREAD


@pytest.mark.parametrize("where", ["caller", "twin"])
def test_a_failure_cancels_the_other_sessions_statement(db_dsn: str, where: str) -> None:
    """A task fails (in the caller's thread or the twin's) while the other session sleeps for a
    minute: the sleep is cancelled, no further task starts, and the failure (not the
    cancellation) reaches the caller at once; both sessions are left idle."""
    with reading(db_dsn) as here, twin(here, lambda: connect(db_dsn, read_only=True)) as there:
        assert there is not None
        started: list[str] = []

        def fail_or_sleep(conn: Connection) -> None:
            if _on_twin() == (where == "twin"):
                time.sleep(0.3)  # the other session is asleep by now
                raise ValueError("boom")
            conn.execute("SELECT pg_sleep(60)")

        t0 = time.perf_counter()
        with pytest.raises(ValueError, match="boom"):
            spread([fail_or_sleep, fail_or_sleep, _sleeper(0, started, "later")], here, there)
        assert time.perf_counter() - t0 < 10 and started == []
        for conn in (here, there):
            assert not _backend_busy(db_dsn, conn.info.backend_pid)
    assert TWIN_THREAD not in {t.name for t in threading.enumerate()}


def test_an_interrupt_cancels_the_other_sessions_statement(db_dsn: str) -> None:
    """Ctrl-C while this session waits: the twin's minute-long statement is cancelled too."""
    with reading(db_dsn) as here, twin(here, lambda: connect(db_dsn, read_only=True)) as there:
        assert there is not None
        pid = there.info.backend_pid

        def interrupted_or_sleep(conn: Connection) -> None:
            if _on_twin():
                conn.execute("SELECT pg_sleep(60)")
                return
            while not _backend_busy(db_dsn, pid):  # the twin has started its statement
                time.sleep(0.05)
            raise KeyboardInterrupt

        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            spread([interrupted_or_sleep, interrupted_or_sleep], here, there)
        assert time.perf_counter() - t0 < 10
        assert not _backend_busy(db_dsn, pid)
    assert TWIN_THREAD not in {t.name for t in threading.enumerate()}
