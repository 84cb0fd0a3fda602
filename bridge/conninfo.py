"""Connection strings: accept conninfo or URI (libpq rules), and never let a password out.

pgbridge prints and stores connection strings in reports, snapshots and logs; all of them go through
:func:`redact` first. Empty DSNs are valid: libpq then takes everything from the ``PG*`` environment.
"""

from __future__ import annotations

import re

from psycopg import conninfo as _ci

MASK = "********"

# Fallback for strings libpq cannot parse: hide anything that looks like a password value.
_PASSWORD_KV = re.compile(r"(?i)(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)")
_URI_USERINFO = re.compile(r"^([a-z]+://[^:/@]*:)([^@/]*)(@)", re.IGNORECASE)
_URI_QUERY_PW = re.compile(r"(?i)([?&]password=)([^&]*)")


def parse(dsn: str) -> dict[str, str]:
    """Parse a conninfo string or URI into its parameters (raises ``ValueError`` when malformed)."""
    try:
        return {k: str(v) for k, v in _ci.conninfo_to_dict(dsn).items() if v is not None}
    except Exception as exc:  # psycopg raises ProgrammingError for malformed strings
        raise ValueError(str(exc).strip().splitlines()[0]) from None


def has_password(dsn: str) -> bool:
    """True when the string carries a password (parsed, or by pattern when it does not parse)."""
    try:
        return "password" in parse(dsn)
    except ValueError:
        return bool(
            _PASSWORD_KV.search(dsn) or _URI_USERINFO.search(dsn) or _URI_QUERY_PW.search(dsn)
        )


def redact(dsn: str) -> str:
    """The string with any password masked; unchanged (byte for byte) when it holds none."""
    if not has_password(dsn):
        return dsn
    try:
        params = parse(dsn)
    except ValueError:
        masked = _PASSWORD_KV.sub(lambda m: m.group(1) + MASK, dsn)
        masked = _URI_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), masked)
        return _URI_QUERY_PW.sub(lambda m: m.group(1) + MASK, masked)
    params["password"] = MASK
    return _ci.make_conninfo("", **params)


def describe(dsn: str) -> str:
    """A short, password-free label for a DSN (``host:port/dbname user=...``), for messages."""
    try:
        params = parse(dsn)
    except ValueError:
        return redact(dsn)
    host = params.get("host") or params.get("hostaddr") or "(PGHOST/default)"
    port = params.get("port", "")
    where = f"{host}:{port}" if port else host
    db = params.get("dbname") or "(PGDATABASE/default)"
    user = params.get("user")
    return f"{where}/{db}" + (f" user={user}" if user else "")
