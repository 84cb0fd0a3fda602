"""What a migration changes, as findings: a stable code, a severity, what it concerns, a message and
a remedy; and the one status rule plans and exports share.

Every code is listed in :mod:`bridge.codes` (its severity and title) and documented in
``docs/findings.md``; tests keep the three in step.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum
from typing import Literal

Status = Literal["exact", "changed", "manual", "skipped"]
#: What a finding is about (see :attr:`Finding.subject`).
Subject = Literal["plan", "job", "step", "schedule"]


class Severity(str, Enum):
    """How much a diagnostic or finding matters (ordered: info < warning < error)."""

    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "error": 2}[self.value]


@dataclass(frozen=True)
class Finding:
    """One behaviour change or obstacle, located on the job, step or schedule it concerns."""

    code: str
    severity: Severity
    message: str
    remedy: str
    job_id: int
    step_id: int | None = None
    schedule_id: int | None = None
    #: Long text that belongs with the finding (a batch step's script).
    detail: str = ""

    @property
    def subject(self) -> Subject:
        """What the finding concerns: the whole plan (``job_id`` 0), a job, a step or a schedule.

        In an export's findings ``job_id`` is the pg_cron job's id (0: the whole export)."""
        if self.step_id is not None:
            return "step"
        if self.schedule_id is not None:
            return "schedule"
        return "job" if self.job_id else "plan"


def count_statuses(statuses: Iterable[Status]) -> dict[str, int]:
    """How many jobs have each status (plans and exports share the statuses)."""
    out = {"jobs": 0, "exact": 0, "changed": 0, "manual": 0, "skipped": 0}
    for status in statuses:
        out["jobs"] += 1
        out[status] += 1
    return out


def reaches(findings: Iterable[Finding | Severity], level: str) -> bool:
    """True when a finding (or a bare severity) is at least ``level`` (error/warning/info);
    ``never`` is never reached. The one ``--fail-on`` rule of every command."""
    if level == "never":
        return False
    bar = Severity(level).rank
    return any((f if isinstance(f, Severity) else f.severity).rank >= bar for f in findings)


def status_of(findings: Iterable[Finding], creates: bool) -> Status:
    """An error makes a job manual; with nothing to create it is skipped; a warning means the
    result behaves differently (changed); otherwise it is exact. Plans and exports share this."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "manual"
    if not creates:
        return "skipped"
    return "changed" if Severity.WARNING in severities else "exact"
