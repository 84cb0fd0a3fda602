"""The migration plan: the exact pg_cron jobs a pgAgent catalog becomes, and every way they differ.

Pure: a :class:`~bridge.model.Catalog` and a :class:`Target` in, a :class:`Plan` out; no I/O, no
printing. Each pgAgent job gets a status (``exact``, ``changed``, ``manual``, ``skipped``), the
pg_cron jobs to create, and findings (stable code, severity, the job/step/schedule concerned, a
message and a remedy). Step SQL is analysed but never rewritten: a single step is carried byte for
byte; several steps are wrapped, visibly, in one ``DO`` block that commits after each step and
applies each step's on-error policy, and that wrapping is itself reported.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Literal, cast

from bridge.catalog.release import detected
from bridge.catalog.timezones import check_zone
from bridge.errors import CatalogNotFound, UsageError
from bridge.model import (
    Catalog,
    Job,
    OnError,
    PgCronSide,
    Schedule,
    Server,
    Severity,
    Step,
    StepKind,
)
from bridge.naming import catalog_tag, job_name
from bridge.pg import conninfo
from bridge.pg.quoting import comment, dollar_quote
from bridge.plan.sqltext import StatementKind, StepSQL, analyse
from bridge.schedule import (
    AgentSchedule,
    Body,
    Comparison,
    CronTarget,
    CronTranslation,
    Mode,
    agent_to_cron,
    compare,
    cron_fireset,
    cron_version,
    describe_agent_schedule,
    known_releases,
    parse_cron,
)
from bridge.schedule.equivalence import DEFAULT_DAYS
from bridge.schedule.findings import NEVER_FIRES
from bridge.schedule.slots import shortest_gap
from bridge.schedule.versions import newest_release

Status = Literal["exact", "changed", "manual", "skipped"]
FORMAT_VERSION = 1
LOCAL_HOSTS = ("", "localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class Target:
    """Where the plan will be applied: detected from a live pg_cron, or declared offline."""

    release: str
    timezone: str
    database: str
    match_dom_and_dow: bool = False
    background_workers: bool = False
    #: The role that will run ``cron.schedule`` (None when planning offline without --run-as).
    applier: str | None = None
    detected: bool = False
    #: Whether that role is a superuser (None: unknown).
    applier_superuser: bool | None = None
    #: When the server's release was not pinned: the range the evidence allows, how it was found,
    #: and the releases in it that behave differently from ``release`` (planned as most likely).
    release_range: str = ""
    release_evidence: tuple[str, ...] = ()
    other_releases: tuple[str, ...] = ()
    #: Values neither read from a server nor declared, but assumed (e.g. "pg_cron 1.4.0").
    assumed: tuple[str, ...] = ()

    @property
    def how(self) -> str:
        """How the release is known: "detected", "declared" or "assumed"."""
        if self.detected:
            return "detected"
        return "assumed" if any(a.startswith("pg_cron ") for a in self.assumed) else "declared"

    def cron_target(self) -> CronTarget:
        return CronTarget.of(self.release, self.timezone, match_dom_and_dow=self.match_dom_and_dow)


def checked_release(
    release: str, where: str = "", fix: str = "give it as MAJOR.MINOR.PATCH, e.g. 1.6.7"
) -> str:
    """``release`` if this pgbridge knows how that pg_cron behaves; else one line saying so.

    Every release string (declared by an option, read from a server or a snapshot) passes here.
    """
    try:
        cron_version(release)
    except ValueError:
        known = f"{known_releases()[0]} to {known_releases()[-1]}"
        origin = f" ({where})" if where else ""
        raise UsageError(
            f"unknown pg_cron release {release!r}{origin}: pgbridge knows {known}; {fix}"
        ) from None
    return release


def target_from(
    side: PgCronSide | None,
    *,
    release: str | None = None,
    timezone: str | None = None,
    database: str | None = None,
    applier: str | None = None,
) -> Target:
    """A :class:`Target` from what was read (``side``), each declared value taking precedence."""
    if release is not None:
        checked_release(release)
    if timezone is not None:
        check_zone(timezone)
    choice = None
    if side is not None and side.binary_at_least not in ("unknown", "") and release is None:
        for read in (side.binary_at_least, side.binary_below):
            if read is not None:
                checked_release(read, "read from pg_cron", "pass --target-pg-cron")
        choice = detected(side)
    detected_release = choice.release if choice is not None else None
    if timezone is None and side is not None and side.timezone is not None:
        check_zone(side.timezone, "cron.timezone", "pass --cron-timezone with an IANA name")
    zone = timezone or (side.timezone if side is not None else None) or "GMT"
    db = database or (side.database_name if side is not None else None)
    if db is None and side is not None and side.extension_version is not None:
        db = side.database
    assumed = []
    if release is None and detected_release is None:
        assumed.append("pg_cron 1.4.0")
    if timezone is None and (side is None or side.timezone is None):
        assumed.append("cron.timezone GMT")
    return Target(
        release=release or detected_release or "1.4.0",
        timezone=zone,
        database=db or "postgres",
        match_dom_and_dow=bool(side and side.setting("cron.match_dom_and_dow") == "on"),
        background_workers=bool(side and side.background_workers),
        applier=applier,
        detected=side is not None and release is None and detected_release is not None,
        applier_superuser=(
            side.reader_superuser
            if side is not None and applier and applier == side.reader
            else None
        ),
        release_range=choice.evidence.describe() if choice and choice.others else "",
        release_evidence=choice.evidence.facts if choice and choice.others else (),
        other_releases=choice.others if choice else (),
        assumed=tuple(assumed),
    )


@dataclass(frozen=True)
class PlanOptions:
    """Choices a DBA makes; the defaults reproduce what pgAgent really did and hide nothing."""

    #: "actual" translates pgAgent's real behaviour (its bugs too); "configured" what was ticked.
    mode: Mode = "actual"
    #: Disabled jobs and schedules: planned as inactive pg_cron jobs, or left out.
    disabled: Literal["inactive", "skip"] = "inactive"
    #: Migrate the SQL steps of a job that also has batch (shell) steps, dropping the latter.
    sql_part_of_mixed: bool = False
    #: Split steps that cannot share a command into separate pg_cron jobs (order is lost).
    split_steps: bool = False
    #: The role pg_cron jobs run as (``username``); None = the role that applies the plan.
    run_as: str | None = None
    #: Hosts that mean "the pgAgent server itself" in a step's ``jstconnstr``.
    local_hosts: tuple[str, ...] = LOCAL_HOSTS
    local_port: str | None = None
    #: First day of the equivalence horizon (default: today, UTC).
    since: dt.date | None = None


@dataclass(frozen=True)
class Finding:
    """One behaviour change or obstacle, located on the job, step or schedule it concerns."""

    code: str
    severity: Severity
    message: str
    remedy: str
    job_id: int
    step_id: int | None = None
    schedule_id: int | None = None
    #: Long text that belongs with the finding (a batch step's script).
    detail: str = ""


@dataclass(frozen=True)
class CronJobPlan:
    """One pg_cron job to create."""

    name: str
    schedule: str
    command: str
    database: str
    #: None = the role that applies the plan.
    username: str | None
    active: bool
    schedule_ids: tuple[int, ...]
    step_ids: tuple[int, ...]
    #: True when several steps were wrapped into one DO block.
    wrapped: bool = False

    def in_cron_database(self, target: Target) -> bool:
        return self.database == target.database and self.username is None


@dataclass(frozen=True)
class ScheduleNote:
    """A pgAgent schedule as the report shows it: id, name, plain words, the catalog's comment."""

    id: int
    name: str
    #: pgbridge's plain words for the schedule (not the catalog's comment: that is ``comment``)
    description: str
    enabled: bool
    #: ``jscdesc``
    comment: str = ""


