"""A job's steps -> the commands pg_cron runs: where each SQL step runs, and whether the steps
can share one command (a DO block), must be split, or cannot migrate."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.findings import Severity
from bridge.model import Catalog, OnError, Server, Step, StepKind
from bridge.pg import conninfo
from bridge.planner.sqltext import StatementKind, StepSQL, analyse
from bridge.planner.target import Target
from bridge.planner.types import PlanOptions
from bridge.planner.work import JobWork
from bridge.planner.wrapper import wrap


@dataclass(frozen=True)
class Command:
    text: str
    database: str
    username: str | None
    step_ids: tuple[int, ...]
    wrapped: bool = False


NOT_COMBINABLE = {
    StatementKind.RUN_ALONE: "must run alone, outside a transaction block",
    StatementKind.TRANSACTION_CONTROL: "controls the transaction itself",
    StatementKind.CALL: "may commit, which fails inside a wrapper",
    StatementKind.DO: "may commit, which fails inside a wrapper",
    StatementKind.TOP_LEVEL: "works only as a top-level statement, not inside the wrapper",
    StatementKind.TRANSACTION_SETTING: (
        "must come before any query of its transaction (or changes every later one), which the "
        "wrapper cannot give it"
    ),
}


#: libpq's port when a connection string names none (the agent's PGPORT is not knowable).
LIBPQ_PORT = "5432"


def step_place(
    work: JobWork, step: Step, options: PlanOptions, server: Server | None
) -> tuple[str, str | None] | None:
    """(database, username) a SQL step runs in under pg_cron, or None when it cannot.

    A connection string means the server pgAgent ran on only with the same host *and* port
    (libpq's 5432 when it names none); when pgbridge cannot tell, the step is not run locally."""
    if not step.connstr:
        return step.dbname, options.run_as
    try:
        if any(d.code == "STEP_CONNSTR_MALFORMED" for d in step.diagnostics):
            raise ValueError("libpq cannot read it as written; see the step's diagnostic")
        params = conninfo.parse(step.connstr)
    except ValueError as exc:
        work.add(
            "STEP_CONNSTR_UNUSABLE",
            Severity.ERROR,
            f"step {step.name!r} has a connection string pgbridge cannot parse ({exc})",
            "fix jstconnstr, or move the step's SQL to a step with a database name",
            step=step,
        )
        return None
    if "service" in params or "servicefile" in params:
        # pg_service.conf (on the pgAgent host) may name any host and port
        work.add(
            "STEP_SERVER_UNKNOWN",
            Severity.ERROR,
            f"step {step.name!r} connects through a pg_service.conf service; pgbridge cannot "
            "tell which server that names",
            "write the service's host, port and dbname into jstconnstr, or move the step's SQL "
            "to a step with a database name",
            step=step,
        )
        return None
    # libpq connects to hostaddr when given (host then only serves authentication and TLS)
    host = params.get("hostaddr") or params.get("host") or ""
    port = params.get("port") or LIBPQ_PORT
    here = options.local_port or (str(server.port) if server is not None else None)
    named = host in options.local_hosts or host.startswith("/")
    if server is not None and host == server.host:
        named = True
    if not named or "," in host or (here is not None and port != here):
        elsewhere = "" if named else "another host; "
        work.add(
            "STEP_REMOTE_SERVER",
            Severity.ERROR,
            f"step {step.name!r} connects to another server ({conninfo.describe(step.connstr)}: "
            f"{elsewhere}port {port}{'' if 'port' in params else ', libpq default'}, the pgAgent "
            f"server listens on {here or 'an unknown port'}); pg_cron runs commands only on its "
            "own server",
            "run it through dblink/postgres_fdw from a local job, or schedule it with pg_cron on "
            "that server",
            step=step,
        )
        return None
    if here is None:
        work.add(
            "STEP_SERVER_UNKNOWN",
            Severity.ERROR,
            f"step {step.name!r} connects to {conninfo.describe(step.connstr)} (port {port}); "
            "pgbridge cannot tell whether that is the server pgAgent ran on: the catalog does "
            "not record the server's port (a snapshot from an older pgbridge)",
            "plan from the live catalog (--pgagent) or a snapshot taken with this pgbridge",
            step=step,
        )
        return None
    if step.connstr_had_password:
        work.add(
            "STEP_PASSWORD_DROPPED",
            Severity.WARNING,
            f"step {step.name!r} carried a password in its connection string; pg_cron keeps no "
            "credentials and connects without one",
            "allow the role through trust/peer or ~/.pgpass of the server's OS user, or enable "
            "cron.use_background_workers",
            step=step,
        )
    database = params.get("dbname") or step.dbname
    if not database:
        database = params.get("user") or ""
        work.add(
            "STEP_DATABASE_DEFAULTED",
            Severity.WARNING,
            f"step {step.name!r} names no database; libpq's default (the user name "
            f"{database!r}) is assumed",
            "add dbname= to the step's connection string",
            step=step,
        )
    return database, params.get("user") or options.run_as


def step_commands(
    work: JobWork, target: Target, options: PlanOptions, catalog: Catalog
) -> list[Command] | None:
    """The commands the job's steps become (several when split); None when they cannot."""
    job = work.job
    assert catalog.pgagent is not None
    server = catalog.pgagent.server
    runs_on = catalog.pgcron.server if catalog.pgcron and catalog.pgcron.server else server
    sql_steps: list[tuple[Step, StepSQL]] = []
    batch: list[Step] = []
    for step in job.steps:
        if not step.enabled:
            work.add(
                "STEP_DISABLED",
                Severity.INFO,
                f"step {step.name!r} is disabled and is left out, as pgAgent skips it",
                "",
                step=step,
            )
            continue
        if step.kind is StepKind.BATCH:
            batch.append(step)
            continue
        if step.kind is not StepKind.SQL:
            work.add(
                "STEP_KIND_UNSUPPORTED",
                Severity.ERROR,
                f"step {step.name!r} has an unknown kind; pgAgent stops the job there",
                "fix the step kind in pgAgent first",
                step=step,
            )
            return None
        sql_steps.append((step, analyse(step.code)))
    if batch:
        mixed = bool(sql_steps)
        severity = Severity.WARNING if mixed and options.sql_part_of_mixed else Severity.ERROR
        for step in batch:
            work.add(
                "STEP_BATCH",
                severity,
                f"step {step.name!r} is a shell script run on the agent's host; pg_cron cannot "
                "run shell commands"
                + (
                    " (left out: only the SQL steps are migrated)"
                    if severity is Severity.WARNING
                    else ""
                ),
                "run it from the operating system's scheduler (cron, systemd timers), or use "
                "COPY ... TO PROGRAM, PL/sh or pg_timetable",
                step=step,
                detail=step.code,
            )
        if severity is Severity.ERROR:
            if mixed:
                work.add(
                    "JOB_MIXED_STEPS",
                    Severity.ERROR,
                    "the job mixes shell and SQL steps; migrating only the SQL part changes it",
                    "pass --sql-part-of-mixed to migrate its SQL steps alone",
                )
            return None
    if not sql_steps:
        return []
    usable: list[tuple[Step, StepSQL, str, str | None]] = []
    for step, sql in sql_steps:
        if sql.error is not None:
            work.add(
                "STEP_SQL_UNPARSEABLE",
                Severity.ERROR,
                f"step {step.name!r} cannot be split into statements ({sql.error})",
                "check its quoting (an unterminated string or dollar quote)",
                step=step,
            )
            return None
        if sql.empty:
            fatal = step.on_error is OnError.FAIL
            work.add(
                "STEP_EMPTY",
                Severity.ERROR if fatal else Severity.WARNING,
                f"step {step.name!r} has no statement; pgAgent runs it as an empty query, which "
                + (
                    "fails and stops the job there every time" if fatal else "fails; it is left out"
                ),
                "remove the step in pgAgent (or give it its intended SQL) before migrating",
                step=step,
            )
            if fatal:
                return None
            continue
        for stmt in sql.statements:
            if stmt.kind in (StatementKind.COPY_STDIO, StatementKind.PSQL_META):
                work.add(
                    "STEP_NEEDS_CLIENT",
                    Severity.ERROR,
                    f"step {step.name!r}: {stmt.keyword} ({stmt.reason}) cannot run under pg_cron",
                    "use server-side COPY to/from a file or PROGRAM, or keep this step outside pg_cron",
                    step=step,
                )
                return None
            if stmt.kind is StatementKind.TRANSACTION_CONTROL and target.background_workers:
                work.add(
                    "TARGET_BGW_TXN_CONTROL",
                    Severity.ERROR,
                    f"step {step.name!r} uses {stmt.keyword}; pg_cron's background-worker mode "
                    "rejects transaction control statements",
                    "remove the transaction control, or turn cron.use_background_workers off",
                    step=step,
                )
                return None
        where = step_place(work, step, options, server)
        if where is None:
            return None
        if runs_on is not None and where[0] not in runs_on.databases:
            work.add(
                "STEP_DATABASE_MISSING",
                Severity.ERROR,
                f"step {step.name!r} runs in database {where[0]!r}, which does not exist on the "
                f"server (or takes no connections): pgAgent fails the step every time, and "
                "pg_cron cannot schedule it",
                "create the database, or point the step at an existing one in pgAgent first",
                step=step,
            )
        usable.append((step, sql, where[0], where[1]))
    if not usable:
        return []
    if len(usable) == 1:
        step, _, database, username = usable[0]
        return [Command(step.code, database, username, (step.id,))]
    blockers: list[str] = []
    places = {(db, user) for _, _, db, user in usable}
    if len(places) > 1:
        blockers.append(
            "the steps run in different databases or as different roles ("
            + ", ".join(sorted(f"{db} as {user or 'the applier'}" for db, user in places))
            + ")"
        )
    for step, sql, _, _ in usable:
        for stmt in sql.statements:
            if stmt.kind in NOT_COMBINABLE:
                blockers.append(
                    f"step {step.name!r} runs {stmt.keyword}, which {NOT_COMBINABLE[stmt.kind]}"
                )
                break
    if target.background_workers:
        blockers.append("background-worker mode rejects the COMMIT between steps")
    if not blockers:
        steps = [s for s, _, _, _ in usable]
        _, _, database, username = usable[0]
        work.add(
            "STEPS_WRAPPED",
            Severity.INFO,
            f"{len(steps)} steps become one DO block that runs each step's SQL verbatim, commits "
            "after each, and applies each step's on-error policy; pg_cron logs the job as one "
            "command (no per-step log)",
            "nothing to do; read the command in the SQL script to review the wrapping",
        )
        for step, sql, _, _ in usable[:-1]:  # what the last step leaves, no step sees
            leaks = list(dict.fromkeys(x.leaks for x in sql.statements if x.leaks))
            if leaks:
                work.add(
                    "STEPS_SHARE_SESSION",
                    Severity.WARNING,
                    f"step {step.name!r} leaves {'; '.join(leaks)} in the session: pgAgent ran "
                    "each step in a session of its own, the wrapper runs the following steps in "
                    "the same one",
                    "make the change transaction-local (SET LOCAL, set_config(..., true), ON "
                    "COMMIT DROP, pg_advisory_xact_lock), or pass --split-steps",
                    step=step,
                )
        return [Command(wrap(steps), database, username, tuple(s.id for s in steps), True)]
    if not options.split_steps:
        work.add(
            "STEPS_NOT_COMBINABLE",
            Severity.ERROR,
            "the steps cannot run as one pg_cron command: " + "; ".join(blockers),
            "pass --split-steps to give each step its own pg_cron job (order and stop-on-error "
            "are then lost), or restructure the job",
        )
        return None
    work.add(
        "STEPS_SPLIT",
        Severity.WARNING,
        f"{len(usable)} steps become separate pg_cron jobs on the same schedule: they may run in "
        "any order or at the same time, and a failing step no longer stops the others ("
        + "; ".join(blockers)
        + ")",
        "chain them explicitly if the order matters",
    )
    return [Command(s.code, db, user, (s.id,)) for s, _, db, user in usable]
