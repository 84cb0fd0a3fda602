"""``pgbridge demo``: the main job, end to end, on an embedded throwaway cluster with sample jobs.

The cluster is set up the way the pgAgent tutorial and real installations do it: pgAgent's catalog in
a dedicated ``pgagent`` database, read by a dedicated least-privilege ``pgagent`` role; the
application's tables in ``app``; pg_cron in ``postgres`` (its ``cron.database_name``). The sample jobs
are modelled on real ones and created with the SQL pgAdmin sends.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import psycopg

from bridge.api import migrate
from bridge.catalog.load import read_catalog
from bridge.devtools.cluster import CRON_DATABASE, LocalCluster
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec, job_sql
from bridge.exporter.writer import export
from bridge.planner.build import make_plan
from bridge.planner.target import target_from
from bridge.planner.types import Plan
from bridge.report import render

AGENT_DB = "pgagent"
APP_DB = "app"
AGENT_ROLE = "pgagent"


def _every(step: int, size: int) -> frozenset[int]:
    return frozenset(range(0, size, step))


def sample_jobs() -> list[JobSpec]:
    """The demo's catalog: one job per situation a migration must handle."""
    fs = frozenset
    return [
        JobSpec(
            "Tutorial: heartbeat row every minute",
            [
                StepSpec(
                    "insert heartbeat",
                    "INSERT INTO public.heartbeat (at) VALUES (now());",
                    dbname=APP_DB,
                )
            ],
            [ScheduleSpec("every minute", minutes=_every(1, 60))],
            description="The classic pgAgent tutorial job",
        ),
        JobSpec(
            "Nightly purge of old audit rows",
            [
                StepSpec(
                    "purge",
                    "DELETE FROM public.audit_log WHERE at < now() - interval '90 days';",
                    dbname=APP_DB,
                )
            ],
            [ScheduleSpec("nightly 02:30", minutes=fs({30}), hours=fs({2}))],
        ),
        JobSpec(
            "Refresh sales summary",
            [
                StepSpec(
                    "refresh",
                    "REFRESH MATERIALIZED VIEW CONCURRENTLY public.sales_summary;",
                    dbname=APP_DB,
                )
            ],
            [
                ScheduleSpec(
                    "business hours",
                    minutes=_every(15, 60),
                    hours=fs(range(8, 19)),
                    weekdays=fs(range(1, 6)),
                )
            ],
            job_class=4,
        ),
        JobSpec(
            "Weekly VACUUM FULL",
            [StepSpec("vacuum", "VACUUM FULL public.audit_log;", dbname=APP_DB)],
            [ScheduleSpec("Sunday 03:00", minutes=fs({0}), hours=fs({3}), weekdays=fs({0}))],
        ),
        JobSpec(
            "Nightly ETL",
            [
                StepSpec(
                    "10 extract",
                    "INSERT INTO public.staging SELECT * FROM public.orders "
                    "WHERE created_at >= current_date - 1;",
                    dbname=APP_DB,
                    on_error="f",
                ),
                StepSpec(
                    "20 transform",
                    "UPDATE public.staging SET amount = round(amount, 2);",
                    dbname=APP_DB,
                    on_error="s",
                ),
                StepSpec(
                    "30 report",
                    "SELECT public.send_daily_report();",
                    dbname=APP_DB,
                    on_error="i",
                ),
            ],
            [ScheduleSpec("01:00 daily", minutes=fs({0}), hours=fs({1}))],
            job_class=2,
        ),
        JobSpec(
            "Backup with pg_dump",
            [
                StepSpec(
                    "dump",
                    "#!/bin/sh\npg_dump -Fc app > /var/backups/app-$(date +%F).dump\n",
                    kind="b",
                ),
                StepSpec(
                    "record", "INSERT INTO public.backups (at) VALUES (now());", dbname=APP_DB
                ),
            ],
            [ScheduleSpec("04:00 daily", minutes=fs({0}), hours=fs({4}))],
            job_class=3,
        ),
        JobSpec(
            "Business-day report (holidays excepted)",
            [StepSpec("report", "SELECT public.send_daily_report();", dbname=APP_DB)],
            [
                ScheduleSpec(
                    "07:00 Monday to Friday",
                    minutes=fs({0}),
                    hours=fs({7}),
                    weekdays=fs(range(1, 6)),
                    exceptions=(
                        (dt.date(2026, 12, 25), None),
                        (dt.date(2027, 1, 1), None),
                        (dt.date(2026, 12, 31), dt.time(7, 0)),
                    ),
                )
            ],
        ),
        JobSpec(
            "Month-end invoice run",
            [StepSpec("invoice", "CALL public.close_month();", dbname=APP_DB)],
            [ScheduleSpec("last day 23:30", minutes=fs({30}), hours=fs({23}), monthdays=fs({32}))],
        ),
        JobSpec(
            "Month-end audit mark",
            [
                StepSpec(
                    "mark",
                    "INSERT INTO public.audit_log (at, what) VALUES (now(), 'month end');",
                    dbname=APP_DB,
                )
            ],
            [ScheduleSpec("last day 23:45", minutes=fs({45}), hours=fs({23}), monthdays=fs({32}))],
        ),
        JobSpec(
            "Friday the 13th audit",
            [StepSpec("audit", "SELECT public.audit_everything();", dbname=APP_DB)],
            [
                ScheduleSpec(
                    "09:00 on Friday the 13th",
                    minutes=fs({0}),
                    hours=fs({9}),
                    weekdays=fs({5}),
                    monthdays=fs({13}),
                )
            ],
        ),
        JobSpec(
            "Replica lag check (remote, disabled)",
            [
                StepSpec(
                    "check",
                    "SELECT now() - pg_last_xact_replay_timestamp();",
                    connstr="host=replica.example.com port=5432 dbname=app user=monitor "
                    "password=s3cret-demo",
                )
            ],
            [ScheduleSpec("every 5 minutes", minutes=_every(5, 60))],
            enabled=False,
        ),
    ]


