"""Which server a connection reaches: host, port, system identifier and its databases.

The planner needs it to tell whether a step's connection string means the server pgAgent ran on
(same host and port; the system identifier tells two servers apart where the role may read it)
and whether the databases steps run in exist.
"""

from __future__ import annotations

from bridge.model import Server
from bridge.pg.connect import Connection

SERVER = """
SELECT current_setting('port')::int,
       ARRAY(SELECT datname::text FROM pg_database WHERE datallowconn ORDER BY datname)
"""


def system_identifier(conn: Connection) -> str | None:
    """The cluster's system identifier, or None when this role may not call
    ``pg_control_system()`` (the privilege is checked first: a refused call would abort the
    caller's transaction)."""
    row = conn.execute("SELECT has_function_privilege('pg_control_system()', 'EXECUTE')").fetchone()
    if not (row and row[0]):
        return None
    got = conn.execute("SELECT system_identifier::text FROM pg_control_system()").fetchone()
    return str(got[0]) if got and got[0] is not None else None


def read_server(conn: Connection) -> Server:
    """The server ``conn`` reaches (a constant number of queries)."""
    row = conn.execute(SERVER).fetchone()
    assert row is not None
    port, databases = row
    return Server(conn.info.host, int(port), system_identifier(conn), tuple(databases))
