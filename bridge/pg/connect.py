"""Opening connections the safe way: libpq rules, READ ONLY for readers, one-line errors.

A DSN may be a conninfo string, a URI, or empty (libpq then uses the ``PG*`` environment). Every
failure becomes a :class:`~bridge.errors.ConnectionFailed` whose message names the server (never the
password) and the likely fix.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterator
from typing import Any

import psycopg

from bridge.errors import ConnectionFailed, PrivilegeError, QueryFailed, first_line
from bridge.pg import conninfo

Connection = psycopg.Connection[tuple[Any, ...]]

_HINTS = (
    ("password authentication failed", "check the user and password (or ~/.pgpass / PGPASSWORD)"),
    ("no password supplied", "supply a password (PGPASSWORD, ~/.pgpass or the DSN)"),
    ("does not exist", "check the database and role names"),
    ("connection refused", "is the server running, and on that host and port?"),
    ("could not translate host name", "check the host name"),
    ("timeout expired", "is the host reachable? (firewall, port)"),
    ("no pg_hba.conf entry", "allow this client in pg_hba.conf"),
    ("permission denied for database", "GRANT CONNECT ON DATABASE to the role"),
    ("no such file or directory", "no local server socket: give host= (or PGHOST)"),
)


def _explain(exc: psycopg.Error, dsn: str) -> str:
    text = str(exc).strip()
    # libpq prefixes attempts with 'connection to server at "..." failed: '; keep the last reason.
    reason = text.splitlines()[-1] if text else type(exc).__name__
    reason = reason.split("failed: ")[-1].strip()
    where = conninfo.describe(dsn, os.environ)  # what libpq tried, PG* environment included
    socket = re.search(r'on socket "([^"]*)"', text)
    if socket:
        where += f" (socket {socket.group(1)})"
    for needle, hint in _HINTS:
        if needle in text.lower():
            return f"cannot connect to {where}: {reason} ({hint})"
    return f"cannot connect to {where}: {reason}"


def _parsed(dsn: str) -> dict[str, str]:
    try:
        return conninfo.parse(dsn)
    except ValueError as exc:
        raise ConnectionFailed(
            f"malformed connection string {conninfo.redact(dsn)!r}: {exc}"
        ) from None


def connect(dsn: str, *, read_only: bool, application_name: str = "pgbridge") -> Connection:
    """Connect, or raise :class:`ConnectionFailed` with one clear line.

    With ``read_only`` every transaction the connection opens is ``READ ONLY`` (a reader cannot
    change anything even by mistake) and ``REPEATABLE READ`` (one snapshot per transaction).
    """
    params = _parsed(dsn)
    # Explicit parameters beat the environment in libpq: set defaults only where PG* is silent.
    if "PGAPPNAME" not in os.environ:
        params.setdefault("application_name", application_name)
    if "PGCONNECT_TIMEOUT" not in os.environ:
        params.setdefault("connect_timeout", "10")
    try:
        conn = psycopg.connect(psycopg.conninfo.make_conninfo("", **params), autocommit=False)
    except psycopg.Error as exc:
        raise ConnectionFailed(_explain(exc, dsn)) from None
    conn.read_only = read_only
    if read_only:
        # REPEATABLE READ, as pg_dump's reads: every statement of a transaction sees the same
        # snapshot, so a job, its steps and its run log are read as they stood at one instant
        # even while pgAdmin edits them or the agent logs runs.
        conn.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ
    return conn


#: libpq learnt ``load_balance_hosts`` in version 16 and ``hostaddr`` reporting in 12.
_LOAD_BALANCE_FROM = 160000
_HOSTADDR_FROM = 120000


def sibling(dsn: str, conn: Connection) -> Connection:
    """One more READ ONLY connection to the very server ``conn`` reached through ``dsn``.

    A DSN may name several hosts (libpq tries them in turn, or at random with
    ``load_balance_hosts``): the sibling is pinned to the host, address and port ``conn`` got, so
    it neither walks the list again nor lands on another server.
    """
    params = _parsed(dsn)
    params |= {"host": conn.info.host, "port": str(conn.info.port), "target_session_attrs": "any"}
    params.pop("hostaddr", None)
    if psycopg.pq.version() >= _HOSTADDR_FROM and conn.info.hostaddr:
        params["hostaddr"] = conn.info.hostaddr  # the address, when a name has several
    if psycopg.pq.version() >= _LOAD_BALANCE_FROM:
        params["load_balance_hosts"] = "disable"
    return connect(psycopg.conninfo.make_conninfo("", **params), read_only=True)


@contextlib.contextmanager
def reading(dsn: str) -> Iterator[Connection]:
    """A READ ONLY connection, closed (and its transaction rolled back) at the end of the block."""
    conn = connect(dsn, read_only=True)
    try:
        yield conn
        conn.rollback()
    except psycopg.errors.InsufficientPrivilege as exc:
        raise PrivilegeError(
            f"{conninfo.describe(dsn, os.environ)}: {first_line(exc)} "
            "(grant that privilege to the role, or connect as a superuser)"
        ) from None
    except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
        if conn.closed:  # the server ended the session (before this block closes it)
            where = conninfo.describe(dsn, os.environ)
            raise ConnectionFailed(f"lost the connection to {where}: {first_line(exc)}") from None
        raise QueryFailed(f"{conninfo.describe(dsn, os.environ)}: {first_line(exc)}") from None
    except psycopg.Error as exc:
        raise QueryFailed(f"{conninfo.describe(dsn, os.environ)}: {first_line(exc)}") from None
    finally:
        conn.close()  # also ends the transaction
