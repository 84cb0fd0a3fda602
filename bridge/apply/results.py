"""What a run did or would do: changes, a verification, and the result every command returns."""

from __future__ import annotations

import datetime as dt
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
class FailedRun:
    """A failed run in ``cron.job_run_details``: its start and message (passwords masked)."""

    start: dt.datetime
    message: str


@dataclass(frozen=True)
class RunCheck:
    """One migrated pg_cron job's runs since the migration against its schedule's fire times."""

    pgagent_job_id: int
    cron_job: str
    jobid: int
    schedule: str
    #: The window compared: ``[since, until)``.
    since: dt.datetime
    until: dt.datetime
    #: Fire instants in the window (a guarded job's: pgAgent's own fire times, see
    #: ``guard_rule``), and runs logged in it that went ahead (a guard's skips apart, every job).
    expected: int = 0
    ran: int = 0
    #: Fire times with no run at all.
    missed: int = 0
    missed_first: tuple[dt.datetime, ...] = ()
    #: Runs at no fire time (by hand, queued behind a long run, or let through by a guard).
    extra: int = 0
    extra_first: tuple[dt.datetime, ...] = ()
    failed: int = 0
    #: The latest failed runs (at most a few).
    failures: tuple[FailedRun, ...] = ()
    #: Runs a pgbridge guard ended at once at a minute that is no pgAgent fire time: as planned.
    skipped: int = 0
    #: Runs a guard ended at a minute that IS a pgAgent fire time: the steps did not run there.
    skipped_fire: int = 0
    skipped_fire_first: tuple[dt.datetime, ...] = ()
    median_seconds: float | None = None
    p95_seconds: float | None = None
    max_seconds: float | None = None
    #: The same figures from pgAgent's log, for comparison (None when it was not read).
    pgagent_median_seconds: float | None = None
    pgagent_p95_seconds: float | None = None
    #: Why the evidence is missing or partial ("" when it is complete).
    evidence: str = ""
    #: A guarded job's pgAgent rule came from: "ledger" (the definitions the plan was built
    #: from), "catalog" (pgAgent's catalog as it is now: the ledger holds no readable
    #: definition), "unavailable" (neither: skips are counted, not judged); "" unguarded.
    guard_rule: str = ""


@dataclass(frozen=True)
class Verification:
    checked: int
    findings: tuple[Finding, ...] = ()
    #: ``verify --runs``: one check per migrated pg_cron job (empty without ``--runs``).
    runs: tuple[RunCheck, ...] = ()

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
