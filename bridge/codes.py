"""Every finding and diagnostic code pgbridge raises: its stage, its severity and a title.

One table, the register of codes: ``docs/findings.md`` explains each one (when it is raised, what to
do) and tests check that the page, this table and the codes used in the source agree. To add a
finding: add its row here, raise it where its stage decides it, document it on the page.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.findings import Severity

Stage = Literal["catalog", "schedule", "plan", "apply", "export"]
E, W, I = Severity.ERROR, Severity.WARNING, Severity.INFO  # noqa: E741


@dataclass(frozen=True)
class Code:
    """One code: where it is raised, the severities it can have (most often the first), a title."""

    code: str
    stage: Stage
    severities: tuple[Severity, ...]
    title: str


def _table(*rows: tuple[str, Stage, tuple[Severity, ...], str]) -> dict[str, Code]:
    return {code: Code(code, stage, severities, title) for code, stage, severities, title in rows}


CODES: dict[str, Code] = _table(
    (
        "CATALOG_ARRAY_UNREADABLE",
        "catalog",
        (E,),
        "A schedule array (`jscminutes`, `jschours`, `jscweekdays`, `jscmonthdays`, `jscmonths`) is NULL or not one-dimensional",
    ),
    (
        "CATALOG_ARRAY_SHAPE",
        "catalog",
        (W,),
        "A schedule array has subscripts other than 1..N (other lower bound or length)",
    ),
    ("CATALOG_ARRAY_NULLS", "catalog", (W,), "A schedule array contains NULL elements"),
    (
        "CATALOG_NULL_START",
        "catalog",
        (E,),
        "`jscstart` is NULL: pgAgent computes no next run, so the schedule never fires",
    ),
    (
        "CATALOG_VERSION_UNREADABLE",
        "catalog",
        (I,),
        "`pgagent_schema_version()` has a body pgbridge does not recognise",
    ),
    (
        "CATALOG_VERSION_UNSUPPORTED",
        "catalog",
        (W,),
        "`pgagent_schema_version()` is missing (pgAgent before 3.0",
    ),
    ("STEP_KIND_UNKNOWN", "catalog", (E,), "`jstkind` is neither `s` (SQL) nor `b` (batch)"),
    ("STEP_ONERROR_UNKNOWN", "catalog", (W,), "`jstonerror` is not `f`, `s` or `i`"),
    ("STEP_EMPTY_CODE", "catalog", (W,), "The step has no code"),
    ("STEP_CONNSTR_PASSWORD", "catalog", (W,), "The step's `jstconnstr` holds a password"),
    (
        "STEP_CONNSTR_MALFORMED",
        "catalog",
        (E,),
        "The step's `jstconnstr` cannot be parsed as a libpq connection string, or is a URI whose user name or password holds an unencoded `@` (libpq would take the rest of the password as the host name",
    ),
    (
        "EXCEPTION_DATE_OUT_OF_RANGE",
        "catalog",
        (I,),
        "A schedule exception has an infinite or out-of-range date, which matches no day pgAgent can schedule",
    ),
    (
        "EXCEPTION_TIME_NEVER_MATCHES",
        "catalog",
        (I,),
        "A schedule exception has a time no candidate minute equals (such as `24:00:00`)",
    ),
    (
        "TIMEZONE_AGENT_ROLE_UNKNOWN",
        "catalog",
        (I,),
        "No pgAgent daemon is connected, or daemons are connected as several roles, and no `--agent-role` or `--timezone` was given",
    ),
    ("TIMEZONE_AGENT_SESSION_UNSEEN", "catalog", (I,), "The zone was detected rather than given"),
    (
        "TIMEZONE_UNKNOWN",
        "catalog",
        (W,),
        "The server's default TimeZone is hidden from the reading role (its session value comes from elsewhere and `postgresql.conf` is unreadable without superuser)",
    ),
    (
        "PGCRON_NOT_LOADED",
        "catalog",
        (E,),
        "pg_cron's library is not loaded (no `cron.*` settings and no pg_cron launcher visible)",
    ),
    (
        "PGCRON_NOT_CREATED",
        "catalog",
        (I,),
        "The pg_cron extension is not created in the database read with `--pgcron` (the message names `cron.database_name` when visible)",
    ),
    (
        "PGCRON_SETTINGS_HIDDEN",
        "catalog",
        (W,),
        "The reading role cannot see `cron.*` settings, so the pg_cron binary release, `cron.timezone` and `cron.database_name` are unknown",
    ),
    (
        "PGCRON_JOBS_UNREADABLE",
        "catalog",
        (W,),
        "The reading role cannot read `cron.job` (no USAGE on schema `cron`), so existing pg_cron jobs are not listed",
    ),
    (
        "PGCRON_RLS_PARTIAL",
        "catalog",
        (W,),
        "Row-level security on `cron.job` shows the reading role only its own jobs",
    ),
    ("JOB_NO_STEPS", "catalog", (W,), "The job has no steps"),
    (
        "SCHED_EMPTY_EVERY_2_MIN",
        "schedule",
        (W,),
        "No minute, hour, month-day or month is selected (weekdays do not count)",
    ),
    (
        "SCHED_LAST_DAY_IGNORED",
        "schedule",
        (W,),
        '"Last day" is selected together with other month-days',
    ),
    (
        "SCHED_SHORT_MONTH_ERROR",
        "schedule",
        (E, W),
        "Day 29 or 30 with February among the months, or day 31 with a month of 30 days or fewer (no month ticked = all months)",
    ),
    (
        "SCHED_MINUTE_SKIP_4_2",
        "schedule",
        (I,),
        "pgAgent 4.2's `pga_next_schedule` is installed (or the body is not recognised) and the schedule fires at more than one minute per hour",
    ),
    (
        "SCHED_LEAP_FEB_LAST_DAY_SKIPPED",
        "schedule",
        (W,),
        'pgAgent 4.0 or older is installed and the schedule uses "last day" alone with February selected',
    ),
    (
        "SCHED_EXCEPTIONS_LOOP_FOREVER",
        "schedule",
        (E,),
        "The schedule has no end and its time-only exceptions remove every time of day it fires at",
    ),
    (
        "SCHED_NEVER_FIRES",
        "schedule",
        (E,),
        "pgAgent would not fire the schedule once over the four-year horizon",
    ),
    (
        "SCHED_DOM_DOW_AND_INEXACT",
        "schedule",
        (E,),
        "Month-days (or the last day) and weekdays are both restricted",
    ),
    (
        "SCHED_LAST_DAY_NEEDS_1_6",
        "schedule",
        (E,),
        'The schedule uses "last day of the month" and the target pg_cron is older than 1.6, which has no `$`',
    ),
    (
        "SCHED_TARGET_MISREADS_NUMERIC_FIRST",
        "schedule",
        (E,),
        "The target is pg_cron 1.5.0, which reads an expression whose first token is a number 1-59 as an N-second interval (pg_cron #239)",
    ),
    (
        "SCHED_TARGET_DATE_OFF_BY_ONE",
        "schedule",
        (E,),
        "The target is pg_cron 1.6.0 or 1.6.1, which reads the date of 24 hours later, so day-restricted entries run one day early (pg_cron #288)",
    ),
    (
        "SCHED_EXCEPTIONS_NOT_REPRESENTABLE",
        "schedule",
        (W,),
        "The translation is not exact and the schedule has exceptions",
    ),
    (
        "SCHED_START_END_NOT_REPRESENTABLE",
        "schedule",
        (W,),
        "The translation is not exact and the schedule has a start or end",
    ),
    (
        "SCHED_DATES_BEYOND_PROOF",
        "schedule",
        (W,),
        "A start, end or exception date lies more than 200 years ahead (or so close to the year 10000 that 28 more years do not fit)",
    ),
    (
        "SCHED_TZ_DST_MISMATCH",
        "schedule",
        (E,),
        "pgAgent's zone and pg_cron's zone do not stay a fixed offset apart (daylight saving time)",
    ),
    ("SCHED_DST_FALLBACK_RUNS_TWICE", "schedule", (W,), "Same zone on both sides"),
    (
        "SCHED_TZ_SHIFT_MOVES_MONTHDAYS",
        "schedule",
        (W,),
        "The zones differ by a fixed offset that moves fire times across midnight, and the schedule restricts month-days, months or the last day, which cannot follow the shift exactly",
    ),
    (
        "SCHED_LAST_DAY_DST_SHIFT",
        "schedule",
        (W,),
        "An entry uses `$` and the target zone changes clocks",
    ),
    (
        "SCHED_ENTRIES_OVERLAP",
        "schedule",
        (W,),
        "A schedule (or a job's schedules together) needs several pg_cron entries and some minutes are in more than one of them",
    ),
    (
        "SCHED_NOT_EXACT",
        "schedule",
        (W,),
        "The translation does not fire at exactly the same minutes over the horizon (either direction)",
    ),
    ("SCHED_CRON_SECONDS_NOT_REPRESENTABLE", "schedule", (E,), "pg_cron to pgAgent"),
    ("SCHED_CRON_REBOOT_NOT_REPRESENTABLE", "schedule", (E,), "pg_cron to pgAgent"),
    ("SCHED_CRON_FEB_29_DROPPED", "schedule", (W,), "pg_cron to pgAgent"),
    ("SCHED_CRON_JUNK_IGNORED", "schedule", (W,), "Reading a pg_cron expression"),
    ("SCHED_CRON_EXTRA_FIELDS_IGNORED", "schedule", (W,), "Reading a pg_cron expression"),
    ("SCHED_CRON_REVERSED_RANGE", "schedule", (W,), "Reading a pg_cron expression"),
    ("SCHED_CRON_YEARLY_NEVER_FIRES", "schedule", (E,), "Reading a pg_cron expression"),
    ("SCHED_CRON_MACRO", "schedule", (I,), "Reading a pg_cron expression"),
    ("STEP_DISABLED", "plan", (I,), "The step is disabled"),
    (
        "STEP_KIND_UNSUPPORTED",
        "plan",
        (E,),
        "The step has an unknown kind (see the reader's unknown-kind diagnostic)",
    ),
    (
        "STEP_BATCH",
        "plan",
        (
            E,
            W,
        ),
        "A batch (shell) step",
    ),
    (
        "STEP_SQL_UNPARSEABLE",
        "plan",
        (E,),
        "The step's SQL cannot be split into statements (an unterminated string or dollar quote)",
    ),
    (
        "STEP_EMPTY",
        "plan",
        (
            E,
            W,
        ),
        "The step has no statement",
    ),
    (
        "STEP_NEEDS_CLIENT",
        "plan",
        (E,),
        r"The step uses `COPY ... FROM STDIN` / `TO STDOUT` or a psql meta-command (`\copy`, `\!`), which need a client and cannot run under pg_cron",
    ),
    (
        "STEP_CONNSTR_UNUSABLE",
        "plan",
        (E,),
        "The step's connection string cannot be parsed, so the database and role it runs in are unknown",
    ),
    ("STEP_REMOTE_SERVER", "plan", (E,), "The step's connection string points to another server"),
    (
        "STEP_SERVER_UNKNOWN",
        "plan",
        (E,),
        "The step's connection string names a local host, but the catalog does not record the server's port (a snapshot from an older pgbridge), or it names a `service`/`servicefile` (pg_service.conf may name any server), so pgbridge cannot tell whether it is the same server",
    ),
    ("STEP_DATABASE_MISSING", "plan", (E,), "Planned from a live server"),
    ("STEP_PASSWORD_DROPPED", "plan", (W,), "The step's connection string carried a password"),
    ("STEP_DATABASE_DEFAULTED", "plan", (W,), "The step's connection string names no database"),
    (
        "JOB_GUARDED",
        "plan",
        (I,),
        "The command checks pgAgent's rule before the steps run (a guard), behind one superset entry",
    ),
    (
        "STEP_WRAPPED_BY_GUARD",
        "plan",
        (I,),
        "A single step runs inside the guard's `DO` block",
    ),
    (
        "JOB_GUARD_NOT_USABLE",
        "plan",
        (I,),
        "A guard would make the job exact, but its steps cannot run inside one",
    ),
    (
        "STEPS_WRAPPED",
        "plan",
        (I,),
        "Several steps become one `DO` block that runs each step's SQL verbatim, commits after each and applies each step's on-error policy",
    ),
    (
        "STEPS_SHARE_SESSION",
        "plan",
        (W,),
        "A wrapped step (not the last) leaves session state behind that pgAgent, which ran each step in a session of its own, never passed on",
    ),
    ("STEPS_NOT_COMBINABLE", "plan", (E,), "The steps cannot share one command"),
    (
        "STEPS_SPLIT",
        "plan",
        (W,),
        "With `--split-steps`, uncombinable steps become separate pg_cron jobs on the same schedule",
    ),
    ("JOB_DISABLED", "plan", (I,), "The job is disabled"),
    (
        "JOB_HOST_PINNED",
        "plan",
        (W,),
        "The job runs only on the agent of one host (`jobhostagent`)",
    ),
    ("JOB_RUNNING", "plan", (I,), "pgAgent has claimed the job (`jobagentid` set)"),
    ("JOB_MIXED_STEPS", "plan", (E,), "The job mixes shell and SQL steps"),
    ("JOB_NOTHING_TO_RUN", "plan", (I,), "The job has no step, or no enabled step"),
    (
        "JOB_SEVERAL_CRON_JOBS",
        "plan",
        (W,),
        "The job becomes several active pg_cron jobs (distinct expressions) and their fire sets meet",
    ),
    (
        "JOB_RUNS_CAN_QUEUE",
        "plan",
        (I,),
        "The job's fire times come at most an hour apart (the message gives the shortest gap)",
    ),
    (
        "HISTORY_RUNS_OVERLAP",
        "plan",
        (W,),
        "Logged runs lasted longer than the gap to the schedule's next fire time (pgAgent skipped occurrences pg_cron would queue)",
    ),
    (
        "HISTORY_STUCK",
        "plan",
        (W,),
        "A run is still marked running long after its usual duration, or the job is claimed by an agent that is gone",
    ),
    (
        "HISTORY_FAILING",
        "plan",
        (W,),
        "The job or one of its steps failed in at least a tenth of its logged runs",
    ),
    (
        "HISTORY_NEVER_RAN",
        "plan",
        (I,),
        "The schedules fired in the history window but the log has no run",
    ),
    (
        "HISTORY_OFF_SCHEDULE",
        "plan",
        (I,),
        "Logged runs started in minutes the schedules do not fire at",
    ),
    (
        "JOB_NOT_SCHEDULED",
        "plan",
        (I,),
        "No pg_cron job is created because the job has no schedule (pgAgent never runs it) or none of its schedules migrates (ended, never fires, disabled and left out",
    ),
    ("SCHEDULE_DISABLED", "plan", (I,), "The schedule is disabled"),
    ("SCHEDULE_ENDED", "plan", (I,), "The schedule's end date is in the past"),
    (
        "SCHEDULE_START_OUT_OF_RANGE",
        "plan",
        (E,),
        "The schedule starts so close to the year 10000 that its next 28 years cannot be analysed (Python's dates end in 9999)",
    ),
    ("SCHEDULE_STARTS_LATER", "plan", (W,), "The schedule's start date is in the future"),
    (
        "ROLE_NEEDS_SUPERUSER",
        "plan",
        (W,),
        "A pg_cron job gets a username (from the step's connection string or `--run-as`) and the applier is not known to be a superuser",
    ),
    (
        "ROLE_RUN_AS",
        "plan",
        (I,),
        "A pg_cron job gets a username and the applier (read from the server) is a superuser, as that requires",
    ),
    ("ROLE_APPLIER", "plan", (I,), "pgAgent ran the SQL as the agent's login role"),
    (
        "TARGET_BGW_TXN_CONTROL",
        "plan",
        (E,),
        "A step uses transaction control (`COMMIT`, `ROLLBACK`, ...) and the target runs jobs in background workers (`cron.use_background_workers`), which reject it",
    ),
    (
        "TARGET_NO_SCHEDULE_IN_DATABASE",
        "plan",
        (E,),
        "A pg_cron job must run in another database than `cron.database_name`, and the target pg_cron is older than 1.4, which has no `cron.schedule_in_database`",
    ),
    (
        "TARGET_EXTENSION_OUTDATED",
        "plan",
        (E, W),
        "pg_cron's extension is at an older SQL version (`pg_extension.extversion`) than its library ships",
    ),
    ("TARGET_BACKGROUND_WORKERS", "plan", (I,), "The target runs jobs in background workers"),
    (
        "TARGET_OTHER_SERVER",
        "plan",
        (W,),
        "pg_cron was read from another server than the pgAgent catalog (another port, or another system identifier",
    ),
    (
        "TARGET_DECLARED",
        "plan",
        (I,),
        "The target's pg_cron release was given with `--target-pg-cron`",
    ),
    (
        "TARGET_ASSUMED",
        "plan",
        (W,),
        "The pg_cron release (1.4.0) or `cron.timezone` (GMT) was neither read from a server nor declared, but assumed",
    ),
    (
        "TARGET_PGCRON_NOT_LOADED",
        "plan",
        (E,),
        "pg_cron is created but its library is not loaded (`shared_preload_libraries` without it)",
    ),
    (
        "TARGET_PGCRON_NOT_CREATED",
        "plan",
        (E,),
        "The database named with `--pgcron` has no pg_cron extension (the message names `cron.database_name` when visible)",
    ),
    (
        "TARGET_RELEASE_NEWER",
        "plan",
        (W,),
        "The target's pg_cron release is newer than any in `bridge/data/pg_cron_versions.json`",
    ),
    (
        "TARGET_RELEASE_RANGE",
        "plan",
        (
            W,
            I,
        ),
        "The server's settings, SQL version and the schedules `cron.schedule` accepts (tried read-only) leave several releases",
    ),
    ("PLAN_OVERLAP_QUEUES", "plan", (I,), "Always present"),
    (
        "PLAN_CATALOG_BY_DATABASE_ONLY",
        "plan",
        (W,),
        "The pgAgent catalog is identified by its database name alone (the role may not execute `pg_control_system()`, or the snapshot was written by pgbridge 0.1.0)",
    ),
    (
        "MIGRATE_NAME_TAKEN",
        "apply",
        (E,),
        "A pg_cron job with the planned name (for the same user) exists and was not created by pgbridge for this pgAgent catalog",
    ),
    (
        "MIGRATE_HAND_EDITED",
        "apply",
        (W,),
        "A pg_cron job pgbridge created was changed since (its content no longer matches the ledger's hash)",
    ),
    (
        "MIGRATE_PGAGENT_RUNNING",
        "apply",
        (W,),
        "pgAgent was running the job (its `jobagentid` was set) when pgbridge disabled it",
    ),
    (
        "ACTIVATE_PGAGENT_RUNNING",
        "apply",
        (W,),
        "pgAgent was running a cut-over job when `activate` came",
    ),
    (
        "VERIFY_RUNS_MISSED",
        "apply",
        (E,),
        "A migrated pg_cron job did not run at fire times of its schedule (verify --runs)",
    ),
    (
        "VERIFY_RUNS_FAILED",
        "apply",
        (E,),
        "Runs of a migrated pg_cron job failed (verify --runs)",
    ),
    (
        "VERIFY_RUNS_EXTRA",
        "apply",
        (W,),
        "A migrated pg_cron job ran at no fire time of its schedule (verify --runs)",
    ),
    (
        "VERIFY_RUNS_GUARD_SKIPPED_FIRE",
        "apply",
        (E, W),
        "A guard skipped a migrated job's run at a pgAgent fire time (verify --runs)",
    ),
    (
        "VERIFY_RUNS_SLOWER",
        "apply",
        (I,),
        "pg_cron's runs take much longer than pgAgent's did (verify --runs)",
    ),
    (
        "VERIFY_RUNS_NO_EVIDENCE",
        "apply",
        (W,),
        "pg_cron's run log cannot show whether the job ran: cron.log_run off, or no details kept",
    ),
    (
        "VERIFY_RUNS_PARTIAL",
        "apply",
        (I,),
        "pg_cron's run log covers only part of the window, or the job is too young to have fired",
    ),
    (
        "VERIFY_CRON_JOB_MISSING",
        "apply",
        (E,),
        "A pg_cron job recorded in the ledger no longer exists",
    ),
    (
        "VERIFY_LEGACY_NAME",
        "apply",
        (I,),
        "The pg_cron jobs of a migrated pgAgent job carry the name pgbridge 0.1.0 gave them (`pgagent-<jobid>-...`, without the catalog tag)",
    ),
    (
        "VERIFY_SOURCE_CHANGED",
        "apply",
        (W,),
        "The pgAgent job, planned with the options recorded when it was migrated, no longer gives the pg_cron jobs that were applied",
    ),
    (
        "VERIFY_SCHEDULE_DRIFT",
        "apply",
        (E,),
        "A pg_cron job's schedule differs from the plan and does not fire at the same instants (an equivalent rewrite, proven with the equivalence checker, is not drift)",
    ),
    (
        "VERIFY_CONTENT_DRIFT",
        "apply",
        (E,),
        "A pg_cron job's command or database differs from the plan",
    ),
    (
        "VERIFY_ACTIVE_DRIFT",
        "apply",
        (E,),
        "A pg_cron job is active where it should be inactive (cut over, or disabled in pgAgent), or the reverse",
    ),
    (
        "VERIFY_PGAGENT_JOB_GONE",
        "apply",
        (W,),
        "A pgAgent job recorded in the ledger no longer exists",
    ),
    (
        "VERIFY_BOTH_ACTIVE",
        "apply",
        (E,),
        "A migrated pgAgent job is enabled again while pg_cron runs it",
    ),
    (
        "VERIFY_NEITHER_ACTIVE",
        "apply",
        (E,),
        "A migrated pgAgent job is disabled and none of its pg_cron jobs is active",
    ),
    (
        "EXPORT_FROM_LEDGER",
        "export",
        (I,),
        "The pg_cron job(s) were created by pgbridge's migration",
    ),
    (
        "EXPORT_EDITED_SINCE",
        "export",
        (I,),
        "pgbridge created the pg_cron job, but it was changed since",
    ),
    (
        "EXPORT_ORIGINAL_PRESENT",
        "export",
        (W,),
        "With `--apply` into the catalog the job was migrated from (the same catalog identity",
    ),
    (
        "EXPORT_NOTHING_TO_SCHEDULE",
        "export",
        (E,),
        "No pgAgent schedule can express the pg_cron expression (for example 29 February alone, which pgAgent rejects in common years)",
    ),
    (
        "EXPORT_SCHEDULE_INVALID",
        "export",
        (E,),
        "The pg_cron job's schedule does not parse with the release's parser, so pg_cron never runs the job (`TupleToCronJob` in `job_metadata.c` zeroes it)",
    ),
    (
        "EXPORT_PASSWORD_LOST",
        "export",
        (W,),
        "A step of the original pgAgent job had a password in its connection string, which pgbridge never stored",
    ),
    ("EXPORT_EXCEPTION_UNIQUE", "export", (I,), "The original job has date+time exceptions"),
    (
        "EXPORT_EXCEPTION_TAKEN",
        "export",
        (W,),
        "While writing (`--apply`), an exception of the exported job was already held by another pgAgent schedule, so the exported schedule goes without it",
    ),
    (
        "EXPORT_SCHEDULE_NOT_EXACT",
        "export",
        (W,),
        "The pgAgent schedules written for a pg_cron expression do not fire at exactly the same times (the schedule findings on the same job say why)",
    ),
    (
        "EXPORT_SEVERAL_SCHEDULES",
        "export",
        (I,),
        "One pg_cron expression needs several pgAgent schedules (pg_cron ORs month-days and weekdays where pgAgent ANDs them",
    ),
    (
        "EXPORT_REMOTE_NODE",
        "export",
        (W,),
        "The pg_cron job runs on another node (`nodename`/`nodeport`)",
    ),
    ("EXPORT_ROLE", "export", (I,), "pg_cron ran the command as its `username`"),
    (
        "EXPORT_GUARDED_COMMAND",
        "export",
        (E,),
        "A native pg_cron job's command starts with a pgbridge guard",
    ),
    (
        "EXPORT_BOTH_SCHEDULERS",
        "export",
        (W,),
        "The pgAgent job is created enabled while its pg_cron job is still active",
    ),
    (
        "EXPORT_OVERLAP_SKIPS",
        "export",
        (I,),
        "pgAgent skips occurrences that fall due while a job runs (pg_cron queued them) and runs a job once after downtime (pg_cron did not)",
    ),
    (
        "EXPORT_PARTIAL",
        "export",
        (W,),
        "Row-level security showed the reading role only its own pg_cron jobs",
    ),
    ("EXPORT_ZONE_ASSUMED", "export", (W,), "Neither `--pgagent` nor `--timezone` was given"),
    (
        "EXPORT_ZONE_DEPENDS",
        "export",
        (W,),
        "The pgAgent zone was assumed (UTC, see EXPORT_ZONE_ASSUMED) and every wall-clock schedule depends on it (even `* * * * *`",
    ),
    (
        "EXPORT_RELEASE_NEWER",
        "export",
        (W,),
        "The server's pg_cron release is newer than any pgbridge knows",
    ),
    (
        "EXPORT_RELEASE_RANGE",
        "export",
        (
            W,
            I,
        ),
        "The evidence leaves several pg_cron releases",
    ),
)
