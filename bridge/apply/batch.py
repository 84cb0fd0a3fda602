"""Many pg_cron API calls as a few statements: each call as it is, evaluated once per array row.

A migration of thousands of jobs must not cost a round trip per job, yet every change must stay a
call of pg_cron's own functions (``cron.schedule``, ``schedule_in_database``, ``alter_job``,
``unschedule``), which check ownership and permissions that a direct write into ``cron.job`` would
bypass. So calls of the same shape are sent together: ``SELECT cron.f(a.v0, a.v1) FROM unnest(...)
WITH ORDINALITY AS a(v0, v1, n)`` runs the function once per row, in one statement, inside the
caller's transaction. Only the direct DML of pg_cron before 1.4 (no ``alter_job``) goes through
``executemany`` in psycopg's pipeline mode.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg

from bridge.pg.connect import Connection
from bridge.planner.calls import Call
from bridge.progress import SILENT, Progress, tracked

#: The array type each value style travels in.
_ARRAY = {"text": "text[]", "code": "text[]", "bool": "boolean[]", "int": "bigint[]"}
_SAVEPOINT = "pgbridge_batch"


class CallFailed(Exception):
    """The server refused call number ``index`` of a batch (replayed one by one to find it)."""

    def __init__(self, index: int, error: psycopg.Error) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


def run_calls(conn: Connection, calls: Sequence[Call], progress: Progress = SILENT) -> list[Any]:
    """Execute ``calls`` in the connection's open transaction, one statement per shape of call;
    returns each call's value (``None`` for DML), in order.

    When the server refuses a batch, it is undone (a savepoint around it) and replayed call by
    call, so that :class:`CallFailed` says which call it was; the transaction is then aborted, and
    the caller ends the run (nothing of it is committed). ``progress`` is told of each
    statement (batch) sent.
    """
    results: list[Any] = [None] * len(calls)
    shapes: dict[str, list[int]] = {}
    for i, call in enumerate(calls):
        shapes.setdefault(call.sql, []).append(i)
    batches = tracked(progress, "applying", shapes.items(), len(shapes), "batches") if calls else ()
    for sql, members in batches:
        group = [calls[i] for i in members]
        conn.execute(f"SAVEPOINT {_SAVEPOINT}")
        try:
            values = _send(conn, sql, group)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # the connection is gone: the session says so
        except psycopg.Error:
            conn.execute(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            values = _one_by_one(conn, group, members)
        conn.execute(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        for i, value in zip(members, values, strict=True):
            results[i] = value
    return results


def _send(conn: Connection, sql: str, group: Sequence[Call]) -> list[Any]:
    expression = sql.removeprefix("SELECT ")
    if expression.startswith("UPDATE "):  # direct DML (pg_cron before 1.4): pipelined
        with conn.cursor() as cur:
            cur.executemany(sql, [c.params for c in group])
        return [None] * len(group)
    styles = [style for style, _ in group[0].values]
    columns = [f"v{k}" for k in range(len(styles))]
    pieces = expression.split("%s")
    text = pieces[0] + "".join(
        f"a.{col}{tail}" for col, tail in zip(columns, pieces[1:], strict=True)
    )
    arrays = ", ".join(f"%s::{_ARRAY[style]}" for style in styles)
    rows = conn.execute(
        f"SELECT a.n, {text} FROM unnest({arrays}) WITH ORDINALITY AS a({', '.join(columns)}, n)",
        [[c.values[k][1] for c in group] for k in range(len(styles))],
    ).fetchall()
    out: list[Any] = [None] * len(group)
    for n, value in rows:
        out[int(n) - 1] = value
    return out


def _one_by_one(conn: Connection, group: Sequence[Call], members: Sequence[int]) -> list[Any]:
    out: list[Any] = []
    for index, call in zip(members, group, strict=True):
        sql = call.sql if call.sql.startswith(("SELECT ", "UPDATE ")) else f"SELECT {call.sql}"
        try:
            cur = conn.execute(sql, call.params)
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise
        except psycopg.Error as exc:
            raise CallFailed(index, exc) from None
        row = cur.fetchone() if cur.description else None
        out.append(row[0] if row else None)
    return out