@dataclass(frozen=True)
class StepNote:
    """A pgAgent step's comment (``jstdesc``), for the reports."""

    id: int
    name: str
    comment: str


@dataclass(frozen=True)
class JobPlan:
    job_id: int
    job_name: str
    enabled: bool
    status: Status
    cron_jobs: tuple[CronJobPlan, ...] = ()
    findings: tuple[Finding, ...] = ()
    schedules: tuple[ScheduleNote, ...] = ()
    #: ``jobdesc``, and the steps that have a comment
    comment: str = ""
    steps: tuple[StepNote, ...] = ()


@dataclass(frozen=True)
class Plan:
    source: str
    #: The zone pgAgent's schedules were evaluated in, and where that came from.
    agent_timezone: str
    agent_timezone_source: str
    target: Target
    options: PlanOptions
    jobs: tuple[JobPlan, ...]
    findings: tuple[Finding, ...] = ()
    format_version: int = FORMAT_VERSION
    #: Which pgAgent catalog (system identifier/database), and the tag its pg_cron names carry.
    catalog: str = ""
    catalog_tag: str = ""

    def counts(self) -> dict[str, int]:
        out = count_statuses(j.status for j in self.jobs)
        out["cron_jobs"] = sum(len(j.cron_jobs) for j in self.jobs if j.status != "manual")
        return out

    def all_findings(self) -> list[Finding]:
        return list(self.findings) + [f for j in self.jobs for f in j.findings]


