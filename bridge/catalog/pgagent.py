"""Read a whole pgAgent catalog into :class:`~bridge.model.PgAgentCatalog` in a constant number of queries.

Whatever the number of jobs, the reader sends the same handful of statements (probe, schema version,
time zone, classes, agents, jobs, steps, schedules, exceptions), all inside one READ ONLY transaction.
It normalises what real catalogs contain (odd array bounds, NULL elements, wrong lengths, NULL or
infinite timestamps, unknown kinds, passwords in ``jstconnstr``) and records each oddity as a
:class:`~bridge.model.Diagnostic` on the object it concerns instead of failing.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import replace

from bridge.catalog.pgagent_rows import (
    as_utc,
    diagnostic,
    fingerprint,
    read_schema_version,
    schedule_from_row,
    step_from_row,
)
from bridge.catalog.server import read_server, system_identifier
from bridge.catalog.timezones import resolve_agent_timezone
from bridge.errors import CatalogNotFound, PrivilegeError
from bridge.findings import Severity
from bridge.model import (
    Agent,
    Diagnostic,
    Job,
    JobClass,
    PgAgentCatalog,
    Schedule,
    ScheduleException,
    Step,
)
from bridge.naming import catalog_identity
from bridge.pg.connect import Connection

TABLES = (
    "pga_jobclass",
    "pga_jobagent",
    "pga_job",
    "pga_jobstep",
    "pga_schedule",
    "pga_exception",
)

PROBE = """
SELECT current_database(),
       current_setting('server_version'),
       current_user,
       to_regnamespace('pgagent') IS NOT NULL,
       (SELECT extversion FROM pg_extension WHERE extname = 'pgagent'),
       (SELECT prosrc FROM pg_proc WHERE pronamespace = to_regnamespace('pgagent')
           AND proname = 'pgagent_schema_version' LIMIT 1),
       (SELECT p.prosrc FROM pg_proc p WHERE p.pronamespace = to_regnamespace('pgagent')
           AND p.proname = 'pga_next_schedule' LIMIT 1),
       EXISTS (SELECT 1 FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
                WHERE c.relnamespace = to_regnamespace('pgagent') AND c.relname = 'pga_jobstep'
                  AND a.attname = 'jstconnstr' AND NOT a.attisdropped),
       CASE WHEN to_regnamespace('pgagent') IS NOT NULL
            THEN has_schema_privilege(to_regnamespace('pgagent'), 'USAGE') END,
       ARRAY(SELECT t FROM unnest(%(tables)s::text[]) AS t
               LEFT JOIN pg_class c
                      ON c.relname = t AND c.relnamespace = to_regnamespace('pgagent')
              WHERE c.oid IS NULL),
       ARRAY(SELECT t FROM unnest(%(tables)s::text[]) AS t
               JOIN pg_class c
                 ON c.relname = t AND c.relnamespace = to_regnamespace('pgagent')
              WHERE NOT has_table_privilege(c.oid, 'SELECT'))
"""

# Python's datetime covers years 1..9999; a margin of a day keeps any session zone inside it.
_LOW, _HIGH = "'0001-01-02 00:00+00'", "'9999-12-30 00:00+00'"


def _ts(col: str) -> str:
    """Select a timestamp so that psycopg can load it: infinite or out-of-range values give NULL."""
    return f"CASE WHEN isfinite({col}) AND {col} BETWEEN {_LOW} AND {_HIGH} THEN {col} END"


def _bounded(col: str) -> str:
    """A schedule bound: the value (or NULL), whether it is beyond Python's range, and which way."""
    return (
        f"{_ts(col)}, {col} IS NOT NULL AND {_ts(col)} IS NULL, "
        f"{col} IS NOT NULL AND {col} > 'epoch'"
    )


JOBS = f"""
SELECT jobid, jobjclid, jobname, jobdesc, jobhostagent, jobenabled, {_ts("jobcreated")},
       {_ts("jobchanged")}, jobagentid, {_ts("jobnextrun")}, {_ts("joblastrun")}
  FROM pgagent.pga_job ORDER BY jobid
"""

