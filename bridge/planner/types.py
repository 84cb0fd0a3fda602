"""The plan's types: the options a DBA chooses, the pg_cron jobs to create, and the plan itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Literal

from bridge.findings import Finding, Status, count_statuses
from bridge.model import JobHistory
from bridge.pg.conninfo import LOCAL_HOSTS
from bridge.planner.guard import Guard
from bridge.planner.target import Target
from bridge.schedule import (
    Mode,
)
from bridge.schedule.preview import FireWeek
from bridge.serialize import NOT_JSON

FORMAT_VERSION = 1


@dataclass(frozen=True)
class PlanOptions:
    """Choices a DBA makes; the defaults reproduce what pgAgent really did and hide nothing."""

    #: "actual" translates pgAgent's real behaviour (its bugs too); "configured" what was ticked.
    mode: Mode = "actual"
    #: Disabled jobs and schedules: planned as inactive pg_cron jobs, or left out.
    disabled: Literal["inactive", "skip"] = "inactive"
    #: Migrate the SQL steps of a job that also has batch (shell) steps, dropping the latter.
    sql_part_of_mixed: bool = False
    #: Split steps that cannot share a command into separate pg_cron jobs (order is lost).
    split_steps: bool = False
    #: The role pg_cron jobs run as (``username``); None = the role that applies the plan.
    run_as: str | None = None
    #: Hosts that mean "the pgAgent server itself" in a step's ``jstconnstr``.
    local_hosts: tuple[str, ...] = LOCAL_HOSTS
    local_port: str | None = None
    #: First day of the equivalence horizon (default: today, UTC).
    since: dt.date | None = None
    #: Guard the command with pgAgent's rule where cron alone is not exact (``--no-guards``).
    guards: bool = True


@dataclass(frozen=True)
class CronJobPlan:
    """One pg_cron job to create."""

    name: str
    schedule: str
    command: str
    database: str
    #: None = the role that applies the plan.
    username: str | None
    active: bool
    schedule_ids: tuple[int, ...]
    step_ids: tuple[int, ...]
    #: True when several steps were wrapped into one DO block.
    wrapped: bool = False
    #: pgAgent's rule checked by the command before the steps run (None: no guard).
    guard: Guard | None = None

    def in_cron_database(self, target: Target) -> bool:
        return self.database == target.database and self.username is None


@dataclass(frozen=True)
class ScheduleNote:
    """A pgAgent schedule as the report shows it: id, name, plain words, the catalog's comment."""

    id: int
    name: str
    #: pgbridge's plain words for the schedule (not the catalog's comment: that is ``comment``)
    description: str
    enabled: bool
    #: ``jscdesc``
    comment: str = ""


@dataclass(frozen=True)
class StepNote:
    """A pgAgent step's comment (``jstdesc``), for the reports."""

    id: int
    name: str
    comment: str


@dataclass(frozen=True)
class JobPlan:
    job_id: int
    job_name: str
    enabled: bool
    status: Status
    cron_jobs: tuple[CronJobPlan, ...] = ()
    findings: tuple[Finding, ...] = ()
    schedules: tuple[ScheduleNote, ...] = ()
    #: ``jobdesc``, and the steps that have a comment
    comment: str = ""
    steps: tuple[StepNote, ...] = ()
    #: What pgAgent's run log says (None when it was not read): ``docs/plan-json.md``.
    history: JobHistory | None = None
    #: For a changed job whose fire times differ: the first week that differs, both sides (the
    #: text and Markdown picture; not in JSON, whose findings say the same in numbers).
    fire_week: FireWeek | None = field(default=None, metadata=NOT_JSON)

    def creates(self, *, include_manual: bool = False) -> bool:
        """Whether migrating creates this job's pg_cron jobs: it has some, and it is exact or
        changed (or manual, when the DBA takes manual jobs as they are planned). The one rule the
        script, the counts and ``migrate`` share."""
        if not self.cron_jobs:
            return False
        return self.status in ("exact", "changed") or (include_manual and self.status == "manual")


@dataclass(frozen=True)
class Plan:
    source: str
    #: The zone pgAgent's schedules were evaluated in, and where that came from.
    agent_timezone: str
    agent_timezone_source: str
    target: Target
    options: PlanOptions
    jobs: tuple[JobPlan, ...]
    findings: tuple[Finding, ...] = ()
    format_version: int = FORMAT_VERSION
    #: Which pgAgent catalog (system identifier/database), and the tag its pg_cron names carry.
    catalog: str = ""
    catalog_tag: str = ""

    def counts(self) -> dict[str, int]:
        out = count_statuses(j.status for j in self.jobs)
        out["cron_jobs"] = sum(len(j.cron_jobs) for j in self.jobs if j.creates())
        return out

    def all_findings(self) -> list[Finding]:
        return list(self.findings) + [f for j in self.jobs for f in j.findings]
