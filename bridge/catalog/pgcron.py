"""Read the pg_cron side: ``cron.job``, the extension and binary versions, and its settings.

The binary can be newer than the extension's SQL version, so capabilities are detected from the GUCs
the loaded library registers (``_PG_init`` in pg_cron's src/pg_cron.c). Those are visible only to
superusers and members of ``pg_read_all_settings``; for other roles the answer is "unknown", never
"old". Where settings leave several releases, schedules their parsers disagree on are offered to
``cron.schedule`` inside the READ ONLY transaction: it parses before it inserts, so a rejection
("invalid schedule") or the read-only error tells the releases apart, and nothing is written.
"""

from __future__ import annotations

import psycopg
from psycopg.pq import TransactionStatus

from bridge.catalog.release import Evidence, from_settings
from bridge.catalog.server import read_server
from bridge.findings import Severity
from bridge.model import CronJob, Diagnostic, PgCronSide
from bridge.pg.connect import Connection
from bridge.schedule.versions import probes, release_name, settings_table

PROBE = """
WITH job AS (
  SELECT c.oid, c.relowner FROM pg_class c
   WHERE c.relnamespace = to_regnamespace('cron') AND c.relname = 'job'
)
SELECT current_database(),
       (SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'),
       (SELECT rolsuper OR rolbypassrls FROM pg_roles WHERE rolname = current_user),
       current_user,
       (SELECT rolsuper FROM pg_roles WHERE rolname = current_user),
       pg_has_role(current_user, 'pg_read_all_settings', 'USAGE'),
       EXISTS (SELECT 1 FROM pg_stat_activity  -- backend_type is hidden from other roles
                WHERE backend_type = 'pg_cron launcher' OR application_name = 'pg_cron scheduler'),
       EXISTS (SELECT 1 FROM job
                WHERE has_schema_privilege(to_regnamespace('cron'), 'USAGE')
                  AND has_table_privilege(job.oid, 'SELECT')),
       (SELECT pg_has_role(job.relowner, 'USAGE') FROM job),
       ARRAY(SELECT attname::text FROM pg_attribute
              WHERE attrelid = (SELECT oid FROM job) AND attnum > 0 AND NOT attisdropped)
"""

SETTINGS = "SELECT name, setting FROM pg_settings WHERE name LIKE 'cron.%' ORDER BY name"

CAN_PROBE = """
SELECT current_setting('transaction_read_only') = 'on'
   AND to_regprocedure('cron.schedule(text,text)') IS NOT NULL
   AND has_schema_privilege(to_regnamespace('cron'), 'USAGE')
   AND has_function_privilege(to_regprocedure('cron.schedule(text,text)'), 'EXECUTE')
"""


def _accepts(conn: Connection, schedule: str) -> bool | None:
    """Whether ``cron.schedule`` accepts ``schedule``; None when its answer is not conclusive.

    Only ever called in a READ ONLY transaction (checked by :data:`CAN_PROBE`), inside a
    savepoint: an accepted schedule reaches the INSERT, which the transaction refuses.
    """
    try:
        with conn.transaction():
            conn.execute("SELECT cron.schedule(%s, 'SELECT 1')", [schedule])
    except psycopg.errors.ReadOnlySqlTransaction:
        return True
    except psycopg.errors.InvalidParameterValue as exc:
        return False if "invalid schedule" in str(exc) else None
    except psycopg.Error:
        return None
    raise AssertionError("cron.schedule wrote in a READ ONLY transaction")


def _evidence(conn: Connection, names: set[str], extversion: str | None) -> Evidence:
    evidence = from_settings(names, extversion)
    wanted = [p for p in probes() if evidence.needs(p)]
    if extversion is None or not wanted:
        return evidence
    row = conn.execute(CAN_PROBE).fetchone()
    if not (row and row[0]):
        return evidence
    for probe in wanted:
        if evidence.needs(probe):
            accepted = _accepts(conn, probe.schedule)
            if accepted is not None:
                evidence = evidence.narrowed(probe, accepted)
    return evidence


