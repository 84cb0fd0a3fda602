"""Make pg_cron hold what the plan says, against the ledger: create, update, keep hand edits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import psycopg

from bridge import naming
from bridge.apply import ledger, pgcron_jobs
from bridge.apply.ledger import LedgerJob, LedgerSource
from bridge.apply.pgcron_jobs import CronJobRow
from bridge.apply.results import Action, Change
from bridge.apply.session import Run
from bridge.errors import (
    PrivilegeError,
    QueryFailed,
    first_line,
)
from bridge.findings import Severity
from bridge.model import Catalog
from bridge.naming import content_hash
from bridge.planner import calls as cron_calls
from bridge.planner.target import Target
from bridge.planner.types import CronJobPlan, JobPlan, Plan, PlanOptions
from bridge.serialize import to_jsonable


def _effective_user(c: CronJobPlan, applier: str) -> str:
    return c.username or applier


def _context(catalog: Catalog, options: PlanOptions) -> dict[str, Any]:
    """How a job was planned, kept in the ledger so verify and activate plan it the same way."""
    assert catalog.pgagent is not None
    return {
        "options": to_jsonable(replace(options, since=None)),
        "timezone": catalog.pgagent.timezone,
    }


class _Incomplete(Exception):
    """A job could not be put in place entirely: its savepoint is rolled back."""


def _reconcile_job(
    run: Run,
    job: JobPlan,
    target: Target,
    *,
    state: str,
    force: bool,
    applier: str,
    by_key: dict[tuple[str, str], LedgerJob],
    by_name: dict[tuple[str, str], CronJobRow],
    by_id: dict[int, CronJobRow],
    known_jobs: Sequence[LedgerJob],
    foreign: dict[tuple[str, str], str],
) -> list[Change]:
    """Put one pgAgent job's pg_cron jobs in place; raises _Incomplete when one cannot be."""
    conn = run.target
    changes: list[Change] = []
    keep: set[tuple[str, str]] = set()
    for c in job.cron_jobs:
        user = _effective_user(c, applier)
        key = (c.name, user)
        keep.add(key)
        led = by_key.get(key)
        row = by_id.get(led.jobid) if led else by_name.get(key)
        owner = foreign.get(key) if led is None else None
        if owner is not None:  # even with --force: that catalog's rollback must find its job
            run.note(
                "MIGRATE_NAME_TAKEN",
                Severity.ERROR,
                f"a pg_cron job named {c.name!r} for {user!r} was created by pgbridge for another "
                f"pgAgent catalog ({owner}, tag {naming.catalog_tag(owner)}); this pgAgent job "
                "was left as it is (not migrated)",
                "rename this pgAgent job, or roll that catalog's job back first; --force never "
                "takes over another catalog's jobs",
                job.job_id,
            )
            raise _Incomplete
        if led is None and row is not None and not force:
            run.note(
                "MIGRATE_NAME_TAKEN",
                Severity.ERROR,
                f"a pg_cron job named {c.name!r} for {user!r} exists and was not created by "
                "pgbridge; this pgAgent job was left as it is (not migrated)",
                "rename or remove that job, or pass --force to take it over",
                job.job_id,
            )
            raise _Incomplete
        wanted = content_hash(c.schedule, c.command, c.database, user)
        current = row.content_hash() if row is not None else None
        if led is not None and row is not None and current != led.content_hash and not force:
            run.note(
                "MIGRATE_HAND_EDITED",
                Severity.WARNING,
                f"pg_cron job {c.name!r} was changed since pgbridge created it; left as is",
                "pass --force to overwrite it with the plan",
                job.job_id,
            )
            changes.append(Change("skip", job.job_id, c.name, "edited by hand"))
            continue  # pg_cron still runs it (as edited): the pgAgent job may still be disabled
        if row is None:
            call = cron_calls.schedule(c, target)
            got = conn.execute(f"SELECT {call.sql}", call.params).fetchone()
            assert got is not None
            jobid = int(got[0])
            action: Action = "create"
            # schedule_in_database took `active` for the new job; cron.schedule makes it active
            current_active = c.active if not c.in_cron_database(target) else True
        else:
            jobid, current_active = row.jobid, row.active
            action = "unchanged" if current == wanted else "update"
            if action == "update":  # alter_job also moves the database (the upsert does not <1.6.3)
                call = cron_calls.alter(jobid, c, target)
                conn.execute(call.sql, call.params)
        changes.append(Change(action, job.job_id, c.name))
        active = c.active and state == "migrated"
        if current_active != active:
            call = cron_calls.set_active(jobid, active, target)
            conn.execute(call.sql, call.params)
            changes.append(Change("activate" if active else "deactivate", job.job_id, c.name))
        ledger.record_job(
            conn,
            LedgerJob(
                c.name, user, jobid, run.source_id, job.job_id, c.schedule_ids, c.schedule,
                c.command, c.database, c.active,
            ),
        )  # fmt: skip
    for old in (j for j in known_jobs if j.pgagent_job_id == job.job_id):
        if (old.jobname, old.username) in keep:
            continue
        if old.jobid in by_id:
            call = cron_calls.unschedule(old.jobid)
            conn.execute(f"SELECT {call.sql}", call.params)
        ledger.forget_job(conn, old.jobname, old.username)
        changes.append(Change("remove", job.job_id, old.jobname, "no longer in the plan"))
    return changes


