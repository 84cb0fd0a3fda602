"""Connection strings: accept conninfo or URI (libpq rules), and never let a password out.

pgbridge prints and stores connection strings in reports, snapshots and logs; all of them go through
:func:`redact` first. Empty DSNs are valid: libpq then takes everything from the ``PG*`` environment.
libpq's own parse errors quote the text they choke on, which may be a password: they are shown with
every quoted part that overlaps a secret replaced.

Parsing is libpq's own (through psycopg), loaded on first use: the pure core (the planner reads
steps' connection strings) imports no driver until a connection string is actually parsed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Host names that mean "this machine" in a connection string (empty: libpq's Unix socket).
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


def _to_dict(dsn: str) -> dict[str, object]:
    from psycopg.conninfo import conninfo_to_dict

    return dict(conninfo_to_dict(dsn))


def _make(params: Mapping[str, str]) -> str:
    from psycopg.conninfo import make_conninfo

    return make_conninfo("", **params)


MASK = "********"
#: Parameters whose values are secrets (the password, and the passphrase of the client key).
SECRETS = ("password", "sslpassword")

_KEY = r"(?:[A-Za-z_]+\s*=)"
# Fallback for strings libpq cannot parse: a secret's value runs to the next "key=" or the end.
_SECRET_KV = re.compile(
    rf"(?i)\b((?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|.*?)(?=\s+{_KEY}|$)", re.DOTALL
)
# The password runs to the *last* "@" of the authority: an unencoded "@" inside it must not
# leave a fragment outside the mask.
_URI_USERINFO = re.compile(r"^([a-z][a-z0-9+.-]*://[^:/@?#]*:)([^/?#]*)(@)", re.IGNORECASE)
_URI = re.compile(r"^postgres(?:ql)?://", re.IGNORECASE)
_URI_QUERY_SECRET = re.compile(r"(?i)([?&](?:ssl)?password=)([^&]*)")
_QUOTED = re.compile(r'"[^"]*"')
#: A URI whose authority libpq may have split elsewhere than the user meant is shown as this.
URI_UNPARSABLE = f"postgresql://{MASK} (unparsable URI, redacted)"
_PORTS = re.compile(r"^[0-9,]*$")


def _secret_values(dsn: str) -> list[str]:
    """What looks like a secret in a string libpq cannot parse (by pattern)."""
    found = [m.group(2).strip("'\"") for m in _SECRET_KV.finditer(dsn)]
    found += [m.group(2) for m in _URI_USERINFO.finditer(dsn)]
    found += [m.group(2) for m in _URI_QUERY_SECRET.finditer(dsn)]
    return [v for v in found if v]


def _safe_reason(message: str, dsn: str) -> str:
    """libpq's first line with every quoted excerpt that overlaps a secret replaced by "…";
    the others ("=", an unknown option's name) stay, so the reason remains readable."""
    first = message.strip().splitlines()[0] if message.strip() else "malformed"
    secrets = _secret_values(dsn)
    uri = bool(_URI.match(dsn))

    def mask(m: re.Match[str]) -> str:
        quoted = m.group(0)[1:-1]
        # in a URI any excerpt may be (part of) a password libpq did not recognise as one
        if quoted and (uri or any(quoted in s or s in quoted for s in secrets)):
            return '"…"'
        return m.group(0)

    return _QUOTED.sub(mask, first)


def parse(dsn: str) -> dict[str, str]:
    """Parse a conninfo string or URI into its parameters.

    Raises ``ValueError`` with libpq's reason, its quoted excerpts that overlap a password
    replaced by ``"…"``.
    """
    try:
        params = {k: str(v) for k, v in _to_dict(dsn).items() if v is not None}
    except Exception as exc:  # psycopg raises ProgrammingError for malformed strings
        raise ValueError(_safe_reason(str(exc), dsn)) from None
    if _URI.match(dsn) and _ambiguous_uri(dsn, params):
        raise ValueError(
            "the URI's user name, password or host cannot be parsed unambiguously:"
            " percent-encode '@', '/', ':', '?' and '#' in them ('@' as %40)"
        )
    return params


def _ambiguous_uri(dsn: str, params: Mapping[str, str]) -> bool:
    """True when libpq's split of the URI may have put (part of) a password in another field.

    libpq ends the authority at the first "/" and the user info at the first "@":
    ``u:Sekr/et@h/db`` reads as host ``u``, port ``Sekr``; ``u:Se@kr/et@h/db`` as host ``kr``.
    Any "@" that libpq did not take as the user info's end, or a port that is not a number,
    means the split is a guess.
    """
    rest = dsn.split("://", 1)[1]
    userinfo = re.match(r"[^@/]*@", rest)  # libpq: the user info ends at an "@" before any "/"
    after = rest[userinfo.end() :] if userinfo else rest
    stray_at = "@" in after.split("?", 1)[0]
    return stray_at or "@" in params.get("host", "") or not _PORTS.match(params.get("port", ""))


def _pattern_redact(dsn: str) -> str:
    masked = _SECRET_KV.sub(lambda m: m.group(1) + MASK, dsn)
    masked = _URI_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), masked)
    return _URI_QUERY_SECRET.sub(lambda m: m.group(1) + MASK, masked)


