"""``--job`` / ``--exclude``: one matcher for every command that selects jobs by id or name.

Each command says which keys a job answers to (a pgAgent job its id and name, a pg_cron job its
id and name); a selector that matches no job at all is a usage error, never an empty run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from bridge.errors import UsageError


def check_known(selectors: Iterable[str], known: Iterable[str], what: str) -> None:
    """Refuse selectors that name no job (``what``: "pgAgent job", "pg_cron job")."""
    keys = set(known)
    unknown = [s for s in selectors if s not in keys]
    if unknown:
        raise UsageError(f"no {what} with id or name {', '.join(map(repr, unknown))}")


def chosen(jobs: Sequence[str], exclude: Sequence[str], keys: set[str]) -> bool:
    """Whether a job with these keys is selected: named by ``jobs`` (or ``jobs`` is empty) and
    not named by ``exclude``."""
    if jobs and not keys & set(jobs):
        return False
    return not keys & set(exclude)
