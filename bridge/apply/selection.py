"""``--job`` / ``--exclude``: one matcher for every command that selects jobs by id or name.

Each command says which keys a job answers to (a pgAgent job its id and name, a pg_cron job its
id and name); a selector that matches no job at all is a usage error, never an empty run.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from bridge.errors import UsageError
from bridge.planner.types import JobPlan, Plan


def check_selectors(selectors: Iterable[str], known: Iterable[str], what: str) -> None:
    """Refuse selectors that name no job (``what``: "pgAgent job", "pg_cron job")."""
    keys = set(known)
    unknown = [s for s in selectors if s not in keys]
    if unknown:
        raise UsageError(f"no {what} with id or name {', '.join(map(repr, unknown))}")


def matches(jobs: Sequence[str], exclude: Sequence[str], keys: set[str]) -> bool:
    """Whether a job with these keys is selected: named by ``jobs`` (or ``jobs`` is empty) and
    not named by ``exclude``."""
    if jobs and not keys & set(jobs):
        return False
    return not keys & set(exclude)


@dataclass(frozen=True)
class Selection:
    """Which pgAgent jobs to act on: ids or names; empty ``jobs`` means all."""

    jobs: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_manual: bool = False

    def wants(self, job: JobPlan) -> bool:
        if not is_chosen(self, job.job_id, {job.job_id: job.job_name}):
            return False
        return job.creates(include_manual=self.include_manual)


def _keys(job_id: int, names: dict[int, str]) -> set[str]:
    return {str(job_id), names.get(job_id, str(job_id))}


def check_known(selection: Selection, names: dict[int, str]) -> None:
    known = (k for job_id in names for k in _keys(job_id, names))
    check_selectors((*selection.jobs, *selection.exclude), known, "pgAgent job")


def is_chosen(selection: Selection, job_id: int, names: dict[int, str]) -> bool:
    """``--job`` / ``--exclude`` by id or name."""
    return matches(selection.jobs, selection.exclude, _keys(job_id, names))


def select(plan: Plan, selection: Selection) -> list[JobPlan]:
    check_known(selection, {j.job_id: j.job_name for j in plan.jobs})
    return [j for j in plan.jobs if selection.wants(j)]