# In free text (a step's error output): a URI's user:secret@ anywhere, PASSWORD 'literal' (as in
# CREATE ROLE), and PGPASSWORD=value (as a shell step may echo it).
_TEXT_URI_USERINFO = re.compile(r"(?i)(\b[a-z][a-z0-9+.-]*://[^:/@?#\s]*:)([^\s/?#]*)(@)")
_TEXT_PASSWORD_LITERAL = re.compile(r"(?i)(\bpassword\s+)('(?:[^']|'')*'?)")
_TEXT_ENV = re.compile(r"(?i)(\bPGPASSWORD\s*=\s*)(\S*)")
_TEXT_KV = re.compile(r"(?i)(\b(?:ssl)?password\s*=\s*)('(?:[^'\\]|\\.)*'?|\S*)")


def redact_text(text: str) -> str:
    """Free text (a log's error output) with everything that looks like a password masked:
    ``password=...`` pairs, a URI's ``user:secret@``, ``PASSWORD '...'`` and ``PGPASSWORD=...``."""
    if "password" not in text.lower() and "@" not in text:
        return text
    text = _TEXT_URI_USERINFO.sub(lambda m: m.group(1) + MASK + m.group(3), text)
    text = _TEXT_PASSWORD_LITERAL.sub(lambda m: m.group(1) + "'" + MASK + "'", text)
    text = _TEXT_ENV.sub(lambda m: m.group(1) + MASK, text)
    text = _TEXT_KV.sub(lambda m: m.group(1) + MASK, text)
    return _URI_QUERY_SECRET.sub(lambda m: m.group(1) + MASK, text)


def has_password(dsn: str) -> bool:
    """True when the string carries a secret (parsed, or by pattern when it does not parse)."""
    if "password" not in dsn.lower() and "@" not in dsn:  # named, or a URI's user:secret@
        return False
    try:
        return any(key in parse(dsn) for key in SECRETS)
    except ValueError:
        return _pattern_redact(dsn) != dsn


def redact(dsn: str) -> str:
    """The string with every secret masked; unchanged (byte for byte) when it holds none.

    A URI libpq cannot parse (unambiguously) is replaced as a whole: any part of it may be
    the password."""
    if _URI.match(dsn):
        try:
            parse(dsn)
        except ValueError:
            return URI_UNPARSABLE
    if not has_password(dsn):
        return dsn
    try:
        params = parse(dsn)
    except ValueError:
        return _pattern_redact(dsn)
    for key in SECRETS:
        if key in params:
            params[key] = MASK
    return _make(params)


def without_secrets(dsn: str) -> str:
    """The string with every secret parameter removed (not masked): for connection strings that
    are handed to another program, which must then find the password in ~/.pgpass."""
    if _URI.match(dsn) and redact(dsn) == URI_UNPARSABLE:
        return URI_UNPARSABLE
    if not has_password(dsn):
        return dsn
    try:
        params = parse(dsn)
    except ValueError:
        return _SECRET_KV.sub("", _pattern_redact(dsn)).strip()
    return _make({k: v for k, v in params.items() if k not in SECRETS})


def describe(dsn: str, environ: Mapping[str, str] | None = None) -> str:
    """A short, secret-free label for a DSN (``host:port/dbname user=...``), for messages.

    With ``environ`` (the ``PG*`` environment libpq reads) the label is what libpq will try:
    parameters the DSN leaves out come from ``PGHOST``, ``PGPORT``, ... or libpq's defaults.
    """
    try:
        params = parse(dsn)
    except ValueError:
        return "(unparsable connection string)"
    if environ is not None:
        for key, var in _ENVIRONMENT:
            if not params.get(key) and environ.get(var):
                params[key] = environ[var]
        params.setdefault("port", "5432")
        params.setdefault("host", "(local socket)")
    host = params.get("host") or params.get("hostaddr") or "(PGHOST/default)"
    port = params.get("port", "")
    where = f"{host}:{port}" if port else host
    db = params.get("dbname") or "(PGDATABASE/default)"
    user = params.get("user")
    return f"{where}/{db}" + (f" user={user}" if user else "")


#: Connection parameters libpq takes from the environment when a DSN leaves them out.
_ENVIRONMENT = (
    ("host", "PGHOST"),
    ("hostaddr", "PGHOSTADDR"),
    ("port", "PGPORT"),
    ("dbname", "PGDATABASE"),
    ("user", "PGUSER"),
)
