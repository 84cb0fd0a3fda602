"""Two sessions sharing one snapshot (bridge.pg.snapshots), on a real server."""

from __future__ import annotations

import os
import signal
import threading
import time
from typing import Any

import psycopg
import pytest

from bridge.errors import ConnectionFailed
from bridge.pg import conninfo, snapshots
from bridge.pg.connect import Connection, connect, reading, sibling
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


def _broken_opener() -> Connection:
    raise psycopg.OperationalError("too many connections for role")


def _autocommit_opener(dsn: str) -> Any:
    # on a role whose default is REPEATABLE READ, SET TRANSACTION SNAPSHOT would only warn
    return lambda: psycopg.connect(
        dsn, autocommit=True, options="-c default_transaction_isolation=repeatable\\ read"
    )


def test_no_twin_unless_both_show_one_snapshot(db: Conn, db_dsn: str) -> None:
    """An opener that fails in psycopg's own way, or one that gives an autocommit session, and a
    READ COMMITTED reader (each statement sees another instant): no twin; a defect in the
    opener itself is not taken for a refusal."""
    with reading(db_dsn) as conn:
        for opener in (_broken_opener, _autocommit_opener(db_dsn)):
            with twin(conn, opener) as other:
                assert other is None
        assert _jobs(conn) >= 0

        def defect() -> Connection:
            raise ZeroDivisionError

        with pytest.raises(ZeroDivisionError), twin(conn, defect):
            pass
    with psycopg.connect(db_dsn) as committed:  # READ COMMITTED, not autocommit
        with twin(committed, lambda: connect(db_dsn, read_only=True)) as other:
            assert other is None
        assert _jobs(committed) >= 0


def test_a_twin_too_slow_to_come_is_not_waited_for(
    db_dsn: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pooler with no free server connection (or a multi-host walk) keeps the second session
    waiting: the read goes on alone, and the late connection is closed when it comes."""
    monkeypatch.setattr(snapshots, "TWIN_WAIT_SECONDS", 0.2)
    late: list[Connection] = []

    def slow() -> Connection:
        time.sleep(1)
        late.append(connect(db_dsn, read_only=True))
        return late[-1]

    with reading(db_dsn) as conn:
        t0 = time.perf_counter()
        with twin(conn, slow) as other:
            assert other is None and time.perf_counter() - t0 < 1
        deadline = time.monotonic() + 10
        while not (late and late[0].closed) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert late and late[0].closed


def test_waiting_sessions_outlive_idle_in_transaction_timeouts(db_dsn: str) -> None:
    """A role with ``idle_in_transaction_session_timeout``: whichever session finishes first
    waits idle in its transaction for the other, longer than the timeout, and both survive."""
    dsn = psycopg.conninfo.make_conninfo(
        db_dsn, options="-c idle_in_transaction_session_timeout=300"
    )
    for long_on_twin in (True, False):
        with reading(dsn) as here:
            with twin(here, lambda: sibling(dsn, here)) as there:
                assert there is not None

                def task(conn: Connection, long_on_twin: bool = long_on_twin) -> None:
                    long = _on_twin() == long_on_twin
                    conn.execute("SELECT pg_sleep(%s)", (1.2 if long else 0,))

                spread([task, task], here, there)
                assert _jobs(there) >= 0
            assert _jobs(here) >= 0


def test_a_sibling_reaches_the_server_its_session_reached(db_dsn: str) -> None:
    """A DSN naming a refused host before the real one: the sibling is pinned to the host and
    port the first session got (it does not walk the list again, nor land elsewhere)."""
    with reading(db_dsn) as real:
        real_host, real_port = real.info.host, str(real.info.port)
    params = conninfo.parse(db_dsn)
    params.pop("hostaddr", None)  # one address for two hosts would not parse
    params |= {"host": f"127.0.0.1,{real_host}", "port": f"1,{real_port}"}
    multi = psycopg.conninfo.make_conninfo("", **params)
    with reading(multi) as conn, sibling(multi, conn) as other:
        got = other.info.get_parameters()
        assert (got["host"], got["port"]) == (conn.info.host, str(conn.info.port))
        assert (conn.info.host, str(conn.info.port)) == (real_host, real_port)
        assert other.read_only and other.isolation_level == psycopg.IsolationLevel.REPEATABLE_READ


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


def _until_busy(dsn: str, pid: int) -> None:
    """Wait until backend ``pid`` runs a statement."""
    while not _backend_busy(dsn, pid):
        time.sleep(0.05)


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


@pytest.mark.parametrize("when", ["in its task", "waiting"])
def test_an_interrupt_cancels_the_other_sessions_statement(db_dsn: str, when: str) -> None:
    """Ctrl-C while this session runs its own task, or while it waits (its task done) for the
    twin's minute-long statement: that statement is cancelled too (a join interrupted by Ctrl-C
    would have forgotten the thread on CPython 3.10 to 3.12)."""
    with reading(db_dsn) as here, twin(here, lambda: connect(db_dsn, read_only=True)) as there:
        assert there is not None
        pid = there.info.backend_pid

        def interrupted_or_sleep(conn: Connection) -> None:
            if _on_twin():
                conn.execute("SELECT pg_sleep(60)")
                return
            _until_busy(db_dsn, pid)  # the twin has started its statement
            if when == "in its task":
                raise KeyboardInterrupt

        def interrupt() -> None:
            _until_busy(db_dsn, pid)
            time.sleep(0.5)  # this session is waiting for the twin by now
            os.kill(os.getpid(), signal.SIGINT)

        if when == "waiting":
            threading.Thread(target=interrupt, daemon=True).start()
        t0 = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            spread([interrupted_or_sleep, interrupted_or_sleep], here, there)
        assert time.perf_counter() - t0 < 10
        assert not _backend_busy(db_dsn, pid)
    assert TWIN_THREAD not in {t.name for t in threading.enumerate()}
