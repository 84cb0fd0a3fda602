"""Applying a plan to pg_cron: migrate, activate, verify, rollback (the I/O edge of the planner).

Guarantees, in order of importance:

* **Never lose a job.** pg_cron jobs (and the ledger that records them) are committed before any
  pgAgent job is disabled; pgAgent jobs are disabled, never deleted. When the pgAgent catalog and
  pg_cron share a database, both sides change in one transaction.
* **Never run a job twice because of us.** With ``cutover`` the pg_cron jobs are created inactive
  and :func:`activate` switches both sides; across two databases the switch is timed inside a
  minute (between second 5 and 45 on the server clock), so no scheduled minute falls between
  the two commits.
* **Re-running converges.** Every write is a named upsert reconciled against the ledger: the same
  plan again changes nothing; a changed source updates jobs in place; a job edited by hand since
  is left alone unless ``force``; a crash between the two commits is finished by the next run.
* **One at a time.** A session advisory lock on the pg_cron database serialises migrations.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from . import conninfo, cron_calls, ledger
from .connect import Connection, connect
from .errors import (
    BridgeError,
    CatalogNotFound,
    ConnectionFailed,
    PrivilegeError,
    QueryFailed,
    UsageError,
)
from .ledger import LedgerJob, LedgerSource, content_hash
from .model import Catalog, Severity
from .planner import CronJobPlan, Finding, JobPlan, Plan, PlanOptions, make_plan, target_from
from .read_pgagent import read_pgagent
from .read_pgcron import read_pgcron
from .schedule import CronSyntaxError, compare, cron_fireset, parse_cron
from .serialize import to_jsonable

#: Key of the advisory lock that serialises pgbridge runs on a pg_cron database.
LOCK_KEY = 0x7067_6272_6964_6765  # "pgbridge"
Phase = Callable[[str], None]


class MigrationLocked(BridgeError):
    """Another pgbridge run holds the migration lock."""


@dataclass(frozen=True)
class Selection:
    """Which pgAgent jobs to act on: ids or names; empty ``jobs`` means all."""

    jobs: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    include_manual: bool = False

    def wants(self, job: JobPlan) -> bool:
        def hit(keys: tuple[str, ...]) -> bool:
            return str(job.job_id) in keys or job.job_name in keys

        if self.jobs and not hit(self.jobs):
            return False
        if hit(self.exclude):
            return False
        return job.status in ("exact", "changed") or (
            self.include_manual and job.status == "manual"
        )


@dataclass(frozen=True)
class Change:
    """One thing a run did (or, in a dry run, would do)."""

    action: str
    pgagent_job_id: int
    cron_job: str = ""
    detail: str = ""


@dataclass(frozen=True)
class Verification:
    checked: int
    findings: tuple[Finding, ...] = ()

    @property
    def ok(self) -> bool:
        return not any(f.severity is Severity.ERROR for f in self.findings)


@dataclass(frozen=True)
class MigrationResult:
    """What :func:`migrate`, :func:`activate` or :func:`rollback` did."""

    plan: Plan | None
    applied: bool
    changes: tuple[Change, ...] = ()
    findings: tuple[Finding, ...] = ()
    verification: Verification | None = None
    selected: tuple[int, ...] = ()

    def count(self, action: str) -> int:
        return sum(1 for c in self.changes if c.action == action)


@dataclass
class _Run:
    """Connections and bookkeeping of one run."""

    source: Connection
    target: Connection
    same_database: bool
    source_id: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    on_phase: Phase | None = None

    def phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    def note(self, code: str, severity: Severity, message: str, remedy: str, job_id: int) -> None:
        self.findings.append(Finding(code, severity, message, remedy, job_id))


# --------------------------------------------------------------------------------------------
# Connections, lock, preflight


@contextmanager
def _session(pgagent: str | None, pgcron: str | None, on_phase: Phase | None) -> Iterator[_Run]:
    """Writable connections to both sides; server errors become one-line BridgeErrors.

    Whatever was not committed when an error (or a crash) interrupts the run is rolled back by
    the server; the ledger makes the next run finish the work.
    """
    same = pgcron is None or pgcron == pgagent
    source = connect(pgagent or "", read_only=False)
    try:
        target = source if same else connect(pgcron or "", read_only=False)
        try:
            row = source.execute("SELECT current_database()").fetchone()
            source.rollback()
            source_id = str(row[0]) if row else "pgagent"
            yield _Run(source, target, same, source_id, on_phase=on_phase)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise PrivilegeError(f"{_first_line(exc)} (nothing uncommitted was kept)") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise ConnectionFailed(
                f"lost the connection during the run ({_first_line(exc)}); what was committed "
                "is in the ledger: run the same command again to finish"
            ) from None
        except psycopg.Error as exc:
            raise QueryFailed(f"{_first_line(exc)} (nothing uncommitted was kept)") from None
        finally:
            if target is not source:
                target.close()
    finally:
        source.close()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _lock(run: _Run, wait: float) -> None:
    deadline = time.monotonic() + wait
    while True:
        row = run.target.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        run.target.commit()
        if row and row[0]:
            return
        if time.monotonic() >= deadline:
            raise MigrationLocked(
                "another pgbridge run is migrating into this pg_cron database (advisory lock "
                f"{LOCK_KEY} is held): wait for it to finish, or pass --wait-lock SECONDS"
            )
        time.sleep(0.5)


def _read(
    run: _Run,
    pgagent: str | None,
    pgcron: str | None,
    timezone: str | None = None,
    agent_role: str | None = None,
) -> Catalog:
    """Both sides, with every migrated pgAgent job shown as it was before pgbridge disabled it
    (the plan must not turn a job pgbridge disabled into an inactive pg_cron job)."""
    agent = read_pgagent(run.source, timezone=timezone, agent_role=agent_role)
    run.source.rollback()
    cron = read_pgcron(run.target)
    _, sources = ledger.read(run.target, run.source_id)
    run.target.rollback()
    before = {s.pgagent_job_id: s.previous_enabled for s in sources}
    jobs = tuple(replace(j, enabled=before.get(j.id, j.enabled)) for j in agent.jobs)
    agent = replace(agent, jobs=jobs)
    origin = conninfo.redact(pgagent or "") or "(PG* environment)"
    if pgcron is not None and not run.same_database:
        origin += f" + pg_cron at {conninfo.redact(pgcron)}"
    return Catalog(agent, cron, origin, dt.datetime.now(dt.timezone.utc))


PREFLIGHT = """
SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       current_user,
       coalesce(has_function_privilege(to_regprocedure('cron.schedule(text,text,text)'),
                                       'EXECUTE'), false),
       coalesce(has_function_privilege(
           to_regprocedure('cron.schedule_in_database(text,text,text,text,text,boolean)'),
           'EXECUTE'), false),
       coalesce(has_function_privilege(
           to_regprocedure('cron.alter_job(bigint,text,text,text,text,boolean)'), 'EXECUTE'), false),
       coalesce(has_function_privilege(to_regprocedure('cron.unschedule(bigint)'), 'EXECUTE'),
                false),
       CASE WHEN to_regnamespace('pgbridge') IS NULL
            THEN has_database_privilege(current_database(), 'CREATE')
            ELSE pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = 'pgbridge'),
                             'USAGE') END
