"""What a run did or would do: changes, a verification, and the result every command returns."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.findings import Finding, Severity
from bridge.planner.types import Plan

#: What a change did: to a pg_cron job (create ... remove), or to a pgAgent job.
Action = Literal[
    "create",
    "update",
    "unchanged",
    "skip",
    "activate",
    "deactivate",
    "remove",
    "unschedule",
    "disable-pgagent",
    "restore-pgagent",
]


@dataclass(frozen=True)
class Change:
    """One thing a run did (or, in a dry run, would do)."""

    action: Action
    pgagent_job_id: int
    cron_job: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Verification:
    checked: int
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`bridge.api.migrate`, :func:`~bridge.api.activate` or :func:`~bridge.api.rollback` did."""

    plan: Plan | None
    applied: bool
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    verification: Verification | None = None
    selected: tuple[int, ...] = ()

    def count(self, action: Action) -> int:
        return sum(1 for c in self.changes if c.action == action)
