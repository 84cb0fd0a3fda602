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
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import Any

import psycopg

from bridge import naming
from bridge.apply import ledger
from bridge.apply import selection as matching
from bridge.apply.ledger import LedgerJob, LedgerSource
from bridge.catalog.pgagent import identity, read_pgagent
from bridge.catalog.pgcron import read_pgcron
from bridge.errors import (
    BridgeError,
    CatalogNotFound,
    ConnectionFailed,
    PrivilegeError,
    QueryFailed,
    UsageError,
    first_line,
)
from bridge.model import Catalog, Severity
from bridge.pg import conninfo
from bridge.pg.connect import Connection, connect
from bridge.plan import calls as cron_calls
from bridge.plan.planner import (
    CronJobPlan,
    Finding,
    JobPlan,
    Plan,
    PlanOptions,
    Target,
    make_plan,
    target_from,
)
from bridge.schedule import DEFAULT_DAYS, CronSyntaxError, compare, cron_fireset, parse_cron
from bridge.serialize import from_jsonable, to_jsonable

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
        if not _chosen(self, job.job_id, {job.job_id: job.job_name}):
            return False
        if not job.cron_jobs:  # nothing would replace a job without any
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
    #: Told what the run waits for (the CLI prints it on stderr).
    on_progress: Callable[[str], None] | None = None

    def phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    def say(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def note(self, code: str, severity: Severity, message: str, remedy: str, job_id: int) -> None:
        self.findings.append(Finding(code, severity, message, remedy, job_id))


# --------------------------------------------------------------------------------------------
# Connections, lock, preflight


@contextmanager
def _session(
    pgagent: str | None, pgcron: str | None, on_phase: Phase | None, *, read_only: bool = False
) -> Iterator[_Run]:
    """Connections to both sides (READ ONLY ones for runs that only read, so they also work on a
    hot standby); server errors become one-line BridgeErrors.

    Whatever was not committed when an error (or a crash) interrupts the run is rolled back by
    the server; the ledger makes the next run finish the work.
    """
    same = pgcron is None or pgcron == pgagent
    source = connect(pgagent or "", read_only=read_only)
    try:
        target = source if same else connect(pgcron or "", read_only=read_only)
        try:
            if not read_only:
                _refuse_standby(source, target)
            source_id = _source_identity(source)
            yield _Run(source, target, same, source_id, on_phase=on_phase)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise PrivilegeError(f"{first_line(exc)} (nothing uncommitted was kept)") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise ConnectionFailed(
                f"lost the connection during the run ({first_line(exc)}); what was committed "
                "is in the ledger: run the same command again to finish"
            ) from None
        except psycopg.Error as exc:
            raise QueryFailed(f"{first_line(exc)} (nothing uncommitted was kept)") from None
        finally:
            if target is not source:
                target.close()
    finally:
        source.close()


def _refuse_standby(*conns: Connection) -> None:
    """Writing runs need primaries: say so instead of failing on the first write."""
    for conn in conns:
        conn.read_only = True  # a READ WRITE transaction cannot even begin on a standby
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        conn.rollback()
        conn.read_only = False
        if row and row[0]:
            raise UsageError(
                f"{conn.info.host}:{conn.info.port}/{conn.info.dbname} is a hot standby (in "
                "recovery): run commands that write against the primary"
            )


def _source_identity(conn: Connection) -> str:
    """Which pgAgent catalog this is (``PgAgentCatalog.identity``), so catalogs of several
    databases and servers never mix in one ledger or one pg_cron."""
    found = identity(conn)
    conn.rollback()
    return found


def _lock(run: _Run, wait: float) -> None:
    deadline = time.monotonic() + wait
    told = False
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
        if not told:
            run.say(f"waiting up to {wait:g} s for another pgbridge run to finish")
            told = True
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
    run.target.rollback()
    cron = read_pgcron(run.target)  # in a READ ONLY transaction of its own, --apply or not
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
WITH fn AS (  -- by catalog lookup: cron.f(...) in SQL fails without USAGE on schema cron
  SELECT p.proname || '(' || array_to_string(p.proargtypes::oid[]::regtype[]::text[], ',') || ')'
           AS sig,
         has_function_privilege(p.oid, 'EXECUTE') AS ok
    FROM pg_proc p WHERE p.pronamespace = to_regnamespace('cron')
)
SELECT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       current_user,
       coalesce((SELECT bool_or(ok) FROM fn
                  WHERE sig IN ('schedule(text,text,text)', 'schedule(name,text,text)')), false),
       coalesce((SELECT bool_or(ok) FROM fn
                  WHERE sig = 'schedule_in_database(text,text,text,text,text,boolean)'), false),
       coalesce((SELECT bool_or(ok) FROM fn
                  WHERE sig = 'alter_job(bigint,text,text,text,text,boolean)'), false),
       coalesce((SELECT bool_or(ok) FROM fn WHERE sig = 'unschedule(bigint)'), false),
       coalesce((SELECT has_table_privilege(c.oid, 'UPDATE') FROM pg_class c
                  WHERE c.relnamespace = to_regnamespace('cron') AND c.relname = 'job'), false),
       CASE WHEN to_regnamespace('pgbridge') IS NULL
            THEN has_database_privilege(current_database(), 'CREATE')
            ELSE pg_has_role((SELECT nspowner FROM pg_namespace WHERE nspname = 'pgbridge'),
                             'USAGE') END,
       coalesce(has_schema_privilege(to_regnamespace('cron'), 'USAGE'), false)
"""


def _preflight(run: _Run, plan: Plan, selected: Sequence[JobPlan], *, cutover: bool) -> None:
    """Check every privilege the run needs before writing anything; one error lists them all."""
    side = plan.target
    missing: list[str] = []
    cron = read_pgcron(run.target)  # first: its own READ ONLY transaction, as in the dry run
    row = run.target.execute(PREFLIGHT).fetchone()
    assert row is not None
    superuser, user, schedule, in_database, alter, unschedule, update_job, ledger_ok, usage = row
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
    if not usage:
        missing.append("USAGE on schema cron")
    if not schedule:
        missing.append("EXECUTE on cron.schedule")
    if any(not c.in_cron_database(side) for c in jobs) and not in_database:
        missing.append(
            "EXECUTE on cron.schedule_in_database (pg_cron 1.4+, granted by a superuser)"
        )
    if side.cron_target().version.release >= (1, 4, 0):
        if not alter:  # changes existing jobs and their activity
            missing.append("EXECUTE on cron.alter_job")
    elif not update_job:  # before 1.4 only direct DML changes a job
        missing.append("UPDATE on cron.job (pg_cron before 1.4 has no cron.alter_job)")
    if not unschedule:
        missing.append("EXECUTE on cron.unschedule")
    if any(c.username for c in jobs) and not superuser:  # any username, even one's own (#390)
        others = sorted({c.username for c in jobs if c.username})
        missing.append(f"superuser, to schedule jobs with a username ({', '.join(others)})")
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
    run: _Run,
    job: JobPlan,
    target: Target,
    *,
    state: str,
    force: bool,
    applier: str,
    by_key: dict[tuple[str, str], LedgerJob],
    by_name: dict[tuple[str, str], tuple[Any, ...]],
    by_id: dict[int, tuple[Any, ...]],
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
        wanted = ledger.content_hash(c.schedule, c.command, c.database, user)
        current = ledger.content_hash(row[3], row[4], row[5], row[2]) if row is not None else None
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
            jobid, action = int(got[0]), "create"
            # schedule_in_database took `active` for the new job; cron.schedule makes it active
            current_active = c.active if not c.in_cron_database(target) else True
        else:
            jobid, current_active = int(row[0]), bool(row[6])
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


def _reconcile(
    run: _Run,
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
    rows = conn.execute(
        "SELECT jobid, jobname::text, username, schedule, command, database, active FROM cron.job "
        "WHERE jobname = ANY(%s) OR jobid = ANY(%s)",
        [names, [j.jobid for j in known_jobs]],
    ).fetchall()
    by_name = {(r[1], r[2]): tuple(r) for r in rows}
    by_id = {int(r[0]): tuple(r) for r in rows}
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
            raise  # the connection is gone: _session says so
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


#: Seconds of the server's minute inside which both commits of a cross-database switch are made.
QUIET_WINDOW = (5.0, 45.0)


def _quiet_moment(run: _Run) -> None:
    """Wait until the server clock is inside :data:`QUIET_WINDOW` (second 5 to 45 of a minute).

    pg_cron starts jobs at the minute boundary and pgAgent polls for due jobs every few seconds
    after it, so two commits made inside this window fall between the same two scheduled minutes.
    Called with the target transaction open, right before its commit: the wait keeps that
    transaction busy (short server-side sleeps), so ``idle_in_transaction_session_timeout`` does
    not end it, and says what it waits for.
    """
    low, high = QUIET_WINDOW
    told = False
    while True:
        row = run.target.execute("SELECT extract(second FROM clock_timestamp())").fetchone()
        second = float(row[0]) if row else low
        if (second - low) % 60.0 <= (high - low) % 60.0:
            return
        wait = (low - second) % 60.0
        if not told:
            run.say(
                f"waiting {wait:.0f} s for second {low:.0f}-{high:.0f} of the server's minute, "
                "to switch pg_cron and pgAgent inside one minute"
            )
            told = True
        run.target.execute("SELECT pg_sleep(%s)", [min(wait, 0.5)])


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
    if busy and wait > 0:
        run.say(f"waiting up to {wait:g} s for pgAgent to finish running job(s) "
                + ", ".join(map(str, busy)))  # fmt: skip
    while busy and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = _running(run, job_ids)
    return busy


def _keys(job_id: int, names: dict[int, str]) -> set[str]:
    return {str(job_id), names.get(job_id, str(job_id))}


def _check_known(selection: Selection, names: dict[int, str]) -> None:
    known = (k for job_id in names for k in _keys(job_id, names))
    matching.check_known((*selection.jobs, *selection.exclude), known, "pgAgent job")


def _chosen(selection: Selection, job_id: int, names: dict[int, str]) -> bool:
    """``--job`` / ``--exclude`` by id or name."""
    return matching.chosen(selection.jobs, selection.exclude, _keys(job_id, names))


def _select(plan: Plan, selection: Selection) -> list[JobPlan]:
    _check_known(selection, {j.job_id: j.job_name for j in plan.jobs})
    return [j for j in plan.jobs if selection.wants(j)]


def _pgagent_jobs(run: _Run) -> tuple[dict[int, str], dict[int, bool]]:
    """Names and enabled states of the pgAgent jobs, in one query."""
    rows = run.source.execute("SELECT jobid, jobname, jobenabled FROM pgagent.pga_job").fetchall()
    run.source.rollback()
    return {int(r[0]): str(r[1]) for r in rows}, {int(r[0]): bool(r[2]) for r in rows}


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
) -> MigrationResult:
    """Plan, and with ``apply`` carry out, the migration of the selected pgAgent jobs.

    Without ``apply`` nothing is written (not even the lock is taken): the result holds the plan
    and the selection. ``on_phase`` is called after each phase ("preflight", "target-committed",
    "source-committed"); tests use it to inject crashes. ``progress`` is told what the run waits
    for.
    """
    selection = selection or Selection()
    options = options or PlanOptions()
    with _session(pgagent, pgcron, on_phase, read_only=not apply) as run:
        run.on_progress = progress
        if apply:
            _lock(run, wait_lock)
        catalog = _read(run, pgagent, pgcron, timezone, agent_role)
        assert catalog.pgcron is not None and catalog.pgagent is not None
        applier = catalog.pgcron.reader
        target = target_from(catalog.pgcron, release=target_release, applier=applier)
        plan = make_plan(catalog, target, options, today=today)
        selected = _select(plan, selection)
        ids = tuple(j.job_id for j in selected)
        if not apply:
            return MigrationResult(plan, False, selected=ids)
        _preflight(run, plan, selected, cutover=cutover)
        run.phase("preflight")
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
        _reconcile(run, catalog, plan, selected, cutover=cutover, force=force, applier=applier)
        migrated = _migrated_ids(run)
        to_disable = [i for i in ids if i in migrated]
        if run.same_database:
            _disable_pgagent(run, to_disable)  # both sides in one transaction
        elif to_disable:
            _quiet_moment(run)
        run.target.commit()
        run.phase("target-committed")
        if not run.same_database:
            _disable_pgagent(run, to_disable)
            run.source.commit()
        run.phase("source-committed")
        verification = _verify(run, catalog, today, only=set(ids))
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
    progress: Callable[[str], None] | None = None,
) -> MigrationResult:
    """Switch cut-over jobs from pgAgent to pg_cron: pg_cron jobs on, pgAgent jobs off.

    Also finishes an earlier switch that a crash interrupted (pg_cron already on, pgAgent not yet
    off). Activity comes from the ledger, as planned at migration time.
    """
    selection = selection or Selection()
    with _session(pgagent, pgcron, on_phase) as run:
        run.on_progress = progress
        _lock(run, wait_lock)
        names, enabled = _pgagent_jobs(run)
        known_jobs, sources = ledger.read(run.target, run.source_id)
        run.target.rollback()
        _check_known(selection, {s.pgagent_job_id: str(s.pgagent_job_id) for s in sources} | names)
        chosen = [s for s in sources if _chosen(selection, s.pgagent_job_id, names)]
        wanted = {s.pgagent_job_id for s in chosen if s.state == "cutover"}
        unfinished = {
            s.pgagent_job_id
            for s in chosen
            if s.state == "migrated" and enabled.get(s.pgagent_job_id)
        }
        for job_id in _wait_running(run, sorted(wanted), wait_running):
            wanted.discard(job_id)
            run.note(
                "ACTIVATE_PGAGENT_RUNNING",
                Severity.WARNING,
                f"pgAgent is running job {job_id} right now; it was not switched over",
                "run activate again when it has finished, or pass --wait-running SECONDS",
                job_id,
            )
        target = _target(run)
        for job in known_jobs:
            if job.pgagent_job_id in wanted:
                call = cron_calls.set_active(job.jobid, job.planned_active, target)
                run.target.execute(call.sql, call.params)
                run.changes.append(Change("activate", job.pgagent_job_id, job.jobname))
        for s in chosen:
            if s.pgagent_job_id in wanted:
                ledger.record_source(run.target, replace(s, state="migrated"))
        off = sorted(wanted | unfinished)
        if run.same_database:
            _disable_pgagent(run, off)
        elif off:
            _quiet_moment(run)
        run.target.commit()
        run.phase("target-committed")
        if not run.same_database:
            _disable_pgagent(run, off)
            run.source.commit()
        run.phase("source-committed")
        return MigrationResult(None, True, tuple(run.changes), tuple(run.findings))


def _target(run: _Run) -> Target:
    run.target.rollback()
    side = read_pgcron(run.target)  # in a READ ONLY transaction of its own
    run.target.rollback()
    return target_from(side, applier=side.reader)


#: A pg_cron job changed since pgbridge made it: migrate keeps such an edit unless --force.
EDITED_REMEDY = (
    "if the edit is wanted, leave it (migrate keeps hand edits); to put back what pgbridge set, "
    "run migrate again with --force (without --force it leaves the edited job as it is)"
)


def _verify(
    run: _Run, catalog: Catalog, today: dt.date | None, only: set[int] | None = None
) -> Verification:
    """Compare pg_cron and pgAgent with the ledger, and the ledger with a fresh plan of the source
    (made with the options recorded at migration time); every difference is a finding."""
    known_jobs, sources = ledger.read(run.target, run.source_id)
    rows = ledger.cron_rows(run.target, [j.jobid for j in known_jobs])
    run.target.rollback()
    _, enabled = _pgagent_jobs(run)
    target = target_from(catalog.pgcron, applier=catalog.pgcron.reader if catalog.pgcron else None)
    found: list[Finding] = []

    def drift(
        code: str, message: str, remedy: str, job_id: int, sev: Severity = Severity.ERROR
    ) -> None:
        found.append(Finding(code, sev, message, remedy, job_id))

    state = {s.pgagent_job_id: s.state for s in sources}
    live: dict[int, int] = {}
    checked = 0
    for led in known_jobs:
        if only is not None and led.pgagent_job_id not in only:
            continue
        checked += 1
        row = rows.get(led.jobid)
        if row is None or row["jobname"] != led.jobname:
            drift(
                "VERIFY_CRON_JOB_MISSING",
                f"pg_cron job {led.jobname!r} (id {led.jobid}) is gone",
                "run migrate again to recreate it, or rollback",
                led.pgagent_job_id,
            )
            continue
        if row["schedule"] != led.schedule and not _same_fire_times(
            row["schedule"], led.schedule, target
        ):
            drift(
                "VERIFY_SCHEDULE_DRIFT",
                f"pg_cron job {led.jobname!r} fires on {row['schedule']!r}, pgbridge set "
                f"{led.schedule!r}",
                EDITED_REMEDY,
                led.pgagent_job_id,
            )
        for column, value in (
            ("command", led.command),
            ("database", led.database),
            ("username", led.username),
        ):
            if row[column] != value:
                drift(
                    "VERIFY_CONTENT_DRIFT",
                    f"pg_cron job {led.jobname!r}: {column} differs from what pgbridge set",
                    EDITED_REMEDY,
                    led.pgagent_job_id,
                )
        expected = led.planned_active and state.get(led.pgagent_job_id) == "migrated"
        if bool(row["active"]) != expected:
            drift(
                "VERIFY_ACTIVE_DRIFT",
                f"pg_cron job {led.jobname!r} is {'active' if row['active'] else 'inactive'}, "
                f"expected {'active' if expected else 'inactive'}",
                "run activate, or migrate again",
                led.pgagent_job_id,
            )
        if row["active"]:
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
    found += _source_drift(catalog, target, known_jobs, sources, today, only)
    return Verification(checked, tuple(found))


def _source_drift(
    catalog: Catalog,
    target: Target,
    known_jobs: Sequence[LedgerJob],
    sources: Sequence[LedgerSource],
    today: dt.date | None,
    only: set[int] | None,
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
    for key, ids in groups.items():
        ctx = contexts[key]
        try:
            options = from_jsonable(PlanOptions, ctx.get("options", {}))
        except ValueError:
            options = PlanOptions()
        agent = replace(catalog.pgagent, timezone=ctx.get("timezone", catalog.pgagent.timezone))
        plan = make_plan(replace(catalog, pgagent=agent), target, options, today=today)
        for job in plan.jobs:
            if job.job_id not in ids:
                continue
            planned = {
                (c.name, c.schedule_ids, c.schedule, c.command, c.database) for c in job.cron_jobs
            }
            mine = [j for j in known_jobs if j.pgagent_job_id == job.job_id]
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
                        "what was migrated",
                        "run migrate again to update its pg_cron jobs",
                        job.job_id,
                    )
                )
    return out


def _same_fire_times(actual: str, planned: str, target: Target) -> bool:
    """Whether two schedule texts fire at the same instants on the target (over the proof horizon)."""
    version = target.cron_target()
    try:
        a, b = parse_cron(actual, version.version), parse_cron(planned, version.version)
    except CronSyntaxError:
        return False
    left = cron_fireset([a], version.zone, and_logic=version.and_logic)
    right = cron_fireset([b], version.zone, and_logic=version.and_logic)
    return compare(left, right, dt.date.today(), DEFAULT_DAYS).equal


def verify(
    pgagent: str | None = None, pgcron: str | None = None, *, today: dt.date | None = None
) -> Verification:
    """Check, at any time, that pg_cron and pgAgent still match what pgbridge applied."""
    with _session(pgagent, pgcron, None, read_only=True) as run:
        if not ledger.exists(run.target):
            run.target.rollback()
            return Verification(0, ())
        catalog = _read(run, pgagent, pgcron)
        return _verify(run, catalog, today)


def rollback(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    selection: Selection | None = None,
    wait_lock: float = 0.0,
    on_phase: Phase | None = None,
    progress: Callable[[str], None] | None = None,
) -> MigrationResult:
    """Undo what the ledger says pgbridge did: pgAgent jobs back as they were, then the pg_cron
    jobs pgbridge created removed. Running it twice is harmless."""
    selection = selection or Selection()
    with _session(pgagent, pgcron, on_phase) as run:
        run.on_progress = progress
        _lock(run, wait_lock)
        names, _ = _pgagent_jobs(run)
        known_jobs, sources = ledger.read(run.target, run.source_id)
        run.target.rollback()
        _check_known(selection, {s.pgagent_job_id: str(s.pgagent_job_id) for s in sources} | names)
        if not ledger.exists(run.target):
            run.target.rollback()
            return MigrationResult(None, True)

        def chosen(job_id: int) -> bool:
            return _chosen(selection, job_id, names)

        # pgAgent first: a crash in between leaves both schedulers defined, never neither.
        for s in sources:
            if not chosen(s.pgagent_job_id):
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
            if not chosen(job.pgagent_job_id):
                continue
            row = rows.get(job.jobid)
            if row is not None and row["jobname"] == job.jobname:
                call = cron_calls.unschedule(job.jobid)
                run.target.execute(f"SELECT {call.sql}", call.params)
                run.changes.append(Change("unschedule", job.pgagent_job_id, job.jobname))
            ledger.forget_job(run.target, job.jobname, job.username)
        for s in sources:
            if chosen(s.pgagent_job_id):
                ledger.forget_source(run.target, run.source_id, s.pgagent_job_id)
        run.target.commit()
        run.phase("target-committed")
        return MigrationResult(None, True, tuple(run.changes), tuple(run.findings))