"""


def _preflight(run: _Run, plan: Plan, selected: Sequence[JobPlan], *, cutover: bool) -> None:
    """Check every privilege the run needs before writing anything; one error lists them all."""
    side = plan.target
    missing: list[str] = []
    row = run.target.execute(PREFLIGHT).fetchone()
    assert row is not None
    superuser, user, schedule, in_database, alter, unschedule, ledger_ok = row
    cron = read_pgcron(run.target)
    run.target.rollback()
    if cron.extension_version is None:
        raise CatalogNotFound(
            f"pg_cron is not created in database {cron.database!r}"
            + (f" (cron.database_name is {cron.database_name!r})" if cron.database_name else "")
            + ": point --pgcron at pg_cron's database"
        )
    if not cron.loaded:
        raise CatalogNotFound(
            "pg_cron is created but not loaded: add it to shared_preload_libraries and restart"
        )
    jobs = [c for j in selected for c in j.cron_jobs]
    if not schedule:
        missing.append("EXECUTE on cron.schedule (GRANT USAGE ON SCHEMA cron)")
    if any(not c.in_cron_database(side) for c in jobs) and not in_database:
        missing.append(
            "EXECUTE on cron.schedule_in_database (pg_cron 1.4+, granted by a superuser)"
        )
    if (cutover or any(not c.active for c in jobs)) and not alter:
        missing.append("EXECUTE on cron.alter_job")
    if not unschedule:
        missing.append("EXECUTE on cron.unschedule")
    if any(c.username for c in jobs) and not superuser:
        others = sorted({c.username for c in jobs if c.username})
        missing.append(f"superuser, to schedule jobs as {', '.join(others)}")
    if not ledger_ok:
        missing.append(f"CREATE on database {cron.database} (for the pgbridge ledger schema)")
    src = run.source.execute(
        "SELECT has_table_privilege(c.oid, 'UPDATE') FROM pg_class c "
        "WHERE c.relnamespace = to_regnamespace('pgagent') AND c.relname = 'pga_job'"
    ).fetchone()
    run.source.rollback()
    if not (src and src[0]):
        missing.append("UPDATE on pgagent.pga_job (to disable migrated pgAgent jobs)")
    if missing:
        raise PrivilegeError(
            f"role {user!r} cannot carry out this migration; missing: " + "; ".join(missing)
        )


# --------------------------------------------------------------------------------------------
# Applying


def _effective_user(c: CronJobPlan, applier: str) -> str:
    return c.username or applier


def _wanted_active(c: CronJobPlan, state: str) -> bool:
    return c.active and state == "migrated"


def _reconcile(
    run: _Run,
    plan: Plan,
    selected: Sequence[JobPlan],
    *,
    cutover: bool,
    force: bool,
    applier: str,
    previous: dict[int, bool],
    definitions: dict[int, dict[str, Any]],
) -> None:
    """Make pg_cron and the ledger match the plan for the selected jobs (one target transaction)."""
    conn, target = run.target, plan.target
    ledger.ensure(conn)
    known_jobs, known_sources = ledger.read(conn, run.source_id)
    by_key = {(j.jobname, j.username): j for j in known_jobs}
    states = {s.pgagent_job_id: s for s in known_sources}
    names = [c.name for j in selected for c in j.cron_jobs]
    rows = conn.execute(
        "SELECT jobid, jobname::text, username, schedule, command, database, active FROM cron.job "
        "WHERE jobname = ANY(%s) OR jobid = ANY(%s)",
        [names, [j.jobid for j in known_jobs]],
    ).fetchall()
    by_name = {(r[1], r[2]): r for r in rows}
    by_id = {int(r[0]): r for r in rows}
    for job in selected:
        existing = states.get(job.job_id)
        state = (
            "migrated" if not cutover or (existing and existing.state == "migrated") else "cutover"
        )
        keep: set[tuple[str, str]] = set()
        for c in job.cron_jobs:
            user = _effective_user(c, applier)
            key = (c.name, user)
            keep.add(key)
            wanted = content_hash(c.schedule, c.command, c.database, user)
            led = by_key.get(key)
            row = by_id.get(led.jobid) if led else by_name.get(key)
            if led is None and row is not None and not force:
                run.changes.append(Change("skip", job.job_id, c.name, "name taken by another job"))
                run.note(
                    "MIGRATE_NAME_TAKEN",
                    Severity.ERROR,
                    f"a pg_cron job named {c.name!r} for {user!r} exists and was not created by "
                    "pgbridge; it was left alone",
                    "rename or remove it, or pass --force to take it over",
                    job.job_id,
                )
                continue
            if led is not None and row is not None:
                current = content_hash(row[3], row[4], row[5], row[2])
                if current != led.content_hash and not force:
                    run.changes.append(Change("skip", job.job_id, c.name, "edited by hand"))
                    run.note(
                        "MIGRATE_HAND_EDITED",
                        Severity.WARNING,
                        f"pg_cron job {c.name!r} was changed since pgbridge created it; left as is",
                        "pass --force to overwrite it with the plan",
                        job.job_id,
                    )
                    continue
                action = "unchanged" if wanted == led.content_hash == current else "update"
            else:
                action = "create" if row is None else "update"
            jobid = int(row[0]) if row is not None else 0
            if action != "unchanged":
                call = cron_calls.schedule(c, target)
                got = conn.execute(f"SELECT {call.sql}", call.params).fetchone()
                assert got is not None
                jobid = int(got[0])
            active = _wanted_active(c, state)
            current_active = bool(row[6]) if row is not None else None
            if action == "create" and not c.in_cron_database(target):
                current_active = c.active  # schedule_in_database took it for a new job
            elif action == "create":
                current_active = True
            run.changes.append(Change(action, job.job_id, c.name))
            if current_active != active:
                call = cron_calls.set_active(jobid, active, target)
                conn.execute(call.sql, call.params)
                run.changes.append(
                    Change("activate" if active else "deactivate", job.job_id, c.name)
                )
            ledger.record_job(
                conn,
                LedgerJob(c.name, user, jobid, run.source_id, job.job_id, c.schedule_ids, wanted),
            )
        for old in (j for j in known_jobs if j.pgagent_job_id == job.job_id):
            if (old.jobname, old.username) in keep:
                continue
            if old.jobid in by_id:
                call = cron_calls.unschedule(old.jobid)
                conn.execute(f"SELECT {call.sql}", call.params)
            ledger.forget_job(conn, old.jobname, old.username)
            run.changes.append(Change("remove", job.job_id, old.jobname, "no longer in the plan"))
        prev = existing.previous_enabled if existing else previous[job.job_id]
        definition = definitions.get(job.job_id)
        ledger.record_source(conn, LedgerSource(run.source_id, job.job_id, prev, state, definition))


def _disable_pgagent(run: _Run, job_ids: list[int]) -> None:
    """Disable the pgAgent jobs that pg_cron now runs (in the source's current transaction)."""
    if not job_ids:
        return
    for (jobid,) in run.source.execute(
        "UPDATE pgagent.pga_job SET jobenabled = false WHERE jobid = ANY(%s) AND jobenabled "
        "RETURNING jobid",
        [job_ids],
    ).fetchall():
        run.changes.append(Change("disable-pgagent", int(jobid)))


def _quiet_moment(conn: Connection) -> None:
    """Wait until the server clock is between second 5 and 45 of a minute.

    pg_cron starts jobs at the minute boundary and pgAgent polls for due jobs every few seconds
    after it, so two commits made inside this window fall between the same two scheduled minutes.
    """
    while True:
        row = conn.execute("SELECT extract(second FROM clock_timestamp())").fetchone()
        conn.rollback()
        second = float(row[0]) if row else 10.0
        if 5.0 <= second <= 45.0:
            return
        time.sleep((65.0 - second) % 60.0 if second > 45.0 else 5.0 - second)


def _running(run: _Run, job_ids: list[int]) -> list[int]:
    if not job_ids:
        return []
    rows = run.source.execute(
        "SELECT jobid FROM pgagent.pga_job WHERE jobid = ANY(%s) AND jobagentid IS NOT NULL",
        [job_ids],
    ).fetchall()
    run.source.rollback()
    return [int(r[0]) for r in rows]


def _wait_running(run: _Run, job_ids: list[int], wait: float) -> list[int]:
    """Job ids pgAgent is still running after waiting up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    busy = _running(run, job_ids)
    while busy and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = _running(run, job_ids)
    return busy


def _chosen(selection: Selection, job_id: int, names: dict[int, str]) -> bool:
    """``--job`` / ``--exclude`` for jobs known by id (and by name where ``names`` has it)."""
    keys = {str(job_id), names.get(job_id, str(job_id))}
    if selection.jobs and not keys & set(selection.jobs):
        return False
    return not keys & set(selection.exclude)


def _select(plan: Plan, selection: Selection) -> list[JobPlan]:
    known = {str(j.job_id) for j in plan.jobs} | {j.job_name for j in plan.jobs}
    unknown = [k for k in (*selection.jobs, *selection.exclude) if k not in known]
    if unknown:
        raise UsageError(f"no pgAgent job with id or name {', '.join(map(repr, unknown))}")
    return [j for j in plan.jobs if selection.wants(j)]


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
) -> MigrationResult:
    """Plan, and with ``apply`` carry out, the migration of the selected pgAgent jobs.

    Without ``apply`` nothing is written (not even the lock is taken): the result holds the plan
    and the selection. ``on_phase`` is called after each phase ("preflight", "target-committed",
    "source-committed"); tests use it to inject crashes.
    """
    selection = selection or Selection()
    with _session(pgagent, pgcron, on_phase) as run:
        if apply:
            _lock(run, wait_lock)
        catalog = _read(run, pgagent, pgcron, timezone, agent_role)
        assert catalog.pgcron is not None
        applier = catalog.pgcron.reader
        target = target_from(catalog.pgcron, release=target_release, applier=applier)
        plan = make_plan(catalog, target, options, today=today)
        selected = _select(plan, selection)
        ids = tuple(j.job_id for j in selected)
        if not apply:
            return MigrationResult(plan, False, selected=ids)
        _preflight(run, plan, selected, cutover=cutover)
        run.phase("preflight")
        assert catalog.pgagent is not None
        previous = {j.id: j.enabled for j in catalog.pgagent.jobs}
        definitions = {j.id: to_jsonable(j) for j in catalog.pgagent.jobs}
        if not cutover:
            for job_id in _wait_running(run, list(ids), wait_running):
                run.note(
                    "MIGRATE_PGAGENT_RUNNING",
                    Severity.WARNING,
                    f"pgAgent is running job {job_id} right now; it is disabled for its next "
                    "runs, the current run finishes under pgAgent",
                    "pass --wait-running SECONDS to wait for it",
                    job_id,
                )
            if not run.same_database:
                _quiet_moment(run.target)
        _reconcile(
            run,
            plan,
            selected,
            cutover=cutover,
            force=force,
            applier=applier,
            previous=previous,
            definitions=definitions,
        )
        migrated = _migrated_ids(run)
        to_disable = [i for i in ids if i in migrated]
        if run.same_database:
            _disable_pgagent(run, to_disable)  # both sides in one transaction
        run.target.commit()
        run.phase("target-committed")
        if not run.same_database:
            _disable_pgagent(run, to_disable)
            run.source.commit()
        run.phase("source-committed")
        verification = _verify(run, plan, selected)
        return MigrationResult(
            plan, True, tuple(run.changes), tuple(run.findings), verification, ids
        )


def _migrated_ids(run: _Run) -> set[int]:
    rows = run.target.execute(
        "SELECT pgagent_job_id FROM pgbridge.pgagent_jobs WHERE source = %s AND state = 'migrated'",
        [run.source_id],
    ).fetchall()
    return {int(r[0]) for r in rows}


# --------------------------------------------------------------------------------------------
# Activate, verify, rollback


def activate(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    selection: Selection | None = None,
    wait_lock: float = 0.0,
    wait_running: float = 0.0,
    on_phase: Phase | None = None,
    today: dt.date | None = None,
) -> MigrationResult:
    """Switch cut-over jobs from pgAgent to pg_cron: pg_cron jobs on, pgAgent jobs off."""
    selection = selection or Selection()
    with _session(pgagent, pgcron, on_phase) as run:
        _lock(run, wait_lock)
        catalog = _read(run, pgagent, pgcron)
        assert catalog.pgcron is not None and catalog.pgagent is not None
        plan = make_plan(
            catalog, target_from(catalog.pgcron, applier=catalog.pgcron.reader), today=today
        )
        known_jobs, sources = ledger.read(run.target, run.source_id)
        run.target.rollback()
        names = {j.job_id: j.job_name for j in plan.jobs}
        wanted = {
            s.pgagent_job_id
            for s in sources
            if s.state == "cutover" and _chosen(selection, s.pgagent_job_id, names)
        }
        busy = _wait_running(run, sorted(wanted), wait_running)
        for job_id in busy:
            wanted.discard(job_id)
            run.note(
                "ACTIVATE_PGAGENT_RUNNING",
                Severity.WARNING,
                f"pgAgent is running job {job_id} right now; it was not switched over",
                "run activate again when it has finished, or pass --wait-running SECONDS",
                job_id,
            )
        if not run.same_database:
            _quiet_moment(run.target)
        planned = {c.name: c for j in plan.jobs for c in j.cron_jobs}
        for job in known_jobs:
            if job.pgagent_job_id not in wanted:
                continue
            c = planned.get(job.jobname)
            active = c.active if c is not None else True
            call = cron_calls.set_active(job.jobid, active, plan.target)
            run.target.execute(call.sql, call.params)
            run.changes.append(Change("activate", job.pgagent_job_id, job.jobname))
        for job_id in sorted(wanted):
            entry = next(s for s in sources if s.pgagent_job_id == job_id)
            ledger.record_source(
                run.target,
                LedgerSource(run.source_id, job_id, entry.previous_enabled, "migrated", None),
            )
        _disable_pgagent(run, sorted(wanted))
        if not run.same_database:
            run.target.commit()
            run.phase("target-committed")
            run.source.commit()
        else:
            run.target.commit()
            run.phase("target-committed")
        run.phase("source-committed")
        return MigrationResult(plan, True, tuple(run.changes), tuple(run.findings))


def _verify(run: _Run, plan: Plan, jobs: Sequence[JobPlan] | None = None) -> Verification:
    """Compare pg_cron and pgAgent with the ledger and the plan; every difference is a finding."""
    known_jobs, sources = ledger.read(run.target, run.source_id)
    rows = ledger.cron_rows(run.target, [j.jobid for j in known_jobs])
    enabled = {
        int(r[0]): bool(r[1])
        for r in run.source.execute("SELECT jobid, jobenabled FROM pgagent.pga_job").fetchall()
    }
    run.target.rollback()
    run.source.rollback()
    wanted = {j.job_id for j in jobs} if jobs is not None else None
    planned = {c.name: (j, c) for j in plan.jobs for c in j.cron_jobs}
    state = {s.pgagent_job_id: s.state for s in sources}
    found: list[Finding] = []

    def drift(
        code: str, message: str, remedy: str, job_id: int, sev: Severity = Severity.ERROR
    ) -> None:
        found.append(Finding(code, sev, message, remedy, job_id))

    checked = 0
    for led in known_jobs:
        if wanted is not None and led.pgagent_job_id not in wanted:
            continue
        checked += 1
        row = rows.get(led.jobid)
        if row is None:
            drift(
                "VERIFY_CRON_JOB_MISSING",
                f"pg_cron job {led.jobname!r} (id {led.jobid}) is gone",
                "run migrate again to recreate it, or rollback",
                led.pgagent_job_id,
            )
            continue
        pair = planned.get(led.jobname)
        if pair is None:
            drift(
                "VERIFY_NOT_IN_PLAN",
                f"pg_cron job {led.jobname!r} is no longer in the plan (the pgAgent job or "
                "schedule changed or went away)",
                "run migrate again to update or remove it",
                led.pgagent_job_id,
                Severity.WARNING,
            )
            continue
        _, c = pair
        if row["schedule"] != c.schedule and not _same_fire_times(
            row["schedule"], c.schedule, plan
        ):
            drift(
                "VERIFY_SCHEDULE_DRIFT",
                f"pg_cron job {led.jobname!r} fires on {row['schedule']!r}, the plan says "
                f"{c.schedule!r}",
                "run migrate again (with --force if it was edited on purpose)",
                led.pgagent_job_id,
            )
        for column, value in (("command", c.command), ("database", c.database)):
            if row[column] != value:
                drift(
                    "VERIFY_CONTENT_DRIFT",
                    f"pg_cron job {led.jobname!r}: {column} differs from the plan",
                    "run migrate again (with --force if it was edited on purpose)",
                    led.pgagent_job_id,
                )
        expected_active = c.active and state.get(led.pgagent_job_id) == "migrated"
        if bool(row["active"]) != expected_active:
            drift(
                "VERIFY_ACTIVE_DRIFT",
                f"pg_cron job {led.jobname!r} is {'active' if row['active'] else 'inactive'}, "
                f"expected {'active' if expected_active else 'inactive'}",
                "run activate, or migrate again",
                led.pgagent_job_id,
            )
    for s in sources:
        if wanted is not None and s.pgagent_job_id not in wanted:
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
                "run migrate again to disable it (or rollback)",
                s.pgagent_job_id,
            )
        elif s.state == "cutover" and not on and s.previous_enabled:
            drift(
                "VERIFY_NEITHER_ACTIVE",
                f"pgAgent job {s.pgagent_job_id} is disabled but its pg_cron jobs are not active",
                "run activate",
                s.pgagent_job_id,
            )
    return Verification(checked, tuple(found))


def _same_fire_times(actual: str, planned: str, plan: Plan) -> bool:
    """Whether two schedule texts fire at the same instants on the target (over four years)."""
    version = plan.target.cron_target()
    try:
        a, b = parse_cron(actual, version.version), parse_cron(planned, version.version)
    except CronSyntaxError:
        return False
    since = dt.date.today()
    left = cron_fireset([a], version.zone, and_logic=version.and_logic)
    right = cron_fireset([b], version.zone, and_logic=version.and_logic)
    return compare(left, right, since, 4 * 365 + 1).equal


def verify(
    pgagent: str | None = None, pgcron: str | None = None, *, today: dt.date | None = None
) -> Verification:
    """Check, at any time, that pg_cron and pgAgent still match what pgbridge applied."""
    with _session(pgagent, pgcron, None) as run:
        catalog = _read(run, pgagent, pgcron)
        assert catalog.pgcron is not None
        plan = make_plan(
            catalog, target_from(catalog.pgcron, applier=catalog.pgcron.reader), today=today
        )
        if not ledger.exists(run.target):
            run.target.rollback()
            return Verification(0, ())
        return _verify(run, plan)


def rollback(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    selection: Selection | None = None,
    wait_lock: float = 0.0,
    on_phase: Phase | None = None,
) -> MigrationResult:
    """Undo what the ledger says pgbridge did: pgAgent jobs back as they were, then the pg_cron
    jobs pgbridge created removed. Running it twice is harmless."""
    selection = selection or Selection()
    with _session(pgagent, pgcron, on_phase) as run:
        _lock(run, wait_lock)
        if not ledger.exists(run.target):
            run.target.rollback()
            return MigrationResult(None, True)
        known_jobs, sources = ledger.read(run.target, run.source_id)
        run.target.rollback()

        # pgAgent first: a crash in between leaves both schedulers defined, never neither.
        for s in sources:
            if not _chosen(selection, s.pgagent_job_id, {}):
                continue
            done = run.source.execute(
                "UPDATE pgagent.pga_job SET jobenabled = %s WHERE jobid = %s "
                "AND jobenabled IS DISTINCT FROM %s RETURNING jobid",
                [s.previous_enabled, s.pgagent_job_id, s.previous_enabled],
            ).fetchall()
            if done:
                run.changes.append(
                    Change(
                        "restore-pgagent", s.pgagent_job_id, detail=f"enabled={s.previous_enabled}"
                    )
                )
        if not run.same_database:
            run.source.commit()
            run.phase("source-committed")
        rows = ledger.cron_rows(run.target, [j.jobid for j in known_jobs])
        for job in known_jobs:
            if not _chosen(selection, job.pgagent_job_id, {}):
                continue
            row = rows.get(job.jobid)
            if row is not None and row["jobname"] == job.jobname:
                call = cron_calls.unschedule(job.jobid)
                run.target.execute(f"SELECT {call.sql}", call.params)
                run.changes.append(Change("unschedule", job.pgagent_job_id, job.jobname))
            ledger.forget_job(run.target, job.jobname, job.username)
        for s in sources:
            if _chosen(selection, s.pgagent_job_id, {}):
                ledger.forget_source(run.target, run.source_id, s.pgagent_job_id)
        run.target.commit()
        run.phase("target-committed")
        return MigrationResult(None, True, tuple(run.changes), tuple(run.findings))
