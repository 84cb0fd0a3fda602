"""How a read's failures are told (bridge.pg.connect.reading), on a real server."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from bridge.errors import ConnectionFailed, QueryFailed
from bridge.pg.connect import reading

Conn = psycopg.Connection[tuple[Any, ...]]


def test_a_cancelled_statement_is_a_failed_query_not_a_lost_connection(db_dsn: str) -> None:
    """``statement_timeout`` cancels a statement of the read: the session is still there, and
    the message says what happened to the statement (not that the server cannot be reached)."""
    expected = "canceling statement due to statement timeout"
    with pytest.raises(QueryFailed, match=expected) as info, reading(db_dsn) as conn:
        conn.execute("SET statement_timeout = 50")
        conn.execute("SELECT pg_sleep(5)")
    assert not isinstance(info.value, ConnectionFailed)
    assert "cannot connect" not in str(info.value)


def test_a_session_ended_by_the_server_is_a_lost_connection(db: Conn, db_dsn: str) -> None:
    with (
        pytest.raises(ConnectionFailed, match=r"lost the connection to .*: ") as info,
        reading(db_dsn) as conn,
    ):
        db.execute("SELECT pg_terminate_backend(%s)", (conn.info.backend_pid,))
        conn.execute("SELECT 1")
    assert "\n" not in str(info.value)