# Order is pgAgent's execution order: step name in the database collation, then id.
STEPS = """
SELECT jstid, jstjobid, jstname, jstdesc, jstenabled, jstkind::text, jstcode, {connstr},
       jstdbname::text, jstonerror::text
  FROM pgagent.pga_jobstep ORDER BY jstjobid, jstname, jstid
"""

SCHEDULES = f"""
SELECT jscid, jscjobid, jscname, jscdesc, jscenabled, {_bounded("jscstart")}, {_bounded("jscend")},
       jscminutes::text, jschours::text, jscweekdays::text, jscmonthdays::text, jscmonths::text
  FROM pgagent.pga_schedule ORDER BY jscjobid, jscid
"""

EXCEPTIONS = """
SELECT jexid, jexscid,
       CASE WHEN isfinite(jexdate) AND jexdate BETWEEN '0001-01-01' AND '9999-12-31'
            THEN jexdate END,
       jexdate IS NOT NULL, jextime::text
  FROM pgagent.pga_exception ORDER BY jexscid, jexid
"""


def identity(conn: Connection) -> str:
    """The identity of the pgAgent catalog in ``conn``'s database (``PgAgentCatalog.identity``),
    without reading the catalog."""
    row = conn.execute("SELECT current_database()").fetchone()
    assert row is not None
    return catalog_identity(system_identifier(conn), str(row[0]))


