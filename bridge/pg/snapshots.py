"""Two sessions, one snapshot: a read split over two connections that see exactly the same rows.

A summary of millions of log rows is a few statements that each keep one core busy; run one
beside the other and the read takes the longer of them instead of their sum. They may do so
only if the second session sees what the first sees, as pg_dump's parallel workers do: the first
exports its transaction's snapshot (``pg_export_snapshot``), the second adopts it (``SET
TRANSACTION SNAPSHOT``), and both show the same snapshot before the second is used. Whatever
stands in the way (no way to open a session, a refused connection, another server or database,
a READ COMMITTED transaction, a pooler with no free server connection) makes the read
sequential, never inconsistent.
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

#: Opens one more connection to the server and database of the session given, READ ONLY and
#: REPEATABLE READ (as :func:`bridge.pg.connect.sibling` does).
Opener = Callable[[], Connection]

#: One statement's work (its execution and the reading of its rows) on the connection given.
Task = Callable[[Connection], Any]

#: Exporting on a hot standby came with PostgreSQL 10 (commit 6c2003f8a1b).
_EXPORT_FROM = 100000
#: ``pg_current_snapshot`` replaced ``txid_current_snapshot`` in PostgreSQL 13.
_CURRENT_SNAPSHOT_FROM = 130000
#: The name of the thread that runs the second session's tasks.
TWIN_THREAD = "pgbridge-twin"
#: How often a cancelled side session is cancelled again until its thread stops (a statement
#: sent just after a cancel would otherwise run to its end).
_RECANCEL_SECONDS = 0.1
#: How long the second session may take to open and adopt the snapshot before the read goes on
#: alone (a pooler with no free server connection queues it; a multi-host DSN walks its list).
#: A twin gains seconds only on logs of millions of runs; waiting longer could cost more.
TWIN_WAIT_SECONDS = 2.0


@contextlib.contextmanager
def twin(conn: Connection, opener: Opener | None) -> Iterator[Connection | None]:
    """A second connection whose transaction sees ``conn``'s snapshot, closed at the end of the
    block; ``None`` when it cannot be had in :data:`TWIN_WAIT_SECONDS`.

    ``conn`` must be in a REPEATABLE READ (or SERIALIZABLE) transaction, or idle and set to one,
    and not inside a savepoint (``pg_export_snapshot`` fails there and aborts the transaction).
    While one session waits for the other it is idle in its transaction: both turn
    ``idle_in_transaction_session_timeout`` off for their transaction (``SET LOCAL``), as the
    role's timeout would otherwise end a read that is only waiting for its other half.
    """
    status = conn.info.transaction_status
    if (
        opener is None
        or conn.autocommit
        or status not in (TransactionStatus.IDLE, TransactionStatus.INTRANS)
        or conn.info.server_version < _EXPORT_FROM
    ):
        yield None
        return
    current = _current_snapshot(conn)
    row = conn.execute(
        f"SELECT current_setting('transaction_isolation'), {current}::text"
    ).fetchone()
    assert row is not None
    if row[0] not in ("repeatable read", "serializable"):  # each statement sees another instant
        yield None
        return
    exported = conn.execute(
        "SELECT pg_export_snapshot(), set_config('idle_in_transaction_session_timeout', '0', true)"
    ).fetchone()
    assert exported is not None
    other = _adopt(opener, exported[0], row[1])
    try:
        yield other
    finally:
        if other is not None:
            other.close()  # ends its transaction; an error there changes nothing read


def _current_snapshot(conn: Connection) -> str:
    """The SQL function that shows a session's snapshot, on ``conn``'s server version."""
    if conn.info.server_version >= _CURRENT_SNAPSHOT_FROM:
        return "pg_current_snapshot()"
    return "txid_current_snapshot()"


def _adopt(opener: Opener, snapshot: str, seen: str) -> Connection | None:
    """A connection from ``opener`` whose transaction adopted ``snapshot`` (and now shows the
    snapshot ``seen`` by the exporting session), or ``None``: refused, another server or
    database, autocommit, or not ready in time (then it is closed whenever it comes)."""
    lock = threading.Lock()
    ready = threading.Event()
    box: list[Connection] = []
    errors: list[BaseException] = []
    late = False

    def setup() -> None:
        other: Connection | None = None
        try:
            other = opener()
            if other.autocommit:  # SET TRANSACTION SNAPSHOT would only warn, then be forgotten
                raise psycopg.ProgrammingError("the second session is in autocommit mode")
            other.execute("SET LOCAL idle_in_transaction_session_timeout = 0")
            other.execute(sql.SQL("SET TRANSACTION SNAPSHOT {}").format(sql.Literal(snapshot)))
            row = other.execute(f"SELECT {_current_snapshot(other)}::text").fetchone()
            if row is None or row[0] != seen:
                raise psycopg.ProgrammingError("the second session sees another snapshot")
        except BaseException as exc:  # handed to the caller's thread
            errors.append(exc)
        with lock:
            if other is not None and (late or errors):
                other.close()
            elif other is not None:
                box.append(other)
            ready.set()

    threading.Thread(target=setup, name=f"{TWIN_THREAD}-setup", daemon=True).start()
    try:
        ready.wait(TWIN_WAIT_SECONDS)
    except BaseException:  # Ctrl-C: nothing is left open
        with lock:
            late = True
            for other in box:
                other.close()
        raise
    with lock:
        late = True  # whatever comes after this is closed by the setup thread
    if errors and not isinstance(errors[0], (BridgeError, psycopg.Error)):
        raise errors[0]  # a defect in the opener, not a connection that cannot be had
    return box[0] if box else None


def spread(tasks: Sequence[Task], here: Connection, there: Connection | None) -> list[Any]:
    """Each task's result, in the tasks' order: the tasks run on ``here`` and (if not ``None``)
    ``there`` at once, each session taking the next task when it is free (give the longest
    first). If a task fails or the caller is interrupted (Ctrl-C), neither session takes another
    task, the other session's statement is cancelled (again, until its task has ended) and the
    first failure goes on: nothing keeps running on the server behind the caller's back."""
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
    # Waited for instead of Thread.join: a join that Ctrl-C interrupts leaves the thread marked
    # as stopped while it runs on (CPython 3.10 to 3.12), and its statement would not be cancelled.
    there_done = threading.Event()

    def side() -> None:
        try:
            work(there)
        except BaseException as exc:  # handed to the caller's thread
            if not stop.is_set():  # else cancelled because the caller's thread failed
                failure.append(exc)
                stop.set()
                while not here_done.wait(_RECANCEL_SECONDS):
                    _cancel(here)
        finally:
            there_done.set()

    thread = threading.Thread(target=side, name=TWIN_THREAD, daemon=True)
    thread.start()
    try:
        try:
            work(here)
        finally:
            here_done.set()
        there_done.wait()
    except BaseException:
        if failure:  # this thread's statement was cancelled because of it
            there_done.wait()
            thread.join()
            raise failure[0] from None
        stop.set()
        while not there_done.wait(_RECANCEL_SECONDS):
            _cancel(there)
        thread.join()
        raise
    thread.join()
    if failure:
        raise failure[0]
    return [results[n] for n in range(len(tasks))]


def _cancel(conn: Connection) -> None:
    """Cancel ``conn``'s running statement, if any (from another thread)."""
    with contextlib.suppress(psycopg.Error):  # nothing to cancel, or a broken connection
        conn.cancel_safe()