def read_pgcron(conn: Connection) -> PgCronSide:
    """Read pg_cron through ``conn``; a database without the extension gives ``extension_version=None``.

    An idle ``conn`` reads in a READ ONLY transaction of its own (rolled back), even on a
    connection that writes: the release probes only run read-only, and every command must detect
    the same release (a dry run and its ``--apply`` plan for one target).
    """
    if conn.autocommit or conn.read_only or conn.info.transaction_status != TransactionStatus.IDLE:
        return _read_side(conn)
    previous = conn.read_only
    conn.read_only = True
    try:
        return _read_side(conn)
    finally:
        conn.rollback()
        conn.read_only = previous


def _read_side(conn: Connection) -> PgCronSide:
    probe = conn.execute(PROBE).fetchone()
    assert probe is not None
    (database, extversion, privileged, reader, superuser, read_settings, launcher, can_read_jobs,
     owns, columns) = probe  # fmt: skip
    settings = tuple((str(n), str(v)) for n, v in conn.execute(SETTINGS))
    names = {n for n, _ in settings}
    diags: list[Diagnostic] = []
    settings_visible = bool(privileged or read_settings)
    below: str | None = None
    facts: tuple[str, ...] = ()
    if names:
        loaded = True
        evidence = _evidence(conn, names, extversion)
        binary = release_name(evidence.low)
        below = release_name(evidence.below) if evidence.below else None
        facts = evidence.facts
    elif settings_visible:
        loaded = bool(launcher)
        binary = "unknown"
    else:
        loaded = bool(launcher)
        binary = "unknown"
        diags.append(
            Diagnostic(
                "PGCRON_SETTINGS_HIDDEN",
                Severity.WARNING,
                "this role cannot see cron.* settings (superuser or pg_read_all_settings needed), "
                "so the pg_cron binary version, cron.timezone and cron.database_name are unknown",
            )
        )
    capabilities = tuple(s.capability for s in settings_table() if s.name in names)
    if not loaded:
        diags.append(
            Diagnostic(
                "PGCRON_NOT_LOADED",
                Severity.ERROR,
                "pg_cron is not loaded: add it to shared_preload_libraries and restart the server",
            )
        )
    cron_db = dict(settings).get("cron.database_name")
    if extversion is None:
        where = f" (cron.database_name is {cron_db!r})" if cron_db else ""
        diags.append(
            Diagnostic(
                "PGCRON_NOT_CREATED",
                Severity.INFO,
                f"the pg_cron extension is not created in database {database!r}{where}",
            )
        )
    jobs: list[CronJob] = []
    if extversion is not None and can_read_jobs:
        cols = set(columns)
        active = "active" if "active" in cols else "true"
        jobname = "jobname::text" if "jobname" in cols else "NULL::text"
        for row in conn.execute(
            f"SELECT jobid, {jobname}, schedule, command, nodename, nodeport, database, username,"
            f" {active} FROM cron.job ORDER BY jobid"
        ):
            jobid, name, schedule, command, node, port, dbname, user, is_active = row
            jobs.append(
                CronJob(jobid, name, schedule, command, node, port, dbname, user, bool(is_active))
            )
    if extversion is not None and not can_read_jobs:
        diags.append(
            Diagnostic(
                "PGCRON_JOBS_UNREADABLE",
                Severity.WARNING,
                "this role cannot read cron.job (no USAGE on schema cron): GRANT USAGE ON SCHEMA "
                "cron to it, or read as a superuser",
            )
        )
    sees_all = bool(privileged or owns)
    if extversion is not None and not sees_all:
        diags.append(
            Diagnostic(
                "PGCRON_RLS_PARTIAL",
                Severity.WARNING,
                "row-level security on cron.job shows this role only its own jobs; read as a "
                "superuser (or a BYPASSRLS role) to see every user's jobs",
            )
        )
    return PgCronSide(
        database=database,
        extension_version=extversion,
        loaded=loaded,
        binary_at_least=binary,
        binary_below=below,
        release_evidence=facts,
        settings=settings,
        capabilities=capabilities,
        jobs=tuple(jobs),
        sees_all_jobs=sees_all,
        diagnostics=tuple(diags),
        reader=str(reader),
        reader_superuser=bool(superuser),
        server=read_server(conn),
    )
