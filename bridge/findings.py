"""What a migration changes, as findings: a stable code, a severity, the job, step or schedule
concerned, a message and a remedy; and the one status rule plans and exports share."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from bridge.model import (
    Severity,
)

Status = Literal["exact", "changed", "manual", "skipped"]


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


def count_statuses(statuses: Iterable[Status]) -> dict[str, int]:
    """How many jobs have each status (plans and exports share the statuses)."""
    out = {"jobs": 0, "exact": 0, "changed": 0, "manual": 0, "skipped": 0}
    for status in statuses:
        out["jobs"] += 1
        out[status] += 1
    return out


def reaches(findings: Iterable[Finding], level: str) -> bool:
    """True when a finding is at least ``level`` (error/warning/info); ``never`` is never reached."""
    if level == "never":
        return False
    bar = Severity(level).rank
    return any(f.severity.rank >= bar for f in findings)


def status_of(findings: Iterable[Finding], creates: bool) -> Status:
    """An error makes a job manual; with nothing to create it is skipped; a warning means the
    result behaves differently (changed); otherwise it is exact. Plans and exports share this."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "manual"
    if not creates:
        return "skipped"
    return "changed" if Severity.WARNING in severities else "exact"