def read_pgagent(
    conn: Connection, *, timezone: str | None = None, agent_role: str | None = None
) -> PgAgentCatalog:
    """Read the catalog through ``conn`` (in its current, READ ONLY, transaction).

    ``timezone`` overrides the detected zone pgAgent evaluates schedules in; ``agent_role`` names the
    agent's login role when no agent is connected right now (it selects per-role settings).
    """
    probe = conn.execute(PROBE, {"tables": list(TABLES)}).fetchone()
    assert probe is not None
    (database, server_version, user, has_schema, extversion, version_src, prosrc,
     has_connstr, schema_usage, absent, unreadable) = probe  # fmt: skip
    if not has_schema:
        raise CatalogNotFound(
            f"database {database!r} has no pgAgent catalog (schema pgagent): point --pgagent at "
            "the database where the pgagent extension is installed (often 'postgres' or 'pgagent')"
        )
    if absent:
        raise CatalogNotFound(
            f"the pgAgent catalog in {database!r} is incomplete: pgagent.{', pgagent.'.join(absent)} "
            "missing (a partial script install?): reinstall with CREATE EXTENSION pgagent"
        )
    if not schema_usage:
        raise PrivilegeError(
            f"role {user!r} has no USAGE on schema pgagent in {database!r}: "
            f"GRANT USAGE ON SCHEMA pgagent TO {user}, or connect as the pgAgent or a superuser role"
        )
    if unreadable:
        raise PrivilegeError(
            f"role {user!r} cannot read pgagent.{', pgagent.'.join(unreadable)} in {database!r}: "
            f"GRANT SELECT ON ALL TABLES IN SCHEMA pgagent TO {user}"
        )
    catalog_diags: list[Diagnostic] = []
    schema_version = read_schema_version(version_src, extversion, catalog_diags)

    classes = tuple(
        JobClass(i, n)
        for i, n in conn.execute("SELECT jclid, jclname FROM pgagent.pga_jobclass ORDER BY jclid")
    )
    # A registered pid counts only if that backend started before the agent registered: pids are
    # reused, and a crashed agent leaves its row behind.
    agent_rows = conn.execute(
        "SELECT a.jagpid, a.jagstation, "
        + _ts("a.jaglogintime")
        + ", s.usename FROM pgagent.pga_jobagent a LEFT JOIN pg_stat_activity s"
        " ON s.pid = a.jagpid AND s.backend_start <= a.jaglogintime ORDER BY a.jagpid"
    ).fetchall()
    agents = tuple(Agent(pid, station, as_utc(login)) for pid, station, login, _ in agent_rows)
    live_roles = sorted({str(r[3]) for r in agent_rows if r[3] is not None})
    if agent_role is None and len(live_roles) == 1:
        agent_role = live_roles[0]
    tz, tz_source, tz_diags = resolve_agent_timezone(
        conn, database=database, agent_role=agent_role, override=timezone
    )
    catalog_diags += tz_diags
    if agent_role is None and timezone is None:
        why = (
            f"pgAgent daemons are connected as several roles ({', '.join(live_roles)})"
            if live_roles
            else "no pgAgent daemon is connected"
        )
        catalog_diags.append(
            diagnostic(
                "TIMEZONE_AGENT_ROLE_UNKNOWN",
                Severity.INFO,
                f"{why}, so no role's TimeZone setting was considered; pass --agent-role or "
                "--timezone if the agent's role sets one",
            )
        )

    exceptions: dict[int, list[ScheduleException]] = defaultdict(list)
    exc_diags: dict[int, list[Diagnostic]] = defaultdict(list)
    for jexid, scid, date, has_date, time_text in conn.execute(EXCEPTIONS):
        if has_date and date is None:
            exc_diags[scid].append(
                diagnostic(
                    "EXCEPTION_DATE_OUT_OF_RANGE",
                    Severity.INFO,
                    f"exception {jexid} has an infinite or out-of-range date, which matches no "
                    "day pgAgent can schedule; ignored",
                )
            )
            continue
        time = None
        if time_text is not None:
            try:
                time = dt.time.fromisoformat(time_text)
            except ValueError:  # '24:00:00' is a valid PostgreSQL time but no candidate minute
                exc_diags[scid].append(
                    diagnostic(
                        "EXCEPTION_TIME_NEVER_MATCHES",
                        Severity.INFO,
                        f"exception {jexid} has time {time_text}, which no pgAgent candidate "
                        "(00:00 to 23:59) equals; ignored",
                    )
                )
                continue
        exceptions[scid].append(ScheduleException(jexid, date, time))

    schedules: dict[int, list[Schedule]] = defaultdict(list)
    for row in conn.execute(SCHEDULES):
        sched = schedule_from_row(row, tuple(exceptions.get(row[0], ())))
        if exc_diags.get(sched.id):
            sched = replace(sched, diagnostics=sched.diagnostics + tuple(exc_diags[sched.id]))
        schedules[sched.job_id].append(sched)

    steps: dict[int, list[Step]] = defaultdict(list)
    step_sql = STEPS.format(connstr="jstconnstr" if has_connstr else "''::text")
    for row in conn.execute(step_sql):
        step = step_from_row(row)
        steps[step.job_id].append(step)

    class_names = {c.id: c.name for c in classes}
    jobs = []
    for (jobid, jclid, name, desc, host, enabled, created, changed, agentid, nextrun,
         lastrun) in conn.execute(JOBS):  # fmt: skip
        diags: list[Diagnostic] = []
        if not steps.get(jobid):
            diags.append(
                diagnostic(
                    "JOB_NO_STEPS",
                    Severity.WARNING,
                    "the job has no steps; pgAgent logs it as succeeded without doing anything",
                )
            )
        jobs.append(
            Job(
                id=jobid,
                name=name,
                description=desc or "",
                job_class=class_names.get(jclid, f"class {jclid}"),
                host_agent=host or "",
                enabled=bool(enabled),
                created=as_utc(created),
                changed=as_utc(changed),
                agent_id=agentid,
                next_run=as_utc(nextrun),
                last_run=as_utc(lastrun),
                steps=tuple(steps.get(jobid, ())),
                schedules=tuple(schedules.get(jobid, ())),
                diagnostics=tuple(diags),
            )
        )
    server = read_server(conn)
    return PgAgentCatalog(
        database=database,
        schema_version=schema_version,
        extension_version=extversion,
        function_body=fingerprint(prosrc),
        timezone=tz,
        timezone_source=tz_source,
        server_version=server_version,
        job_classes=classes,
        agents=agents,
        jobs=tuple(jobs),
        diagnostics=tuple(catalog_diags),
        system_identifier=server.system_identifier,
        server=server,
    )
