"""Compare pg_cron and pgAgent with the ledger, and the ledger with a fresh plan of the source."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from bridge import naming
from bridge.apply import ledger, pgcron_jobs
from bridge.apply.jobstate import pgagent_jobs
from bridge.apply.ledger import LedgerJob, LedgerSource
from bridge.apply.results import Verification
from bridge.apply.session import Run
from bridge.catalog.pgcron import read_pgcron
from bridge.findings import Finding, Severity
from bridge.model import Catalog
from bridge.planner.build import make_plan
from bridge.planner.expressions import cron_comparison
from bridge.planner.target import Target, target_from
from bridge.planner.types import Plan
from bridge.progress import SILENT, Progress, tracked
from bridge.schedule import CronSyntaxError


def read_target(run: Run) -> Target:
    run.target.rollback()
    side = read_pgcron(run.target)  # in a READ ONLY transaction of its own
    run.target.rollback()
    return target_from(side, applier=side.reader)


#: A pg_cron job changed since pgbridge made it: migrate keeps such an edit unless --force.
EDITED_REMEDY = (
    "if the edit is wanted, leave it (migrate keeps hand edits); to put back what pgbridge set, "
    "run migrate again with --force (without --force it leaves the edited job as it is)"
)


def check(
    run: Run,
    catalog: Catalog,
    today: dt.date | None,
    only: set[int] | None = None,
    *,
    plan: Plan | None = None,
) -> Verification:
    """Compare pg_cron and pgAgent with the ledger, and the ledger with a fresh plan of the source
    (made with the options recorded at migration time); every difference is a finding.

    ``plan``: a plan of ``catalog`` already made (by the migration just applied); it is used
    instead of planning again where it was made the way the ledger says."""
    known_jobs, sources = ledger.read(run.target, run.source_id, definitions=False)
    rows = pgcron_jobs.by_id(run.target, [j.jobid for j in known_jobs])
    run.target.rollback()
    _, enabled = pgagent_jobs(run)
    target = target_from(catalog.pgcron, applier=catalog.pgcron.reader if catalog.pgcron else None)
    found: list[Finding] = []

    def drift(
        code: str, message: str, remedy: str, job_id: int, sev: Severity = Severity.ERROR
    ) -> None:
        found.append(Finding(code, sev, message, remedy, job_id))

    state = {s.pgagent_job_id: s.state for s in sources}
    live: dict[int, int] = {}
    checked = 0
    for led in tracked(run.tracker, "verifying", known_jobs, len(known_jobs), "jobs"):
        if only is not None and led.pgagent_job_id not in only:
            continue
        checked += 1
        row = rows.get(led.jobid)
        if row is None or row.jobname != led.jobname:
            drift(
                "VERIFY_CRON_JOB_MISSING",
                f"pg_cron job {led.jobname!r} (id {led.jobid}) is gone",
                "run migrate again to recreate it, or rollback",
                led.pgagent_job_id,
            )
            continue
        if row.schedule != led.schedule and not _same_fire_times(
            row.schedule, led.schedule, target, today
        ):
            drift(
                "VERIFY_SCHEDULE_DRIFT",
                f"pg_cron job {led.jobname!r} fires on {row.schedule!r}, pgbridge set "
                f"{led.schedule!r}",
                EDITED_REMEDY,
                led.pgagent_job_id,
            )
        for column, value, now in (
            ("command", led.command, row.command),
            ("database", led.database, row.database),
            ("username", led.username, row.username),
        ):
            if now != value:
                drift(
                    "VERIFY_CONTENT_DRIFT",
                    f"pg_cron job {led.jobname!r}: {column} differs from what pgbridge set",
                    EDITED_REMEDY,
                    led.pgagent_job_id,
                )
        expected = led.planned_active and state.get(led.pgagent_job_id) == "migrated"
        if bool(row.active) != expected:
            drift(
                "VERIFY_ACTIVE_DRIFT",
                f"pg_cron job {led.jobname!r} is {'active' if row.active else 'inactive'}, "
                f"expected {'active' if expected else 'inactive'}",
                "run activate, or migrate again",
                led.pgagent_job_id,
            )
        if row.active:
            live[led.pgagent_job_id] = live.get(led.pgagent_job_id, 0) + 1
    for s in sources:
        if only is not None and s.pgagent_job_id not in only:
            continue
        on = enabled.get(s.pgagent_job_id)
        if on is None:
            drift(
                "VERIFY_PGAGENT_JOB_GONE",
                f"pgAgent job {s.pgagent_job_id} no longer exists",
                "nothing to restore on rollback for it",
                s.pgagent_job_id,
                Severity.WARNING,
            )
        elif s.state == "migrated" and on:
            drift(
                "VERIFY_BOTH_ACTIVE",
                f"pgAgent job {s.pgagent_job_id} is enabled although pg_cron runs it now",
                "run migrate (or activate) again to disable it, or rollback",
                s.pgagent_job_id,
            )
        elif not on and s.previous_enabled and not live.get(s.pgagent_job_id):
            drift(
                "VERIFY_NEITHER_ACTIVE",
                f"pgAgent job {s.pgagent_job_id} is disabled and no pg_cron job of it is active: "
                "nothing runs it",
                "run activate (after --cutover) or migrate again, or rollback",
                s.pgagent_job_id,
            )
    found += _source_drift(catalog, target, known_jobs, sources, today, only, plan, run.tracker)
    return Verification(checked, tuple(found))


def _source_drift(
    catalog: Catalog,
    target: Target,
    known_jobs: Sequence[LedgerJob],
    sources: Sequence[LedgerSource],
    today: dt.date | None,
    only: set[int] | None,
    made: Plan | None = None,
    progress: Progress = SILENT,
) -> list[Finding]:
    """pgAgent jobs whose plan (with their recorded options) no longer matches what was applied."""
    groups: dict[str, list[int]] = {}
    contexts: dict[str, dict[str, Any]] = {}
    for s in sources:
        if only is not None and s.pgagent_job_id not in only:
            continue
        ctx = s.context or {}
        key = json.dumps(ctx, sort_keys=True)
        groups.setdefault(key, []).append(s.pgagent_job_id)
        contexts[key] = ctx
    out: list[Finding] = []
    assert catalog.pgagent is not None
    recorded: dict[int, list[LedgerJob]] = {}
    for known in known_jobs:
        recorded.setdefault(known.pgagent_job_id, []).append(known)
    for key, ids in groups.items():
        recorded_as = ledger.planned_as(contexts[key], catalog.pgagent.timezone)
        options, zone = recorded_as.options, recorded_as.zone
        if made is not None and (made.options, made.target, zone) == (
            options,
            target,
            catalog.pgagent.timezone,
        ):
            plan = made  # planned just now, exactly so
        else:
            agent = replace(catalog.pgagent, timezone=zone)
            plan = make_plan(
                replace(catalog, pgagent=agent), target, options, today=today, progress=progress
            )
        wanted = set(ids)
        for job in plan.jobs:
            if job.job_id not in wanted:
                continue
            planned = {
                (c.name, c.schedule_ids, c.schedule, c.command, c.database) for c in job.cron_jobs
            }
            mine = recorded.get(job.job_id, [])
            applied = {(j.jobname, j.schedule_ids, j.schedule, j.command, j.database) for j in mine}
            if planned == applied:
                continue
            legacy = [
                j.jobname for j in mine if not j.jobname.startswith(naming.prefix(plan.catalog_tag))
            ]
            if legacy and {p[1:] for p in planned} == {a[1:] for a in applied}:
                out.append(
                    Finding(
                        "VERIFY_LEGACY_NAME",
                        Severity.INFO,
                        f"pg_cron job(s) {', '.join(map(repr, legacy))} of pgAgent job "
                        f"{job.job_id} carry the name pgbridge 0.1.0 gave them, without the "
                        f"catalog tag ({plan.catalog_tag}); their content is as planned",
                        "run migrate --apply again to rename them (each is replaced by a job of "
                        "the new name with the same content and activity)",
                        job.job_id,
                    )
                )
            else:
                out.append(
                    Finding(
                        "VERIFY_SOURCE_CHANGED",
                        Severity.WARNING,
                        f"pgAgent job {job.job_id} ({job.job_name!r}) now plans differently from "
                        "what was migrated"
                        + (
                            f" (planned with {recorded_as.guess}: the ledger holds none this "
                            "release can read, so the difference may be only that)"
                            if recorded_as.guess
                            else ""
                        ),
                        "run migrate again to update its pg_cron jobs",
                        job.job_id,
                    )
                )
    return out


def _same_fire_times(actual: str, planned: str, target: Target, today: dt.date | None) -> bool:
    """Whether two schedule texts fire at the same instants on the target, for all time."""
    day = today or dt.datetime.now(dt.timezone.utc).date()
    try:
        return cron_comparison(actual, planned, target.cron_target(), day).equal
    except CronSyntaxError:
        return False