def count_statuses(statuses: Iterable[Status]) -> dict[str, int]:
    """How many jobs have each status (plans and exports share the statuses)."""
    out = {"jobs": 0, "exact": 0, "changed": 0, "manual": 0, "skipped": 0}
    for status in statuses:
        out["jobs"] += 1
        out[status] += 1
    return out


def reaches(findings: Iterable[Finding], level: str) -> bool:
    """True when a finding is at least ``level`` (error/warning/info); ``never`` is never reached."""
    if level == "never":
        return False
    bar = Severity(level).rank
    return any(f.severity.rank >= bar for f in findings)


# --------------------------------------------------------------------------------------------
# Steps -> commands


@dataclass
class _Job:
    """Work state while planning one job."""

    job: Job
    findings: list[Finding] = field(default_factory=list)

    def add(
        self,
        code: str,
        severity: Severity,
        message: str,
        remedy: str,
        *,
        step: Step | None = None,
        schedule: Schedule | None = None,
        detail: str = "",
    ) -> None:
        self.findings.append(
            Finding(
                code,
                severity,
                message,
                remedy,
                self.job.id,
                step.id if step else None,
                schedule.id if schedule else None,
                detail,
            )
        )


@dataclass(frozen=True)
class _Command:
    text: str
    database: str
    username: str | None
    step_ids: tuple[int, ...]
    wrapped: bool = False


