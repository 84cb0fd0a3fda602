"""The work state of planning one job: the findings collected so far."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.findings import Finding, Severity
from bridge.model import Job, Schedule, Step


@dataclass
class JobWork:
    """Work state while planning one job."""

    job: Job
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        remedy: str,
        *,
        step: Step | None = None,
        schedule: Schedule | None = None,
        detail: str = "",
    ) -> None:
        self.findings.append(
            Finding(
                code,
                severity,
                message,
                remedy,
                self.job.id,
                step.id if step else None,
                schedule.id if schedule else None,
                detail,
            )
        )
