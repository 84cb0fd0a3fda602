"""Two sessions, one snapshot: a read split over two connections that see exactly the same rows.

A summary of millions of log rows is a few statements that each keep one core busy; run one
beside the other and the read takes the longer of them instead of their sum. They may do so
only if the second session sees what the first sees, as pg_dump's parallel workers do: the first
exports its transaction's snapshot (``pg_export_snapshot``), the second adopts it (``SET
TRANSACTION SNAPSHOT``). Whatever stands in the way (no way to open a session, a refused
connection, a DSN that reached another server) makes the read sequential, never inconsistent.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import psycopg
from psycopg import sql
from psycopg.pq import TransactionStatus

from bridge.errors import BridgeError
from bridge.pg.connect import Connection

#: Opens one more READ ONLY (REPEATABLE READ) connection to the same database.
Opener = Callable[[], Connection]

#: One statement's work (its execution and the reading of its rows) on the connection given.
Task = Callable[[Connection], Any]

#: Exporting on a hot standby came with PostgreSQL 10 (commit 6c2003f8a1b).
_EXPORT_FROM = 100000
#: The name of the thread that runs the second session's tasks.
TWIN_THREAD = "pgbridge-twin"
#: How often a cancelled side session is cancelled again until its thread stops (a statement
#: sent just after a cancel would otherwise run to its end).
_RECANCEL_SECONDS = 0.1


@contextlib.contextmanager
def twin(conn: Connection, opener: Opener | None) -> Iterator[Connection | None]:
    """A second connection whose transaction sees ``conn``'s snapshot, closed at the end of the
    block; ``None`` when it cannot be had. ``conn`` must not be in autocommit mode or inside a
    savepoint (a snapshot is exported from a top-level transaction, which it starts if idle)."""
    status = conn.info.transaction_status
    if (
        opener is None
        or conn.autocommit
        or status not in (TransactionStatus.IDLE, TransactionStatus.INTRANS)
        or conn.info.server_version < _EXPORT_FROM
    ):
        yield None
        return
    row = conn.execute("SELECT pg_export_snapshot()").fetchone()
    assert row is not None
    try:
        other = opener()
    except BridgeError:  # e.g. max_connections reached: read sequentially
        yield None
        return
    try:
        other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(row[0])))
    except psycopg.Error:  # another server or database behind the same DSN
        other.close()
        yield None
        return
    with other:
        yield other
        other.rollback()


def spread(tasks: Sequence[Task], here: Connection, there: Connection | None) -> list[Any]:
    """Each task's result, in the tasks' order: the tasks run on ``here`` and (if not ``None``)
    ``there`` at once, each session taking the next task when it is free (give the longest
    first). If a task fails or the caller is interrupted (Ctrl-C), no further task starts, the
    other session's statement is cancelled and its thread waited for, and the first failure goes
    on: nothing keeps running on the server behind the caller's back."""
    results: dict[int, Any] = {}
    queue = iter(enumerate(tasks))
    taking = threading.Lock()
    stop = threading.Event()

    def work(conn: Connection) -> None:
        while not stop.is_set():
            with taking:
                item = next(queue, None)
            if item is None:
                return
            results[item[0]] = item[1](conn)

    if there is None:
        work(here)
        return [results[n] for n in range(len(tasks))]
    failure: list[BaseException] = []
    here_done = threading.Event()

    def side() -> None:
        try:
            work(there)
        except BaseException as exc:  # handed to the caller's thread
            if stop.is_set():  # cancelled because the caller's thread failed
                return
            failure.append(exc)
            stop.set()
            while not here_done.wait(_RECANCEL_SECONDS):
                _cancel(here)

    thread = threading.Thread(target=side, name=TWIN_THREAD, daemon=True)
    thread.start()
    try:
        try:
            work(here)
        finally:
            here_done.set()
        thread.join()
    except BaseException:
        if failure:  # this thread's statement was cancelled because of it
            thread.join()
            raise failure[0] from None
        stop.set()
        while thread.is_alive():
            _cancel(there)
            thread.join(_RECANCEL_SECONDS)
        raise
    if failure:
        raise failure[0]
    return [results[n] for n in range(len(tasks))]


def _cancel(conn: Connection) -> None:
    """Cancel ``conn``'s running statement, if any (from another thread)."""
    with contextlib.suppress(psycopg.Error):  # nothing to cancel, or a broken connection
        conn.cancel_safe()