_NOT_COMBINABLE = {
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


def _step_target(
    work: _Job, step: Step, options: PlanOptions, server: Server | None
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


def _wrap(steps: Sequence[Step]) -> str:
    """One DO block: each step's text, verbatim, as its own transaction with its error policy."""
    body: list[str] = []
    for n, step in enumerate(steps, 1):
        # pg_cron runs the block as it is (no psql): a dollar quote keeps the code byte for byte
        quoted = dollar_quote(step.code.strip(), base=f"s{n}_")
        policy = _POLICY.get(step.on_error, _POLICY[OnError.FAIL])
        body.append("  " + comment(f"step {n}: {step.name} (on error: {policy})"))
        if step.on_error in (OnError.SUCCEED, OnError.IGNORE):
            body += [
                "  BEGIN",
                f"    EXECUTE {quoted};",
                "  EXCEPTION WHEN OTHERS OR query_canceled THEN",
                f"    RAISE WARNING 'pgbridge: step {n} failed (%), continuing', SQLERRM;",
                "  END;",
            ]
        else:
            body.append(f"  EXECUTE {quoted};")
        body.append("  COMMIT;")
    return "DO " + dollar_quote("\nBEGIN\n" + "\n".join(body) + "\nEND\n")


_POLICY = {
    OnError.FAIL: "stop the job",
    OnError.SUCCEED: "count as success, go on",
    OnError.IGNORE: "ignore, go on",
}


def _commands(
    work: _Job, target: Target, options: PlanOptions, catalog: Catalog
) -> list[_Command] | None:
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
        where = _step_target(work, step, options, server)
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
        return [_Command(step.code, database, username, (step.id,))]
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
            if stmt.kind in _NOT_COMBINABLE:
                blockers.append(
                    f"step {step.name!r} runs {stmt.keyword}, which {_NOT_COMBINABLE[stmt.kind]}"
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
        return [_Command(_wrap(steps), database, username, tuple(s.id for s in steps), True)]
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
    return [_Command(s.code, db, user, (s.id,)) for s, _, db, user in usable]


# --------------------------------------------------------------------------------------------
# Schedules -> cron expressions


#: The latest start whose analysis window (and the zone margins around it) stays in year 9999.
LAST_START = dt.date.max - dt.timedelta(days=DEFAULT_DAYS + 7)


def _schedule_expressions(
    work: _Job, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> list[tuple[str, bool, int]]:
    """(expression, active, schedule id) for every schedule that migrates."""
    assert catalog.pgagent is not None
    agent = catalog.pgagent
    body: Body = "4.2"
    if agent.function_body in ("4.1", "<=4.0"):
        body = cast(Body, agent.function_body)
    out: list[tuple[str, bool, int]] = []
    now = dt.datetime.combine(today, dt.time(), dt.timezone.utc)
    for sched in work.job.schedules:
        for diag in sched.diagnostics:
            work.add(diag.code, diag.severity, diag.message, "", schedule=sched)
        if not sched.enabled and options.disabled == "skip":
            work.add(
                "SCHEDULE_DISABLED",
                Severity.INFO,
                f"schedule {sched.name!r} is disabled and left out",
                "",
                schedule=sched,
            )
            continue
        if sched.start is None:
            continue  # CATALOG_NULL_START already says pgAgent never runs it
        if sched.end is not None and sched.end < now:
            work.add(
                "SCHEDULE_ENDED",
                Severity.INFO,
                f"schedule {sched.name!r} ended on {sched.end:%Y-%m-%d %H:%M} UTC; not migrated",
                "",
                schedule=sched,
            )
            continue
        if sched.start.date() > LAST_START:
            work.add(
                "SCHEDULE_START_OUT_OF_RANGE",
                Severity.ERROR,
                f"schedule {sched.name!r} starts on {sched.start:%Y-%m-%d}, too close to the year "
                f"10000 for pgbridge to analyse its next {DEFAULT_DAYS} days (the last start it "
                f"can is {LAST_START})",
                "schedule the job by hand closer to that date",
                schedule=sched,
            )
            continue
        since = max(today, sched.start.date()) if options.since is None else options.since
        result = _translate(
            _relevant(sched, since), target.cron_target(), agent.timezone, options.mode, body, since
        )
        for f in result.findings:
            work.add(f.code, f.severity, f.message, f.remedy, schedule=sched)
        if sched.start > now:
            work.add(
                "SCHEDULE_STARTS_LATER",
                Severity.WARNING,
                f"schedule {sched.name!r} starts on {sched.start:%Y-%m-%d %H:%M} UTC; a pg_cron "
                "job fires from the moment it is active",
                "create the pg_cron job inactive and activate it on that date "
                "(cron.alter_job(jobid, active := true))",
                schedule=sched,
            )
        if any(f.code == NEVER_FIRES for f in result.findings) or not result.expressions:
            continue
        if not sched.enabled:
            work.add(
                "SCHEDULE_DISABLED",
                Severity.INFO,
                f"schedule {sched.name!r} is disabled; its pg_cron job is created inactive",
                "",
                schedule=sched,
            )
        out += [(e, sched.enabled, sched.id) for e in result.expressions]
    return _union(work, out, target, agent.timezone, options, body, today)


def _union(
    work: _Job,
    found: list[tuple[str, bool, int]],
    target: Target,
    zone: str,
    options: PlanOptions,
    body: Body,
    today: dt.date,
) -> list[tuple[str, bool, int]]:
    """Several enabled schedules whose union is fewer expressions (``0 5,6 * * *`` for 05:00 and
    06:00) become those expressions, when that union is exact; otherwise they stay apart."""
    ids = sorted({i for _, _, i in found})
    if len(ids) < 2 or not all(active for _, active, _ in found):
        return found
    by_id = {s.id: s for s in work.job.schedules}
    starts = [by_id[i].start for i in ids]
    if any(start is None or start.date() > today for start in starts):
        return found
    schedules = tuple(_relevant(by_id[i], today) for i in ids)
    union = _translate(schedules, target.cron_target(), zone, options.mode, body, today)
    if not union.exact or len(union.expressions) >= len({e for e, _, _ in found}):
        return found
    return [(e, True, i) for e in union.expressions for i in ids]


def _relevant(sched: Schedule, since: dt.date) -> AgentSchedule:
    """The schedule as it matters from ``since`` on: a start before then changes nothing."""
    agent = AgentSchedule.from_model(sched)
    if agent.start is not None and agent.start.date() <= since:
        agent = replace(agent, start=None)
    return agent


@lru_cache(maxsize=65536)
def _translate(
    agent: AgentSchedule | tuple[AgentSchedule, ...],
    target: CronTarget,
    zone: str,
    mode: Mode,
    body: Body,
    since: dt.date,
) -> CronTranslation:
    """Catalogs repeat the same schedules many times: each distinct one is translated once."""
    return agent_to_cron(
        agent,
        target=target,
        agent_zone=zone,
        mode=mode,
        body=body,
        since=since,
    )


# --------------------------------------------------------------------------------------------
# Jobs


def status_of(findings: Iterable[Finding], creates: bool) -> Status:
    """An error makes a job manual; with nothing to create it is skipped; a warning means the
    result behaves differently (changed); otherwise it is exact. Plans and exports share this."""
    severities = {f.severity for f in findings}
    if Severity.ERROR in severities:
        return "manual"
    if not creates:
        return "skipped"
    return "changed" if Severity.WARNING in severities else "exact"


def plan_job(
    job: Job, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> JobPlan:
    """The plan for one pgAgent job."""
    notes = tuple(
        ScheduleNote(s.id, s.name, describe_agent_schedule(s), s.enabled, s.description)
        for s in job.schedules
    )
    steps = tuple(StepNote(s.id, s.name, s.description) for s in job.steps if s.description)
    return replace(
        _plan_job(job, catalog, target, options, today),
        schedules=notes,
        comment=job.description,
        steps=steps,
    )


def _plan_job(
    job: Job, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> JobPlan:
    work = _Job(job)
    for diag in job.diagnostics:
        work.add(diag.code, diag.severity, diag.message, "")
    for step in job.steps:
        for diag in step.diagnostics:
            if diag.code != "STEP_EMPTY_CODE":  # STEP_EMPTY says it with the consequence
                work.add(diag.code, diag.severity, diag.message, "", step=step)
    if not job.enabled:
        if options.disabled == "skip":
            work.add("JOB_DISABLED", Severity.INFO, "the job is disabled and left out", "")
            return JobPlan(job.id, job.name, job.enabled, "skipped", (), tuple(work.findings))
        work.add(
            "JOB_DISABLED",
            Severity.INFO,
            "the job is disabled; its pg_cron jobs are created inactive",
            "activate them with cron.alter_job when the time comes",
        )
    if job.host_agent:
        work.add(
            "JOB_HOST_PINNED",
            Severity.WARNING,
            f"the job runs only on the agent of host {job.host_agent!r}; pg_cron runs on the "
            "primary server itself",
            "make sure the job does not depend on that host",
        )
    if job.running:
        work.add(
            "JOB_RUNNING",
            Severity.INFO,
            f"pgAgent has claimed the job (agent {job.agent_id}): it is running now, or stuck",
            "let it finish before the cutover",
        )
    made = _commands(work, target, options, catalog)
    expressions = _schedule_expressions(work, catalog, target, options, today)
    if made is None:
        return JobPlan(job.id, job.name, job.enabled, "manual", (), tuple(work.findings))
    commands = made
    if not commands:
        if job.steps and all(not s.enabled for s in job.steps):  # no steps: JOB_NO_STEPS
            work.add(
                "JOB_NOTHING_TO_RUN",
                Severity.INFO,
                "the job has no enabled step; pgAgent ran it as an empty success",
                "",
            )
        return JobPlan(
            job.id, job.name, job.enabled, status_of(work.findings, False), (), tuple(work.findings)
        )
    # One pg_cron job per distinct expression (a minute fires once, as in pgAgent); a suffix only
    # when the job needs more than one.
    by_expr: dict[str, tuple[bool, list[int]]] = {}
    for expr, active, sched_id in expressions:
        was_active, ids = by_expr.get(expr, (False, []))
        by_expr[expr] = (was_active or active, [*ids, sched_id])
    items = [
        (expr, active, ids, cmd) for expr, (active, ids) in by_expr.items() for cmd in commands
    ]
    per_key: dict[int, int] = {}
    for _, _, ids, _ in items:
        per_key[ids[0]] = per_key.get(ids[0], 0) + 1
    seen: dict[int, int] = {}
    cron_jobs: list[CronJobPlan] = []
    assert catalog.pgagent is not None
    tag = catalog_tag(catalog.pgagent.identity)
    for expr, active, ids, command in items:
        key = ids[0]
        seen[key] = seen.get(key, 0) + 1
        if len(items) == 1:
            name = job_name(job.id, job.name, catalog=tag)
        else:
            part = seen[key] if per_key[key] > 1 else None
            name = job_name(job.id, job.name, catalog=tag, schedule_id=key, part=part)
        cron_jobs.append(
            CronJobPlan(
                name=name,
                schedule=expr,
                command=command.text,
                database=command.database,
                username=command.username,
                active=active and job.enabled,
                schedule_ids=tuple(ids),
                step_ids=command.step_ids,
                wrapped=command.wrapped,
            )
        )
    if not cron_jobs:
        work.add(
            "JOB_NOT_SCHEDULED",
            Severity.INFO,
            "the job has no schedule: pgAgent never runs it, and no pg_cron job is created"
            if not job.schedules
            else f"none of its {len(job.schedules)} schedule(s) gives a pg_cron job (the "
            "schedule findings say why), so nothing is created",
            "give the job a schedule in pgAgent first if it should run",
        )
    _timing_findings(work, cron_jobs, target, today)
    _role_findings(work, cron_jobs, target, options)
    if (
        target.database
        and any(c.database != target.database for c in cron_jobs)
        and target.cron_target().version.release < (1, 4, 0)
    ):
        work.add(
            "TARGET_NO_SCHEDULE_IN_DATABASE",
            Severity.ERROR,
            f"pg_cron {target.release} has no cron.schedule_in_database (1.4+) for jobs in other "
            "databases",
            "upgrade pg_cron, or insert into cron.job as a superuser",
        )
    return JobPlan(
        job.id, job.name, job.enabled, status_of(work.findings, bool(cron_jobs)), tuple(cron_jobs),
        tuple(work.findings),
    )  # fmt: skip


#: Fire times this close (minutes) let a run outlast the interval: pg_cron then queues the next.
QUEUE_GAP = 60


def _timing_findings(
    work: _Job, cron_jobs: Sequence[CronJobPlan], target: Target, today: dt.date
) -> None:
    """Where pg_cron's independent, queueing runs can differ from pgAgent's one run at a time:
    several pg_cron jobs that fire at one instant (computed, not assumed), and fire times so
    close that a long run makes pg_cron queue the next one."""
    active = sorted({c.schedule for c in cron_jobs if c.active})
    cron = target.cron_target()
    parsed = [parse_cron(e, cron.version) for e in active]
    gap = shortest_gap([x for p in parsed for x in p.slots(and_logic=cron.and_logic)])
    if gap is not None and gap <= QUEUE_GAP:
        work.add(
            "JOB_RUNS_CAN_QUEUE",
            Severity.INFO,
            f"its fire times come as little as {gap} minute(s) apart: a run that takes longer "
            "makes pg_cron queue the next one and start it as soon as the last ends, where "
            "pgAgent skipped the occurrences that fell due",
            "guard the command with pg_try_advisory_lock (skip when held) if queued runs hurt",
        )
    first: dt.datetime | None = None
    count = 0
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            met = _meeting(a, b, cron, today)
            count += met.both
            if met.first_both is not None and (first is None or met.first_both < first):
                first = met.first_both
    if first is not None:
        work.add(
            "JOB_SEVERAL_CRON_JOBS",
            Severity.WARNING,
            f"the job becomes {len(active)} active pg_cron jobs whose schedules meet {count} "
            f"time(s) in {DEFAULT_DAYS // 365} years (first at {first:%Y-%m-%d %H:%M} UTC): pg_cron "
            "runs the job once per pg_cron job there, pgAgent ran it once",
            "guard the command with pg_try_advisory_lock if a second run in the same minute "
            "matters, or change a schedule so they never meet",
        )


@lru_cache(maxsize=4096)
def _meeting(a: str, b: str, cron: CronTarget, today: dt.date) -> Comparison:
    """When two pg_cron expressions fire at the same instant (they have no dates, so the proof
    horizon, one weekday cycle of the target's zone, shows every way they can meet)."""
    return compare(
        cron_fireset([parse_cron(a, cron.version)], cron.zone, and_logic=cron.and_logic),
        cron_fireset([parse_cron(b, cron.version)], cron.zone, and_logic=cron.and_logic),
        today,
        DEFAULT_DAYS,
    )


def same_server(a: Server, b: Server) -> bool:
    """Same port, and the same system identifier where both are known (else the same host)."""
    if a.port != b.port:
        return False
    if a.system_identifier and b.system_identifier:
        return a.system_identifier == b.system_identifier
    return a.host == b.host


def _role_findings(
    work: _Job, cron_jobs: Sequence[CronJobPlan], target: Target, options: PlanOptions
) -> None:
    roles = sorted({c.username for c in cron_jobs if c.username})
    for role in roles:
        # cron.schedule_in_database with any username needs superuser, even one's own (#390)
        other = "" if role == target.applier else "; that role needs LOGIN and CONNECT"
        if target.applier_superuser:
            work.add(
                "ROLE_RUN_AS",
                Severity.INFO,
                f"the pg_cron job runs as {role!r}; the applier {target.applier!r} is a superuser, "
                f"as scheduling with a username requires (pg_cron #390){other}",
                "" if not other else f"make sure {role!r} may log in and connect",
            )
            continue
        work.add(
            "ROLE_NEEDS_SUPERUSER",
            Severity.WARNING,
            f"the pg_cron job runs as {role!r}: scheduling with a username needs superuser "
            f"(pg_cron #390){other}",
            "apply the plan as a superuser, or leave the username out (no --run-as, no user in "
            "the step's connection string)",
        )
    if not roles:
        work.add(
            "ROLE_APPLIER",
            Severity.INFO,
            "pgAgent ran the SQL as the agent's login role; the pg_cron job runs as the role that "
            f"applies the plan ({target.applier or 'unknown until applied'})",
            "use --run-as to choose the role",
        )


def pgcron_missing(side: PgCronSide) -> Finding | None:
    """The finding for a pg_cron database (named with --pgcron) where pg_cron is not created."""
    if side.extension_version is not None:
        return None
    where = f" (cron.database_name is {side.database_name!r})" if side.database_name else ""
    return Finding(
        "TARGET_PGCRON_NOT_CREATED",
        Severity.ERROR,
        f"pg_cron is not created in database {side.database!r}{where}, the --pgcron database: "
        "nothing can be migrated there",
        "point --pgcron at the database where pg_cron is created (cron.database_name), or "
        "CREATE EXTENSION pg_cron there",
        0,
    )


def target_findings(side: PgCronSide | None, target: Target) -> list[Finding]:
    """What is wrong with the pg_cron side the plan is for, or unknown about it."""
    out: list[Finding] = []
    if side is not None and side.extension_version is not None and not side.loaded:
        out.append(
            Finding(
                "TARGET_PGCRON_NOT_LOADED",
                Severity.ERROR,
                f"pg_cron is created in database {side.database!r} but its library is not "
                "loaded: no pg_cron job runs, and the release and cron.* settings cannot be read",
                "add pg_cron to shared_preload_libraries and restart the server, then plan again",
                0,
            )
        )
    if target.assumed:
        diagnosed = {d.code for d in side.diagnostics} if side is not None else set()
        if "PGCRON_SETTINGS_HIDDEN" in diagnosed:
            why = "this role cannot see the cron.* settings"
        elif side is not None and not side.loaded:
            why = "pg_cron is not loaded, so its settings cannot be read"
        else:
            why = "they were neither read from a server nor declared"
        out.append(
            Finding(
                "TARGET_ASSUMED",
                Severity.WARNING,
                f"planned for {' and '.join(target.assumed)}, assumed: {why}",
                "read as a superuser or a member of pg_read_all_settings, or declare them with "
                "--target-pg-cron and --cron-timezone",
                0,
            )
        )
    return out


def make_plan(
    catalog: Catalog,
    target: Target,
    options: PlanOptions | None = None,
    *,
    today: dt.date | None = None,
) -> Plan:
    """Plan every job of ``catalog`` for ``target``."""
    options = options or PlanOptions()
    if catalog.pgagent is None:
        raise CatalogNotFound(
            f"no pgAgent catalog to plan from (a snapshot of {catalog.origin}, a database without "
            "pgAgent)"
        )
    check_zone(
        catalog.pgagent.timezone,
        "pgAgent time zone",
        f"it is the {catalog.pgagent.timezone_source}; pass --timezone with an IANA name",
    )
    day = today or options.since or dt.datetime.now(dt.timezone.utc).date()
    jobs = tuple(plan_job(job, catalog, target, options, day) for job in catalog.pgagent.jobs)
    general = [
        Finding(
            "PLAN_OVERLAP_QUEUES",
            Severity.INFO,
            "pgAgent skips occurrences that fall due while a job still runs and runs a job once "
            "after downtime; pg_cron queues overlapping runs and never catches up after downtime",
            "guard long jobs with pg_try_advisory_lock if queued runs would hurt",
            0,
        )
    ]
    if catalog.pgagent.system_identifier is None:
        general.append(
            Finding(
                "PLAN_CATALOG_BY_DATABASE_ONLY",
                Severity.WARNING,
                f"the catalog is identified by its database ({catalog.pgagent.database!r}) alone: "
                "the role may not read the server's system identifier (pg_control_system()), "
                "or the snapshot predates it; a catalog in a database of the same name on another "
                "server would get the same pg_cron job names and ledger rows in one pg_cron",
                "run as a role that may execute pg_control_system() (GRANT EXECUTE ON FUNCTION "
                "pg_control_system() TO it), and use that role for every later run",
                0,
            )
        )
    if target.background_workers:
        general.append(
            Finding(
                "TARGET_BACKGROUND_WORKERS",
                Severity.INFO,
                "pg_cron runs jobs in background workers: no authentication, at most "
                "max_worker_processes - 1 at once, and no transaction control in commands",
                "",
                0,
            )
        )
    agent_server = catalog.pgagent.server
    cron_server = catalog.pgcron.server if catalog.pgcron is not None else None
    if agent_server and cron_server and not same_server(agent_server, cron_server):
        general.append(
            Finding(
                "TARGET_OTHER_SERVER",
                Severity.WARNING,
                f"pg_cron was read from another server ({cron_server.host}:{cron_server.port}) "
                f"than the pgAgent catalog ({agent_server.host}:{agent_server.port}): every step "
                "that ran on pgAgent's server runs there, in the database of the same name",
                "make sure those databases hold what the jobs expect, or point --pgcron at "
                "pgAgent's server",
                0,
            )
        )
    general += target_findings(catalog.pgcron, target)
    if target.how == "declared":
        general.append(
            Finding(
                "TARGET_DECLARED",
                Severity.INFO,
                f"planned for a declared target (pg_cron {target.release}, cron.timezone "
                f"{target.timezone}, database {target.database}), not one read from a server",
                "check these against the server before applying",
                0,
            )
        )
    general += _release_findings(catalog, target, options, day, jobs)
    return Plan(
        source=catalog.origin,
        agent_timezone=catalog.pgagent.timezone,
        agent_timezone_source=catalog.pgagent.timezone_source,
        target=target,
        options=options,
        jobs=jobs,
        findings=tuple(general),
        catalog=catalog.pgagent.identity,
        catalog_tag=catalog_tag(catalog.pgagent.identity),
    )


def _release_findings(
    catalog: Catalog, target: Target, options: PlanOptions, day: dt.date, jobs: Sequence[JobPlan]
) -> list[Finding]:
    """One finding for a release pgbridge does not know, one for a release range left open."""
    version = target.cron_target().version
    out = []
    if version.newer_than_known:
        newest = cron_version(newest_release())
        out.append(
            Finding(
                "TARGET_RELEASE_NEWER",
                Severity.WARNING,
                f"pg_cron {target.release} is newer than any release pgbridge knows; planned with "
                f"the behaviour of {newest.name}, the newest known",
                "check its release notes for schedule changes, or upgrade pgbridge",
                0,
            )
        )
    if not target.other_releases:
        return out
    assert catalog.pgagent is not None
    differ = []
    for other in target.other_releases:
        alt = replace(target, release=other, other_releases=())
        ids = [
            plan.job_id
            for job, plan in zip(catalog.pgagent.jobs, jobs, strict=True)
            if _outcome(plan_job(job, catalog, alt, options, day)) != _outcome(plan)
        ]
        hazards = "; ".join(cron_version(other).hazards)
        listed = ", ".join(map(str, ids[:20])) + (
            f" and {len(ids) - 20} more" if len(ids) > 20 else ""
        )
        differ.append(
            f"on {other}{f' ({hazards})' if hazards else ''}: "
            + (f"{len(ids)} job(s) would plan differently: {listed}" if ids else "no job changes")
        )
    changes = any("would plan differently" in d for d in differ)
    facts = f" ({'; '.join(target.release_evidence)})" if target.release_evidence else ""
    out.append(
        Finding(
            "TARGET_RELEASE_RANGE",
            Severity.WARNING if changes else Severity.INFO,
            f"the server's pg_cron release is {target.release_range}{facts}; planned for "
            f"{target.release}, the most likely; {'; '.join(differ)}",
            "give the exact release with --target-pg-cron X.Y.Z (the server's package version, "
            "or ask the provider)",
            0,
        )
    )
    return out


def _outcome(plan: JobPlan) -> tuple[object, ...]:
    return (
        plan.status,
        tuple((c.schedule, c.active) for c in plan.cron_jobs),
        tuple(sorted(f.code for f in plan.findings)),
    )