def reconcile(
    run: Run,
    catalog: Catalog,
    plan: Plan,
    selected: Sequence[JobPlan],
    *,
    cutover: bool,
    force: bool,
    applier: str,
) -> None:
    """Make pg_cron and the ledger match the plan for the selected jobs (one target transaction).

    Each pgAgent job is handled in a savepoint: either all its pg_cron jobs are in place and it is
    recorded (and so later disabled in pgAgent), or nothing of it is kept.
    """
    assert catalog.pgagent is not None
    conn = run.target
    ledger.ensure(conn)
    known_jobs, known_sources = ledger.read(conn, run.source_id)
    by_key = {(j.jobname, j.username): j for j in known_jobs}
    states = {s.pgagent_job_id: s for s in known_sources}
    names = [c.name for j in selected for c in j.cron_jobs]
    rows = pgcron_jobs.read(conn, jobids=[j.jobid for j in known_jobs], names=names)
    by_name = {(r.jobname or "", r.username): r for r in rows}
    by_id = {r.jobid: r for r in rows}
    foreign = ledger.others(conn, run.source_id, names)
    context = _context(catalog, plan.options)
    originals = {j.id: j for j in catalog.pgagent.jobs}
    for job in selected:
        existing = states.get(job.job_id)
        migrated = existing is not None and existing.state == "migrated"
        state = "migrated" if not cutover or migrated else "cutover"
        try:
            with conn.transaction():
                changes = _reconcile_job(
                    run, job, plan.target, state=state, force=force, applier=applier,
                    by_key=by_key, by_name=by_name, by_id=by_id, known_jobs=known_jobs,
                    foreign=foreign,
                )  # fmt: skip
                original = originals[job.job_id]
                prev = existing.previous_enabled if existing else original.enabled
                ledger.record_source(
                    conn,
                    LedgerSource(
                        run.source_id, job.job_id, prev, state, to_jsonable(original), context
                    ),
                )
        except _Incomplete:
            run.changes.append(Change("skip", job.job_id, detail="not migrated"))
            continue
        except (psycopg.OperationalError, psycopg.InterfaceError):
            raise  # the connection is gone: session says so
        except psycopg.Error as exc:
            # name the job the server refused (a missing database, role, privilege...)
            what = (
                f"pgAgent job {job.job_id} ({job.job_name!r}): {first_line(exc)} (nothing "
                "uncommitted was kept)"
            )
            if isinstance(exc, psycopg.errors.InsufficientPrivilege):
                raise PrivilegeError(what) from None
            raise QueryFailed(what) from None
        run.changes += changes


def migrated_ids(run: Run) -> set[int]:
    rows = run.target.execute(
        "SELECT pgagent_job_id FROM pgbridge.pgagent_jobs WHERE source = %s AND state = 'migrated'",
        [run.source_id],
    ).fetchall()
    return {int(r[0]) for r in rows}
