"""Which TimeZone pgAgent evaluates schedules in (pgagent.sql: ``pga_next_schedule`` works on
``timestamptz`` values, so its dates and times are those of the calling session's TimeZone).

pgAgent matches schedules on the wall clock of the session that recomputes ``jobnextrun``: in steady
state the agent's own connection. That session's TimeZone is, in PostgreSQL's order of precedence,
the setting for (agent role, database), for the role in any database, for the database for any role,
and otherwise the server default from postgresql.conf. A user may override all of it.
"""

from __future__ import annotations

import zoneinfo
from typing import TYPE_CHECKING

from bridge.errors import UsageError
from bridge.findings import Severity
from bridge.model import Diagnostic

if TYPE_CHECKING:  # reading is I/O; checking a zone (planning) must not load the driver
    from bridge.pg.connect import Connection

SETTINGS = """
SELECT r.rolname, d.datname, cfg
  FROM pg_db_role_setting s
  LEFT JOIN pg_roles r ON r.oid = s.setrole
  LEFT JOIN pg_database d ON d.oid = s.setdatabase
  CROSS JOIN LATERAL unnest(s.setconfig) AS cfg
 WHERE lower(split_part(cfg, '=', 1)) = 'timezone'
   AND (s.setdatabase = 0 OR d.datname = %(db)s)
   AND (s.setrole = 0 OR r.rolname = %(role)s)
"""

SERVER = """
SELECT setting, source, boot_val, has_function_privilege('pg_show_all_file_settings()', 'EXECUTE')
  FROM pg_settings WHERE name = 'TimeZone'
"""

# A separate statement: EXECUTE is checked when a query starts, even in an untaken CASE branch.
FILE = """
SELECT setting FROM pg_show_all_file_settings()
 WHERE lower(name) = 'timezone' AND applied ORDER BY seqno DESC LIMIT 1
"""


def check_zone(name: str, what: str = "time zone", fix: str = "use an IANA name") -> str:
    """Validate an IANA zone name (one clear line naming ``what`` when it is unknown).

    PostgreSQL also takes POSIX zone specs ("UTC+3") that pgbridge cannot analyse; the line says
    how to name the same zone instead.
    """
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        raise UsageError(
            f"unknown {what} {name!r}: {fix} such as 'Europe/Berlin' or 'UTC'"
        ) from None
    return name


#: ``pg_settings.source`` values that mean "this session still has the server's own value".
SERVER_SOURCES = ("default", "environment variable", "configuration file", "command line")


def resolve_agent_timezone(
    conn: Connection, *, database: str, agent_role: str | None, override: str | None
) -> tuple[str, str, list[Diagnostic]]:
    """Return (zone, where it came from, diagnostics) for pgAgent's schedule evaluation."""
    if override:
        return check_zone(override), "override (--timezone)", []
    unseen = Diagnostic(
        "TIMEZONE_AGENT_SESSION_UNSEEN",
        Severity.INFO,
        "a TimeZone set by pgAgent's own connection (options='-c TimeZone=...' in its connection "
        "string, or PGTZ in its environment) cannot be seen from here; pass --timezone if it sets one",
    )
    found: dict[tuple[bool, bool], str] = {}
    for rolname, datname, cfg in conn.execute(SETTINGS, {"db": database, "role": agent_role or ""}):
        found[(rolname is not None, datname is not None)] = str(cfg).split("=", 1)[1].strip()
    for key, label in (
        ((True, True), f"ALTER ROLE {agent_role} IN DATABASE {database} SET timezone"),
        ((True, False), f"ALTER ROLE {agent_role} SET timezone"),
        ((False, True), f"ALTER DATABASE {database} SET timezone"),
        ((False, False), "ALTER ROLE ALL SET timezone"),
    ):
        if key in found:
            return found[key], label, [unseen]
    row = conn.execute(SERVER).fetchone()
    assert row is not None
    setting, source, boot, may_read_files = row
    if source in SERVER_SOURCES:
        return str(setting), f"server default ({source})", [unseen]
    file_row = conn.execute(FILE).fetchone() if may_read_files else None
    if file_row is not None:
        return str(file_row[0]), "server default (postgresql.conf)", [unseen]
    return (
        str(boot),
        "unknown: assumed the built-in default",
        [
            unseen,
            Diagnostic(
                "TIMEZONE_UNKNOWN",
                Severity.WARNING,
                f"the server's default TimeZone is hidden from this role (its own session value "
                f"{setting!r} comes from {source} settings, and postgresql.conf is unreadable "
                f"without superuser); assumed {boot!r}: pass --timezone",
            ),
        ],
    )
