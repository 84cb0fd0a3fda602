"""Make pg_cron hold what the plan says, against the ledger: create, update, keep hand edits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from bridge import naming
from bridge.apply import ledger, pgcron_jobs
from bridge.apply.batch import CallFailed, run_calls
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
from bridge.pg.connect import Connection
from bridge.planner import calls as cron_calls
from bridge.planner.calls import Call
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


@dataclass
class _Writes:
    """The write phase of a reconcile, decided in memory: each list is sent as one batch."""

    alters: list[tuple[JobPlan, Call]] = field(default_factory=list)
    #: (pgAgent job, pg_cron job, its user, the activity to set after creating it, or None)
    creates: list[tuple[JobPlan, CronJobPlan, str, bool | None]] = field(default_factory=list)
    activity: list[tuple[JobPlan, int, bool]] = field(default_factory=list)
    unschedules: list[tuple[JobPlan, int]] = field(default_factory=list)
    forget: list[tuple[str, str]] = field(default_factory=list)
    records: list[LedgerJob] = field(default_factory=list)
    sources: list[LedgerSource] = field(default_factory=list)


def _refusal(
    run: Run,
    job: JobPlan,
    c: CronJobPlan,
    user: str,
    *,
    led: LedgerJob | None,
    row: CronJobRow | None,
    force: bool,
    foreign: dict[tuple[str, str], str],
) -> bool:
    """Whether ``c`` cannot be put in place (its name is taken); says why as a finding."""
    owner = foreign.get((c.name, user)) if led is None else None
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
        return True
    if led is None and row is not None and not force:
        run.note(
            "MIGRATE_NAME_TAKEN",
            Severity.ERROR,
            f"a pg_cron job named {c.name!r} for {user!r} exists and was not created by "
            "pgbridge; this pgAgent job was left as it is (not migrated)",
            "rename or remove that job, or pass --force to take it over",
            job.job_id,
        )
        return True
    return False


def _plan_job(
    run: Run,
    job: JobPlan,
    target: Target,
    writes: _Writes,
    *,
    state: str,
    force: bool,
    applier: str,
    by_key: dict[tuple[str, str], LedgerJob],
    by_name: dict[tuple[str, str], CronJobRow],
    by_id: dict[int, CronJobRow],
    recorded: Sequence[LedgerJob],
    foreign: dict[tuple[str, str], str],
) -> list[Change] | None:
    """Decide what putting one pgAgent job's pg_cron jobs in place writes (added to ``writes``)
    and the changes it makes; None (and nothing added) when one of them cannot be put in place."""
    found: list[tuple[CronJobPlan, str, LedgerJob | None, CronJobRow | None]] = []
    for c in job.cron_jobs:
        user = _effective_user(c, applier)
        led = by_key.get((c.name, user))
        row = by_id.get(led.jobid) if led else by_name.get((c.name, user))
        if _refusal(run, job, c, user, led=led, row=row, force=force, foreign=foreign):
            return None
        found.append((c, user, led, row))
    changes: list[Change] = []
    keep = {(c.name, user) for c, user, _, _ in found}
    for c, user, led, row in found:
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
        active = c.active and state == "migrated"
        if row is None:
            # schedule_in_database takes `active` for the new job; cron.schedule makes it active
            created_active = c.active if not c.in_cron_database(target) else True
            after = active if created_active != active else None
            writes.creates.append((job, c, user, after))
            changes.append(Change("create", job.job_id, c.name))
            if after is not None:
                changes.append(Change("activate" if active else "deactivate", job.job_id, c.name))
            continue
        action: Action = "unchanged" if current == wanted else "update"
        if action == "update":  # alter_job also moves the database (the upsert does not <1.6.3)
            writes.alters.append((job, cron_calls.alter(row.jobid, c, target)))
        changes.append(Change(action, job.job_id, c.name))
        if row.active != active:
            writes.activity.append((job, row.jobid, active))
            changes.append(Change("activate" if active else "deactivate", job.job_id, c.name))
        record = _record(run, job, c, user, row.jobid)
        if record != led:
            writes.records.append(record)
    for old in recorded:
        if (old.jobname, old.username) in keep:
            continue
        if old.jobid in by_id:
            writes.unschedules.append((job, old.jobid))
        writes.forget.append((old.jobname, old.username))
        changes.append(Change("remove", job.job_id, old.jobname, "no longer in the plan"))
    return changes


def _record(run: Run, job: JobPlan, c: CronJobPlan, user: str, jobid: int) -> LedgerJob:
    return LedgerJob(
        c.name, user, jobid, run.source_id, job.job_id, tuple(c.schedule_ids), c.schedule,
        c.command, c.database, c.active,
    )  # fmt: skip


def _calls(conn: Connection, calls: Sequence[tuple[JobPlan, Call]]) -> list[Any]:
    """Send the calls as batches; a call the server refuses names its pgAgent job."""
    try:
        return run_calls(conn, [call for _, call in calls])
    except CallFailed as failed:
        job = calls[failed.index][0]
        what = (
            f"pgAgent job {job.job_id} ({job.job_name!r}): {first_line(failed.error)} (nothing "
            "uncommitted was kept)"
        )
        if isinstance(failed.error, psycopg.errors.InsufficientPrivilege):
            raise PrivilegeError(what) from None
        raise QueryFailed(what) from None


def _write(run: Run, writes: _Writes, target: Target) -> None:
    """The write phase: a constant number of statements, whatever the number of jobs (the run's
    tracker is told of each of the six kinds of write as it is sent)."""
    conn, progress = run.target, run.tracker
    progress.start("applying", 6, "batches")
    try:
        _calls(conn, writes.alters)
        progress.advance()
        creates = [(job, cron_calls.schedule(c, target)) for job, c, _, _ in writes.creates]
        made = _calls(conn, creates)
        progress.advance()
        activity = [(job, jobid, active) for job, jobid, active in writes.activity]
        records = list(writes.records)
        for (job, c, user, after), jobid in zip(writes.creates, made, strict=True):
            if after is not None:
                activity.append((job, int(jobid), after))
            records.append(_record(run, job, c, user, int(jobid)))
        _calls(conn, [(job, cron_calls.set_active(jid, on, target)) for job, jid, on in activity])
        progress.advance()
        _calls(conn, [(job, cron_calls.unschedule(jobid)) for job, jobid in writes.unschedules])
        progress.advance()
        ledger.forget_jobs(conn, writes.forget)
        progress.advance()
        ledger.record_jobs(conn, records)
        progress.advance()
    finally:
        progress.finish()
    ledger.record_sources(conn, writes.sources)


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

    The ledger and ``cron.job`` are read once, every change is decided in memory, and the writes
    go out in a few batches (:mod:`bridge.apply.batch`), each pg_cron change still a call of its
    API. A pgAgent job is either entirely in place and recorded, or not at all, without a
    savepoint per job: everything that leaves a job out (a name taken) is known before anything
    is written, and a statement the server refuses ends the run with nothing committed.
    A re-run with nothing to change writes nothing.
    """
    assert catalog.pgagent is not None
    conn = run.target
    ledger.ensure(conn)
    known_jobs, known_sources = ledger.read(conn, run.source_id)
    by_key = {(j.jobname, j.username): j for j in known_jobs}
    recorded: dict[int, list[LedgerJob]] = {}
    for known in known_jobs:
        recorded.setdefault(known.pgagent_job_id, []).append(known)
    states = {s.pgagent_job_id: s for s in known_sources}
    names = [c.name for j in selected for c in j.cron_jobs]
    rows = pgcron_jobs.read(conn, jobids=[j.jobid for j in known_jobs], names=names)
    by_name = {(r.jobname or "", r.username): r for r in rows}
    by_id = {r.jobid: r for r in rows}
    foreign = ledger.others(conn, run.source_id, names)
    context = _context(catalog, plan.options)
    originals = {j.id: j for j in catalog.pgagent.jobs}
    writes = _Writes()
    for job in selected:
        existing = states.get(job.job_id)
        migrated = existing is not None and existing.state == "migrated"
        state = "migrated" if not cutover or migrated else "cutover"
        changes = _plan_job(
            run, job, plan.target, writes, state=state, force=force, applier=applier,
            by_key=by_key, by_name=by_name, by_id=by_id,
            recorded=recorded.get(job.job_id, ()), foreign=foreign,
        )  # fmt: skip
        if changes is None:
            run.changes.append(Change("skip", job.job_id, detail="not migrated"))
            continue
        original = originals[job.job_id]
        prev = existing.previous_enabled if existing else original.enabled
        entry = LedgerSource(run.source_id, job.job_id, prev, state, to_jsonable(original), context)
        if existing is None or not ledger.same_source(existing, entry):
            writes.sources.append(entry)
        run.changes += changes
    _write(run, writes, plan.target)


def migrated_ids(run: Run) -> set[int]:
    rows = run.target.execute(
        "SELECT pgagent_job_id FROM pgbridge.pgagent_jobs WHERE source = %s AND state = 'migrated'",
        [run.source_id],
    ).fetchall()
    return {int(r[0]) for r in rows}
