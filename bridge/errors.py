"""One small error hierarchy: every failure pgbridge reports to a user is a :class:`BridgeError`.

The CLI prints ``str(error)`` as one line and exits with :attr:`BridgeError.exit_code`; library callers
catch the base class (or a subclass) and read the attributes. Messages name the problem *and* the fix.

The whole hierarchy (all exit with code 2)::

    BridgeError
     +-- UsageError          the call is wrong: options, arguments, an unknown time zone
     +-- ConnectionFailed    server unreachable, login refused, database missing, connection lost
     +-- QueryFailed         the server rejected or cancelled a statement
     +-- CatalogNotFound     no pgAgent catalog / no pg_cron where one was expected
     +-- ExtensionOutdated   pg_cron's SQL version is older than its library (ALTER EXTENSION)
     +-- PrivilegeError      the role lacks a privilege; the message lists every one missing
     +-- SnapshotError       a snapshot file is unreadable, malformed or of an unknown version
     +-- MigrationLocked     another pgbridge run holds the migration lock
     +-- ForeignRow          a ledger row belongs to another pgAgent catalog
     +-- SwitchTooLarge      a cross-database switch cannot fit inside one quiet minute
     +-- HarnessError        a throwaway cluster (demo, tests) could not be set up

Findings are not errors: what a migration changes is reported, not raised.
"""

from __future__ import annotations


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (server errors carry DETAIL and HINT lines)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class BridgeError(Exception):
    """Base class of every error pgbridge raises on purpose."""

    exit_code = 2


class UsageError(BridgeError):
    """The call itself is wrong (options, arguments, an unknown time zone)."""


class ConnectionFailed(BridgeError):
    """The server could not be reached, refused the login, or the database does not exist."""


class QueryFailed(BridgeError):
    """The server rejected or cancelled a statement pgbridge sent (message from the server)."""


class CatalogNotFound(BridgeError):
    """The database holds no pgAgent catalog (or no pg_cron extension) where one was expected."""


class ExtensionOutdated(BridgeError):
    """pg_cron is there, but its extension SQL version lags its library's so far that writing
    would fail or crash (TARGET_EXTENSION_OUTDATED); ``ALTER EXTENSION pg_cron UPDATE`` fixes it."""


class PrivilegeError(BridgeError):
    """The connecting role lacks a privilege pgbridge needs; the message names it."""


class SnapshotError(BridgeError):
    """A snapshot file is unreadable, malformed, or of an unsupported format version."""


class MigrationLocked(BridgeError):
    """Another pgbridge run holds the migration lock."""


class ForeignRow(BridgeError):
    """A ledger row belongs to another pgAgent catalog: never taken over."""


class SwitchTooLarge(BridgeError):
    """The pgAgent side of a cross-database switch takes longer than the quiet window of a minute
    allows between the two commits; nothing was committed."""


class HarnessError(BridgeError):
    """A throwaway PostgreSQL cluster (demo, tests) could not be set up; the message says why."""
