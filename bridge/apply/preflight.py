"""Every privilege a run needs, checked before anything is written; one error lists them all."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from bridge.apply.session import Run
from bridge.catalog.pgcron import read_pgcron
from bridge.errors import (
    CatalogNotFound,
    ExtensionOutdated,
    PrivilegeError,
)
from bridge.findings import Severity
from bridge.planner.target import ASSUMED_RELEASE, extension_outdated, target_from
from bridge.planner.types import JobPlan, Plan

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


def preflight(run: Run, plan: Plan, selected: Sequence[JobPlan]) -> None:
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
    # From what was just read: a library newer than its SQL version across 1.4 crashes on the
    # named cron.schedule (see extension_outdated). A declared release counts only where the
    # server's own could not be read, and then against the SQL version read here.
    live = target_from(cron)
    if ASSUMED_RELEASE in live.assumed and ASSUMED_RELEASE not in side.assumed:
        live = replace(
            target_from(cron, release=side.release), extension_version=str(cron.extension_version)
        )
    outdated = extension_outdated(live, cron.database)
    if outdated is not None and outdated.severity is Severity.ERROR:
        raise ExtensionOutdated(f"{outdated.message}; {outdated.remedy}")
    jobs = [c for j in selected for c in j.cron_jobs]
    if not usage:
        missing.append("USAGE on schema cron")
    if not schedule:
        missing.append("EXECUTE on cron.schedule")
    if any(not c.in_cron_database(side) for c in jobs) and not in_database:
        missing.append(
            "EXECUTE on cron.schedule_in_database (pg_cron 1.4+, granted by a superuser)"
        )
    if side.has_function("cron.alter_job"):
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