APP_SCHEMA = """
CREATE TABLE public.heartbeat (at timestamptz NOT NULL);
CREATE TABLE public.audit_log (at timestamptz NOT NULL, what text);
CREATE TABLE public.orders (id bigint PRIMARY KEY, created_at date, amount numeric);
CREATE TABLE public.staging (LIKE public.orders);
CREATE TABLE public.backups (at timestamptz NOT NULL);
CREATE MATERIALIZED VIEW public.sales_summary AS
  SELECT created_at, sum(amount) AS total FROM public.orders GROUP BY created_at;
CREATE UNIQUE INDEX ON public.sales_summary (created_at);
CREATE FUNCTION public.send_daily_report() RETURNS void LANGUAGE sql AS 'SELECT';
CREATE FUNCTION public.audit_everything() RETURNS void LANGUAGE sql AS 'SELECT';
CREATE PROCEDURE public.close_month() LANGUAGE plpgsql AS $$BEGIN COMMIT; END$$;
"""

# What the pgAgent daemon's role needs on its catalog, and nothing more.
AGENT_GRANTS = f"""
GRANT USAGE ON SCHEMA pgagent TO {AGENT_ROLE};
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA pgagent TO {AGENT_ROLE};
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA pgagent TO {AGENT_ROLE};
"""


