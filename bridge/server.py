"""Which server a connection reaches: host, port, system identifier and its databases.

The planner needs it to tell whether a step's connection string means the server pgAgent ran on
(same host and port; the system identifier tells two servers apart where the role may read it)
and whether the databases steps run in exist.
"""

from __future__ import annotations

from .connect import Connection
from .model import Server

SERVER = """
SELECT current_setting('port')::int,
       CASE WHEN has_function_privilege('pg_control_system()', 'EXECUTE')
            THEN (SELECT system_identifier::text FROM pg_control_system()) END,
       ARRAY(SELECT datname::text FROM pg_database WHERE datallowconn ORDER BY datname)
"""


def read_server(conn: Connection) -> Server:
    """The server ``conn`` reaches (one query)."""
    row = conn.execute(SERVER).fetchone()
    assert row is not None
    port, sysid, databases = row
    return Server(conn.info.host, int(port), sysid, tuple(databases))
