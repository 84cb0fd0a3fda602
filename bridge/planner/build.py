"""Plan every job of a catalog for a target, with the plan-wide findings."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace

from bridge import collector
from bridge.catalog.timezones import check_zone
from bridge.errors import CatalogNotFound
from bridge.findings import Finding, Severity
from bridge.model import Catalog
from bridge.naming import catalog_tag
from bridge.planner.history import with_history
from bridge.planner.jobs import plan_job
from bridge.planner.target import Target, same_server, target_findings
from bridge.planner.types import JobPlan, Plan, PlanOptions
from bridge.progress import SILENT, Progress, tracked
from bridge.schedule import (
    cron_version,
)
from bridge.schedule.versions import newest_release


def make_plan(
    catalog: Catalog,
    target: Target,
    options: PlanOptions | None = None,
    *,
    today: dt.date | None = None,
    progress: Progress = SILENT,
) -> Plan:
    """Plan every job of ``catalog`` for ``target`` (``progress`` told of each job done)."""
    options = options or PlanOptions()
    if catalog.pgagent is None:
        raise CatalogNotFound(
            f"no pgAgent catalog to plan from (a snapshot of {catalog.origin}, a database without "
            "pgAgent)"
        )
    check_zone(
        catalog.pgagent.timezone,
        "pgAgent time zone",
        f"it is the {catalog.pgagent.timezone_source}; pass --timezone with an IANA name",
    )
    day = today or options.since or dt.datetime.now(dt.timezone.utc).date()
    agent = catalog.pgagent
    with collector.paused():
        jobs = tuple(
            with_history(
                plan_job(job, catalog, target, options, day),
                job,
                agent.timezone,
                agent.history_days,
            )
            for job in tracked(progress, "planning", agent.jobs, len(agent.jobs), "jobs")
        )
    general = [
        Finding(
            "PLAN_OVERLAP_QUEUES",
            Severity.INFO,
            "pgAgent skips occurrences that fall due while a job still runs and runs a job once "
            "after downtime; pg_cron queues overlapping runs and never catches up after downtime",
            "guard long jobs with pg_try_advisory_lock if queued runs would hurt",
            0,
        )
    ]
    if catalog.pgagent.system_identifier is None:
        general.append(
            Finding(
                "PLAN_CATALOG_BY_DATABASE_ONLY",
                Severity.WARNING,
                f"the catalog is identified by its database ({catalog.pgagent.database!r}) alone: "
                "the role may not read the server's system identifier (pg_control_system()), "
                "or the snapshot predates it; a catalog in a database of the same name on another "
                "server would get the same pg_cron job names and ledger rows in one pg_cron",
                "run as a role that may execute pg_control_system() (GRANT EXECUTE ON FUNCTION "
                "pg_control_system() TO it), and use that role for every later run",
                0,
            )
        )
    if target.background_workers:
        general.append(
            Finding(
                "TARGET_BACKGROUND_WORKERS",
                Severity.INFO,
                "pg_cron runs jobs in background workers: no authentication, at most "
                "max_worker_processes - 1 at once, and no transaction control in commands",
                "",
                0,
            )
        )
    agent_server = catalog.pgagent.server
    cron_server = catalog.pgcron.server if catalog.pgcron is not None else None
    if agent_server and cron_server and not same_server(agent_server, cron_server):
        general.append(
            Finding(
                "TARGET_OTHER_SERVER",
                Severity.WARNING,
                f"pg_cron was read from another server ({cron_server.host}:{cron_server.port}) "
                f"than the pgAgent catalog ({agent_server.host}:{agent_server.port}): every step "
                "that ran on pgAgent's server runs there, in the database of the same name",
                "make sure those databases hold what the jobs expect, or point --pgcron at "
                "pgAgent's server",
                0,
            )
        )
    general += target_findings(catalog.pgcron, target)
    if target.how == "declared":
        general.append(
            Finding(
                "TARGET_DECLARED",
                Severity.INFO,
                f"planned for a declared target (pg_cron {target.release}, cron.timezone "
                f"{target.timezone}, database {target.database}), not one read from a server",
                "check these against the server before applying",
                0,
            )
        )
    general += _release_findings(catalog, target, options, day, jobs)
    return Plan(
        source=catalog.origin,
        agent_timezone=catalog.pgagent.timezone,
        agent_timezone_source=catalog.pgagent.timezone_source,
        target=target,
        options=options,
        jobs=jobs,
        findings=tuple(general),
        catalog=catalog.pgagent.identity,
        catalog_tag=catalog_tag(catalog.pgagent.identity),
    )


def _release_findings(
    catalog: Catalog, target: Target, options: PlanOptions, day: dt.date, jobs: Sequence[JobPlan]
) -> list[Finding]:
    """One finding for a release pgbridge does not know, one for a release range left open."""
    version = target.cron_target().version
    out = []
    if version.newer_than_known:
        newest = cron_version(newest_release())
        out.append(
            Finding(
                "TARGET_RELEASE_NEWER",
                Severity.WARNING,
                f"pg_cron {target.release} is newer than any release pgbridge knows; planned with "
                f"the behaviour of {newest.name}, the newest known",
                "check its release notes for schedule changes, or upgrade pgbridge",
                0,
            )
        )
    if not target.other_releases:
        return out
    assert catalog.pgagent is not None
    differ = []
    for other in target.other_releases:
        alt = replace(target, release=other, other_releases=())
        ids = [
            plan.job_id
            for job, plan in zip(catalog.pgagent.jobs, jobs, strict=True)
            if _outcome(plan_job(job, catalog, alt, options, day)) != _outcome(plan)
        ]
        hazards = "; ".join(cron_version(other).hazards)
        listed = ", ".join(map(str, ids[:20])) + (
            f" and {len(ids) - 20} more" if len(ids) > 20 else ""
        )
        differ.append(
            f"on {other}{f' ({hazards})' if hazards else ''}: "
            + (f"{len(ids)} job(s) would plan differently: {listed}" if ids else "no job changes")
        )
    changes = any("would plan differently" in d for d in differ)
    facts = f" ({'; '.join(target.release_evidence)})" if target.release_evidence else ""
    out.append(
        Finding(
            "TARGET_RELEASE_RANGE",
            Severity.WARNING if changes else Severity.INFO,
            f"the server's pg_cron release is {target.release_range}{facts}; planned for "
            f"{target.release}, the most likely; {'; '.join(differ)}",
            "give the exact release with --target-pg-cron X.Y.Z (the server's package version, "
            "or ask the provider)",
            0,
        )
    )
    return out


def _outcome(plan: JobPlan) -> tuple[object, ...]:
    return (
        plan.status,
        tuple((c.schedule, c.active) for c in plan.cron_jobs),
        tuple(sorted(f.code for f in plan.findings)),
    )