def load_demo(cluster: LocalCluster) -> None:
    """Create the demo's roles, databases, extensions and sample jobs in ``cluster``."""
    with psycopg.connect(cluster.dsn(CRON_DATABASE), autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {AGENT_ROLE} LOGIN")
        conn.execute(f"CREATE DATABASE {AGENT_DB}")
        conn.execute(f"CREATE DATABASE {APP_DB}")
        conn.execute("CREATE EXTENSION pg_cron")
    with psycopg.connect(cluster.dsn(APP_DB), autocommit=True) as conn:
        conn.execute(APP_SCHEMA.encode())
    with psycopg.connect(cluster.dsn(AGENT_DB), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgagent")
        conn.execute(AGENT_GRANTS.encode())
        for job in sample_jobs():
            with conn.transaction():
                conn.execute(job_sql(job).encode())


def _explain_guards(plan: Plan, cluster: LocalCluster, echo: Callable[[str], None]) -> None:
    """Which jobs a guard makes exact on this pg_cron, and, for a step that cannot sit inside a
    guard, what the real server says when it is wrapped."""
    echo("Guards (pgAgent's rule checked in the command, behind one superset entry):")
    for job in plan.jobs:
        codes = {f.code for f in job.findings}
        if "JOB_GUARDED" in codes:
            (cron,) = job.cron_jobs
            echo(f"  job {job.job_id} {job.job_name!r}: {job.status} on pg_cron {plan.target.release}"
                 f" with a guard, entry '{cron.schedule}'")  # fmt: skip
        elif "JOB_GUARD_NOT_USABLE" in codes:
            echo(f"  job {job.job_id} {job.job_name!r}: {job.status}; no guard: its step cannot "
                 "run inside one")  # fmt: skip
    with psycopg.connect(cluster.dsn(APP_DB), autocommit=True) as conn:
        try:  # the guard runs steps through EXECUTE, as the month-end CALL would be
            conn.execute("DO $$BEGIN EXECUTE 'CALL public.close_month()'; END$$")
            said = "it runs (a guard could be used)"
        except psycopg.Error as exc:
            said = f"ERROR: {str(exc).splitlines()[0]} (so no guard for it)"
    echo(f"  the real server, asked to run the month-end CALL inside a guard's block: {said}")
    echo("")


def run_demo(*, keep: bool, echo: Callable[[str], None]) -> None:
    """Start a cluster, load the samples, show what pgbridge reads; stop unless ``keep``."""
    cluster = LocalCluster()
    echo("Starting a throwaway PostgreSQL cluster with pg_cron and pgagent ...")
    cluster.start()
    try:
        load_demo(cluster)
        agent_dsn = cluster.dsn(AGENT_DB, user=AGENT_ROLE)
        cron_dsn = cluster.dsn(CRON_DATABASE)
        echo(f"Loaded {len(sample_jobs())} sample pgAgent jobs (created the way pgAdmin does).")
        echo("")
        echo(f"$ pgbridge inventory --pgagent '{agent_dsn}' --pgcron '{cron_dsn}'")
        echo("")
        catalog = read_catalog(agent_dsn, cron_dsn)
        echo(render("inventory", "text", catalog))
        echo(f"$ pgbridge plan --pgagent '{agent_dsn}' --pgcron '{cron_dsn}'")
        echo("")
        target = target_from(
            catalog.pgcron, applier=catalog.pgcron.reader if catalog.pgcron else None
        )
        plan = make_plan(catalog, target)
        # the default report: decisions first, exact jobs only with -v
        echo(render("plan", "text", plan))
        _explain_guards(plan, cluster, echo)
        echo("(--format sql prints the psql script that creates these pg_cron jobs; json and")
        echo(" markdown are there for tools and change tickets.)")
        echo("")
        echo(f"$ pgbridge migrate --pgagent '{agent_dsn}' --pgcron '{cron_dsn}' --apply")
        echo("")
        result = migrate(agent_dsn, cron_dsn, apply=True)
        echo(render("migrate", "text", result))
        with psycopg.connect(cron_dsn) as conn:
            rows = conn.execute(
                "SELECT jobid, jobname, schedule, database, active FROM cron.job ORDER BY jobid"
            ).fetchall()
        echo("cron.job now holds:")
        for jobid, name, schedule, database, active in rows:
            state = "active" if active else "inactive"
            echo(f"  {jobid:>3} {name:<52} {schedule:<20} {database:<8} {state}")
        echo("")
        echo("Running the same command again changes nothing; 'pgbridge verify' checks for drift")
        echo("at any time, and 'pgbridge rollback' restores pgAgent and removes these jobs.")
        echo("")
        echo(f"$ pgbridge export --pgcron '{cron_dsn}' --pgagent '{agent_dsn}'")
        echo("")
        echo(render("export", "text", export(cron_dsn, pgagent=agent_dsn)))
        echo("(the exit door: --apply writes these jobs back into pgAgent's catalog, --format sql")
        echo(" prints them as a psql script; jobs pgbridge migrated come back as they were.)")
        if keep:
            echo("The demo cluster keeps running:")
            echo(f"  pgAgent catalog: {agent_dsn}")
            echo(f"  pg_cron:         {cron_dsn}")
            echo(
                f"  stop it with:    pg_ctl -D {cluster.datadir} stop  (then remove {cluster.workdir})"
            )
    finally:
        if not keep:
            cluster.stop()
