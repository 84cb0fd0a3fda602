"""The library API: one plain function per command, what the CLI calls and upgrade tooling imports.

Functions return values (catalogs, plans) and raise :class:`~bridge.errors.BridgeError` subclasses;
they never print and never exit. Connections are named by system: ``pgagent`` is the database that
holds pgAgent's catalog, ``pgcron`` the database where pg_cron is installed.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

from bridge.apply import ledger, pgcron_jobs
from bridge.apply.batch import run_calls
from bridge.apply.jobstate import pgagent_jobs, restore_pgagent, still_running
from bridge.apply.ledger import LedgerJob, LedgerSource
from bridge.apply.preflight import preflight
from bridge.apply.reconcile import migrated_ids, reconcile
from bridge.apply.results import Change, MigrationResult, Verification
from bridge.apply.runs import check_runs
from bridge.apply.selection import Selection, check_known, is_chosen, select
from bridge.apply.session import Phase, Run, lock, read_catalogs, session
from bridge.apply.switch import commit_switch
from bridge.apply.verify import check, read_target
from bridge.catalog import snapshot as snapshot_file
from bridge.catalog.history import DEFAULT_DAYS as DEFAULT_HISTORY_DAYS
from bridge.catalog.history import read_history
from bridge.catalog.load import load_catalog
from bridge.errors import BridgeError, UsageError
from bridge.exporter.translate import ExportResult
from bridge.exporter.writer import export
from bridge.findings import Severity
from bridge.model import Catalog
from bridge.pg import conninfo
from bridge.pg.connect import sibling
from bridge.planner import calls as cron_calls
from bridge.planner.build import make_plan
from bridge.planner.target import Target, pgcron_missing, target_from
from bridge.planner.types import Plan, PlanOptions
from bridge.progress import SILENT, Progress, phase, tracked
from bridge.report.fleet import Fleet, Member, merge
from bridge.report.fleet import Kind as FleetKind
from bridge.report.inventory import inventory_json
from bridge.report.plan import plan_json


def inventory(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    snapshot: str | Path | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
    tracker: Progress = SILENT,
) -> Catalog:
    """Read both catalogs (live, or pgAgent's from a snapshot), with ``history_days`` of
    pgAgent's run log summarised per job (0: the log is not read; a snapshot has its own).
    ``tracker`` is told how far the reading got (:mod:`bridge.progress`)."""
    return load_catalog(
        pgagent,
        pgcron,
        snapshot_path=snapshot,
        timezone=timezone,
        agent_role=agent_role,
        history_days=history_days,
        progress=tracker,
    )


def snapshot(catalog: Catalog, output: str | Path | None = None) -> str | None:
    """Write ``catalog`` to the snapshot file ``output`` (no passwords), for offline work; with no
    ``output``, return the snapshot document instead."""
    if output is None:
        return snapshot_file.dumps(catalog)
    snapshot_file.save(catalog, output)
    return None


def plan(
    source: Catalog | None = None,
    target: Target | None = None,
    options: PlanOptions | None = None,
    *,
    pgagent: str | None = None,
    pgcron: str | None = None,
    snapshot: str | Path | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
    target_release: str | None = None,
    cron_timezone: str | None = None,
    cron_database: str | None = None,
    today: dt.date | None = None,
    history_days: int = DEFAULT_HISTORY_DAYS,
    tracker: Progress = SILENT,
) -> Plan:
    """The migration plan (dry run): what would be created in pg_cron, and every finding.

    ``source`` is a catalog already read; otherwise it is read from ``pgagent`` / ``snapshot``.
    ``target`` is a declared :class:`Target`; otherwise it is the pg_cron side that was read,
    with ``target_release`` / ``cron_timezone`` / ``cron_database`` overriding what was detected.
    ``tracker`` is told how far reading and planning got.
    """
    catalog = source or inventory(
        pgagent,
        pgcron,
        snapshot=snapshot,
        timezone=timezone,
        agent_role=agent_role,
        history_days=history_days,
        tracker=tracker,
    )
    if target is None:
        side = catalog.pgcron
        live = side is not None and (snapshot is None or pgcron is not None) and source is None
        target = target_from(
            side,
            release=target_release,
            timezone=cron_timezone,
            database=cron_database,
            applier=side.reader if live and side is not None and side.reader else None,
        )
    result = make_plan(catalog, target, options, today=today, progress=tracker)
    missing = pgcron_missing(catalog.pgcron) if pgcron is not None and catalog.pgcron else None
    if missing is not None:  # a --pgcron named on purpose that holds no pg_cron
        result = replace(result, findings=(*result.findings, missing))
    return result


def fleet_servers(path: str | Path) -> list[str]:
    """The servers a fleet file names: one connection string (conninfo, URI, or ``service=NAME``
    resolved through ``pg_service.conf`` as libpq does) per line; blank lines and lines that
    start with ``#`` are skipped."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read the fleet file {str(path)!r}: {exc}") from None
    servers = [line.strip() for line in text.splitlines()]
    servers = [s for s in servers if s and not s.startswith("#")]
    if not servers:
        raise UsageError(f"the fleet file {str(path)!r} names no server")
    return servers


def fleet(
    servers: Sequence[str],
    kind: FleetKind = "plan",
    options: PlanOptions | None = None,
    *,
    jobs: int = 4,
    timezone: str | None = None,
    agent_role: str | None = None,
    target_release: str | None = None,
    cron_timezone: str | None = None,
    cron_database: str | None = None,
    today: dt.date | None = None,
    tracker: Progress = SILENT,
) -> Fleet:
    """Plan (or inventory) every server of a fleet, ``jobs`` at a time: each server's document,
    or the one line saying why it could not be read (an unreachable server never stops the
    others). Each server is read as ``plan --pgagent SERVER`` reads it; ``tracker`` is told of
    each server done (in the fleet file's order)."""

    def one(server: str) -> Member:
        name = conninfo.redact(server) or "(PG* environment)"
        try:
            if kind == "inventory":
                catalog = inventory(server, timezone=timezone, agent_role=agent_role)
                return Member(name, inventory_json(catalog))
            result = plan(
                None,
                None,
                options,
                pgagent=server,
                timezone=timezone,
                agent_role=agent_role,
                target_release=target_release,
                cron_timezone=cron_timezone,
                cron_database=cron_database,
                today=today,
            )
            return Member(name, plan_json(result))
        except BridgeError as exc:
            return Member(name, error=str(exc))

    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        done = pool.map(one, servers)
        return Fleet(kind, tuple(tracked(tracker, "fleet", done, len(servers), "servers")))


def merge_reports(paths: Sequence[str | Path]) -> Fleet:
    """One fleet report from per-server JSON reports (plans or inventories, or fleets) written
    anywhere, e.g. by one pgbridge run per server from existing orchestration."""
    documents = []
    for path in paths:
        try:
            documents.append((str(path), json.loads(Path(path).read_text(encoding="utf-8"))))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise UsageError(f"cannot read the report {str(path)!r}: {exc}") from None
    return merge(documents)


def migrate(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    apply: bool = False,
    cutover: bool = False,
    options: PlanOptions | None = None,
    selection: Selection | None = None,
    force: bool = False,
    wait_lock: float = 0.0,
    wait_running: float = 0.0,
    target_release: str | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
    on_phase: Phase | None = None,
    today: dt.date | None = None,
    progress: Callable[[str], None] | None = None,
    tracker: Progress = SILENT,
) -> MigrationResult:
    """Plan, and with ``apply`` carry out, the migration of the selected pgAgent jobs.

    Without ``apply`` nothing is written (not even the lock is taken): the result holds the plan
    and the selection. ``on_phase`` is called after each phase ("preflight", "target-committed",
    "source-committed"); tests use it to inject crashes. ``progress`` is told what the run waits
    for, ``tracker`` how far reading, planning, applying and verifying got.
    """
    selection = selection or Selection()
    options = options or PlanOptions()
    with session(pgagent, pgcron, on_phase, read_only=not apply) as run:
        run.on_progress, run.tracker = progress, tracker
        if apply:
            lock(run, wait_lock)
        catalog = read_catalogs(run, pgagent, pgcron, timezone, agent_role)
        assert catalog.pgcron is not None and catalog.pgagent is not None
        applier = catalog.pgcron.reader
        target = target_from(catalog.pgcron, release=target_release, applier=applier)
        plan = make_plan(catalog, target, options, today=today, progress=tracker)
        selected = select(plan, selection)
        ids = tuple(j.job_id for j in selected)
        if not apply:
            return MigrationResult(plan, False, selected=ids)
        preflight(run, plan, selected)
        run.phase("preflight")
        if not cutover:
            for job_id in still_running(run, list(ids), wait_running):
                run.note(
                    "MIGRATE_PGAGENT_RUNNING",
                    Severity.WARNING,
                    f"pgAgent is running job {job_id} right now; it is disabled for its next "
                    "runs, the current run finishes under pgAgent",
                    "pass --wait-running SECONDS to wait for it",
                    job_id,
                )
        reconcile(run, catalog, plan, selected, cutover=cutover, force=force, applier=applier)
        migrated = migrated_ids(run)
        to_disable = [i for i in ids if i in migrated]
        commit_switch(run, to_disable)
        verification = check(run, catalog, today, only=set(ids), plan=plan)
        return MigrationResult(
            plan, True, tuple(run.changes), tuple(run.findings), verification, ids
        )


def _recorded(
    run: Run, selection: Selection
) -> tuple[dict[int, str], dict[int, bool], list[LedgerJob], list[LedgerSource]]:
    """For the runs that act on what pgbridge did (activate, rollback): pgAgent's job names and
    enabled states, the ledger's jobs and sources, and ``selection`` checked against both (a
    job pgAgent no longer has is still selectable by its id)."""
    names, enabled = pgagent_jobs(run)
    known_jobs, sources = ledger.read(run.target, run.source_id, definitions=False)
    run.target.rollback()
    check_known(selection, {s.pgagent_job_id: str(s.pgagent_job_id) for s in sources} | names)
    return names, enabled, known_jobs, sources


def activate(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    selection: Selection | None = None,
    wait_lock: float = 0.0,
    wait_running: float = 0.0,
    on_phase: Phase | None = None,
    progress: Callable[[str], None] | None = None,
    tracker: Progress = SILENT,
) -> MigrationResult:
    """Switch cut-over jobs from pgAgent to pg_cron: pg_cron jobs on, pgAgent jobs off.

    Also finishes an earlier switch that a crash interrupted (pg_cron already on, pgAgent not yet
    off). Activity comes from the ledger, as planned at migration time.
    """
    selection = selection or Selection()
    with session(pgagent, pgcron, on_phase) as run:
        run.on_progress, run.tracker = progress, tracker
        lock(run, wait_lock)
        if ledger.exists(run.target):
            # An older ledger gets its columns (the switch's instant) in a commit of its own now:
            # the ALTER TABLE's ACCESS EXCLUSIVE lock must not be held through the waits below
            # (pgAgent's running jobs, the quiet minute), blocking a concurrent verify (issue 14).
            ledger.ensure(run.target)
            run.target.commit()
        names, enabled, known_jobs, sources = _recorded(run, selection)
        chosen = [s for s in sources if is_chosen(selection, s.pgagent_job_id, names)]
        wanted = {s.pgagent_job_id for s in chosen if s.state == "cutover"}
        unfinished = {
            s.pgagent_job_id
            for s in chosen
            if s.state == "migrated" and enabled.get(s.pgagent_job_id)
        }
        for job_id in still_running(run, sorted(wanted), wait_running):
            wanted.discard(job_id)
            run.note(
                "ACTIVATE_PGAGENT_RUNNING",
                Severity.WARNING,
                f"pgAgent is running job {job_id} right now; it was not switched over",
                "run activate again when it has finished, or pass --wait-running SECONDS",
                job_id,
            )
        target = read_target(run)
        switched = [job for job in known_jobs if job.pgagent_job_id in wanted]
        run_calls(
            run.target,
            [cron_calls.set_active(job.jobid, job.planned_active, target) for job in switched],
            tracker,
        )
        run.changes += [Change("activate", job.pgagent_job_id, job.jobname) for job in switched]
        ledger.record_sources(
            run.target,
            [replace(s, state="migrated") for s in chosen if s.pgagent_job_id in wanted],
        )
        off = sorted(wanted | unfinished)
        commit_switch(run, off)
        return MigrationResult(None, True, tuple(run.changes), tuple(run.findings))


def verify(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    today: dt.date | None = None,
    runs: bool = False,
    since: dt.datetime | None = None,
    tracker: Progress = SILENT,
) -> Verification:
    """Check, at any time, that pg_cron and pgAgent still match what pgbridge applied.

    With ``runs``, also compare each migrated pg_cron job's runs (``cron.job_run_details``) since
    it took over, or since ``since``, with its schedule's fire times and pgAgent's durations.
    ``tracker`` is told how far reading and checking got.
    """
    with session(pgagent, pgcron, None, read_only=True) as run:
        run.tracker = tracker
        if not ledger.exists(run.target):
            run.target.rollback()
            return Verification(0, ())
        catalog = read_catalogs(run, pgagent, pgcron)
        result = check(run, catalog, today)
        if not runs:
            return result
        assert catalog.pgagent is not None and catalog.pgcron is not None
        with phase(tracker, "reading pgAgent's run log"):
            agent = read_history(
                run.source, catalog.pgagent, opener=lambda: sibling(pgagent or "", run.source)
            )
            run.source.rollback()
        target = target_from(catalog.pgcron, applier=catalog.pgcron.reader)
        checks, found = check_runs(run, agent, target, since)
        return replace(result, findings=(*result.findings, *found), runs=tuple(checks))


def rollback(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    selection: Selection | None = None,
    wait_lock: float = 0.0,
    on_phase: Phase | None = None,
    progress: Callable[[str], None] | None = None,
    tracker: Progress = SILENT,
) -> MigrationResult:
    """Undo what the ledger says pgbridge did: pgAgent jobs back as they were, then the pg_cron
    jobs pgbridge created removed. Running it twice is harmless."""
    selection = selection or Selection()
    with session(pgagent, pgcron, on_phase) as run:
        run.on_progress, run.tracker = progress, tracker
        lock(run, wait_lock)
        names, _, known_jobs, sources = _recorded(run, selection)
        if not ledger.exists(run.target):
            run.target.rollback()
            return MigrationResult(None, True)

        def chosen(job_id: int) -> bool:
            return is_chosen(selection, job_id, names)

        # pgAgent first: a crash in between leaves both schedulers defined, never neither.
        restore_pgagent(
            run,
            [(s.pgagent_job_id, s.previous_enabled) for s in sources if chosen(s.pgagent_job_id)],
        )
        if not run.same_database:
            run.source.commit()
            run.phase("source-committed")
        rows = pgcron_jobs.by_id(run.target, [j.jobid for j in known_jobs])
        undone = [job for job in known_jobs if chosen(job.pgagent_job_id)]
        present = [
            job for job in undone if job.jobid in rows and rows[job.jobid].jobname == job.jobname
        ]
        run_calls(run.target, [cron_calls.unschedule(job.jobid) for job in present], tracker)
        run.changes += [Change("unschedule", job.pgagent_job_id, job.jobname) for job in present]
        ledger.forget_jobs(run.target, [(job.jobname, job.username) for job in undone])
        ledger.forget_sources(
            run.target,
            run.source_id,
            [s.pgagent_job_id for s in sources if chosen(s.pgagent_job_id)],
        )
        run.target.commit()
        run.phase("target-committed")
        return MigrationResult(None, True, tuple(run.changes), tuple(run.findings))


__all__ = [
    "ExportResult",
    "Fleet",
    "MigrationResult",
    "Plan",
    "PlanOptions",
    "Progress",
    "Selection",
    "Target",
    "Verification",
    "activate",
    "export",
    "fleet",
    "fleet_servers",
    "inventory",
    "merge_reports",
    "migrate",
    "plan",
    "rollback",
    "snapshot",
    "verify",
]
