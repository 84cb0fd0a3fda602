"""Immutable, typed model of what pgbridge reads: the pgAgent catalog and the pg_cron side.

Everything here is plain data (frozen dataclasses, tuples), so it can be hashed, compared, snapshotted to
JSON and handed to the pure core (schedule engine, planner) without any database at hand. Readers
normalise what real catalogs contain before building these objects; anything they could not interpret
is kept as a :class:`Diagnostic` on the object it concerns.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import Enum
from typing import Annotated

from bridge.findings import Severity
from bridge.naming import catalog_identity
from bridge.serialize import INT4, INT8, PLAIN

#: Domains of columns, checked when a snapshot is loaded (PostgreSQL itself guarantees them).
Int4 = Annotated[int, INT4]
Int8 = Annotated[int, INT8]
Plain = Annotated[str, PLAIN]

#: Lengths of pgAgent's schedule arrays (``pga_schedule.jsc*``); month-day element 32 is "last day".
MINUTES, HOURS, WEEKDAYS, MONTHDAYS, MONTHS = 60, 24, 7, 32, 12


@dataclass(frozen=True)
class Diagnostic:
    """Something a reader could not interpret as-is, kept on the object it concerns (never a crash)."""

    code: Plain
    severity: Severity
    message: str


class StepKind(str, Enum):
    SQL = "s"
    BATCH = "b"
    UNKNOWN = "?"

    @property
    def words(self) -> str:
        """The kind as reports say it."""
        return {"s": "SQL", "b": "batch", "?": "unknown"}[self.value]


class OnError(str, Enum):
    """``pga_jobstep.jstonerror``: what a failed step does to the rest of the job."""

    FAIL = "f"  # stop the job, job status f
    SUCCEED = "s"  # log the step as succeeded and continue
    IGNORE = "i"  # log the step as ignored and continue
    UNKNOWN = "?"

    @property
    def words(self) -> str:
        """The policy as reports and the wrapper's comments say it."""
        return {
            "f": "stop the job",
            "s": "count as success, go on",
            "i": "ignore, go on",
            "?": "unknown",
        }[self.value]


@dataclass(frozen=True)
class JobClass:
    id: Int4
    name: str


@dataclass(frozen=True)
class Agent:
    """A row of ``pga_jobagent``: a running (or stale) pgAgent daemon."""

    pid: Int4
    station: str
    logintime: dt.datetime | None


@dataclass(frozen=True)
class Step:
    id: Int4
    job_id: Int4
    name: str
    description: str
    enabled: bool
    kind: StepKind
    code: str
    #: ``jstconnstr`` with any password replaced by ``********`` (never kept in clear).
    connstr: str
    dbname: str
    on_error: OnError
    #: True when ``jstconnstr`` carried a password (it was redacted on read).
    connstr_had_password: bool = False
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class ScheduleException:
    """A row of ``pga_exception``: skip (date, time), (date, any time) or (any date, time)."""

    id: Int4
    date: dt.date | None
    time: dt.time | None


@dataclass(frozen=True)
class Schedule:
    """A row of ``pga_schedule`` with its arrays normalised to 1-based, fixed length, NULL = False.

    ``minutes[i]`` is minute ``i``, ``hours[i]`` hour ``i``, ``weekdays[i]`` weekday ``i`` with
    0 = Sunday, ``monthdays[d - 1]`` day ``d`` for d in 1..31 and ``monthdays[31]`` the "last day"
    flag, ``months[m - 1]`` month ``m``. An all-False tuple means "any" (pgAgent's wildcard).
    """

    id: Int4
    job_id: Int4
    name: str
    description: str
    enabled: bool
    start: dt.datetime | None
    end: dt.datetime | None
    minutes: tuple[bool, ...]
    hours: tuple[bool, ...]
    weekdays: tuple[bool, ...]
    monthdays: tuple[bool, ...]
    months: tuple[bool, ...]
    exceptions: tuple[ScheduleException, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()


@dataclass(frozen=True)
class StepHistory:
    """One step's runs in the history window (``pga_jobsteplog``), aggregated on the server."""

    step_id: Int4
    runs: Int8
    #: Runs logged ``f`` (failed) or ``i`` (internal failure).
    failures: Int8
    #: The output of the step's latest failed run, passwords masked ("" when none failed).
    last_error: str = ""


@dataclass(frozen=True)
class JobHistory:
    """What pgAgent's run log (``pga_joblog``) says about one job over a bounded window.

    Only aggregates: counts, durations, a few instants, the last error masked; never the log rows,
    never step output in clear. Durations are in seconds, over runs that finished.
    """

    #: The window read: runs that started in ``[since, until)``.
    since: dt.datetime
    until: dt.datetime
    runs: Int8 = 0
    succeeded: Int8 = 0
    #: ``f``: a step with "stop the job" on error failed.
    failed: Int8 = 0
    #: ``i``: the agent could not run it (no steps query, a lost claim race, an unknown step kind).
    internal: Int8 = 0
    #: ``d``: aborted by an agent's zombie cleanup.
    aborted: Int8 = 0
    #: ``r``: still marked running.
    running: Int8 = 0
    last_start: dt.datetime | None = None
    #: ``jlgstatus`` of the latest run ("" when none).
    last_status: Plain = ""
    median_seconds: float | None = None
    p95_seconds: float | None = None
    max_seconds: float | None = None
    #: Start of the oldest run still marked running.
    running_since: dt.datetime | None = None
    #: ``jobagentid`` names an agent whose backend is gone (pgAgent will not run the job now).
    claimed_by_gone_agent: bool = False
    #: The shortest gap between the schedules' fire times (minutes) the overlap count used.
    gap_minutes: Int4 | None = None
    #: Finished runs that lasted longer than ``gap_minutes``, and the longest of them (seconds).
    over_gap: Int8 = 0
    over_gap_max_seconds: float | None = None
    #: Runs that started in a minute the schedules do not fire at, and the first few of them.
    off_schedule: Int8 = 0
    off_schedule_first: tuple[dt.datetime, ...] = ()
    steps: tuple[StepHistory, ...] = ()

    @property
    def failures(self) -> int:
        return self.failed + self.internal


@dataclass(frozen=True)
class Job:
    id: Int4
    name: str
    description: str
    job_class: str
    host_agent: str
    enabled: bool
    created: dt.datetime | None
    changed: dt.datetime | None
    agent_id: Int4 | None
    next_run: dt.datetime | None
    last_run: dt.datetime | None
    steps: tuple[Step, ...] = ()
    schedules: tuple[Schedule, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    #: The run log's figures; None when the log was not read (``--history-days 0``, old snapshots).
    history: JobHistory | None = None

    @property
    def running(self) -> bool:
        """pgAgent has claimed the job (``jobagentid`` set): running now, or stuck."""
        return self.agent_id is not None


@dataclass(frozen=True)
class Server:
    """The server a catalog was read from, to tell whether a step's connection string means it."""

    #: The host pgbridge connected to (a name, an address or a socket directory).
    host: Plain
    #: The port the server listens on (``current_setting('port')``).
    port: Int4
    #: ``pg_control_system().system_identifier``, None when the reading role may not see it.
    system_identifier: Plain | None
    #: Databases one may connect to (``datallowconn``).
    databases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PgAgentCatalog:
    """The whole pgAgent catalog of one database, as read in a constant number of queries."""

    database: str
    #: ``pgagent_schema_version()`` (3 or 4), None for pre-3.0 script installs.
    schema_version: Int4 | None
    #: ``pg_extension.extversion`` ("4.2"), None for script installs.
    extension_version: Plain | None
    #: Which ``pga_next_schedule`` body is installed: "4.2", "4.1", "<=4.0" or "unknown".
    function_body: Plain
    #: The TimeZone pgAgent's schedules are evaluated in, and where that answer came from.
    timezone: Plain
    timezone_source: str
    server_version: Plain
    job_classes: tuple[JobClass, ...] = ()
    agents: tuple[Agent, ...] = ()
    jobs: tuple[Job, ...] = ()
    diagnostics: tuple[Diagnostic, ...] = ()
    #: ``pg_control_system().system_identifier`` of the cluster, None when the role may not read it.
    system_identifier: Plain | None = None
    #: None for snapshots taken before pgbridge recorded it.
    server: Server | None = None
    #: Days of run log read into each job's ``history`` (0: not read).
    history_days: Int4 = 0

    @property
    def identity(self) -> str:
        """Which catalog this is: what pg_cron job names and the ledger are keyed by."""
        return catalog_identity(self.system_identifier, self.database)

    def job(self, job_id: int) -> Job:
        for job in self.jobs:
            if job.id == job_id:
                return job
        raise KeyError(job_id)


@dataclass(frozen=True)
class CronJob:
    """A row of ``cron.job``."""

    id: Int8
    name: str | None
    schedule: str
    command: str
    nodename: str
    nodeport: Int4
    database: str
    username: str
    active: bool


@dataclass(frozen=True)
class PgCronSide:
    """What pg_cron looks like in the database where it is installed."""

    database: str
    #: ``pg_extension.extversion`` (the SQL script version, e.g. "1.4-1"), None when not created.
    extension_version: Plain | None
    #: True when the library is loaded (its GUCs exist in ``pg_settings``).
    loaded: bool
    #: Lowest binary release the evidence proves (e.g. "1.4.0"), or "unknown" when settings are hidden.
    binary_at_least: Plain
    #: ``cron.*`` settings visible to the reading role (empty when it may not see them).
    settings: tuple[tuple[Plain, str], ...] = ()
    #: Capabilities detected from the settings (e.g. "timezone", "match_dom_and_dow").
    capabilities: tuple[Plain, ...] = ()
    jobs: tuple[CronJob, ...] = ()
    #: False when row-level security may hide other users' jobs from the reading role.
    sees_all_jobs: bool = True
    diagnostics: tuple[Diagnostic, ...] = ()
    #: The role that read this side, and whether it is a superuser.
    reader: str = ""
    reader_superuser: bool = False
    #: The binary is older than this release (a setting it lacks), None when nothing says so.
    binary_below: Plain | None = None
    #: How the release range was found (settings, SQL version, schedules cron.schedule accepts).
    release_evidence: tuple[Plain, ...] = ()
    #: None for snapshots taken before pgbridge recorded it.
    server: Server | None = None

    def setting(self, name: str) -> str | None:
        return dict(self.settings).get(name)

    @property
    def timezone(self) -> str | None:
        """The zone pg_cron evaluates schedules in: GMT before 1.5, ``cron.timezone`` after.

        None when the reading role cannot see the settings (the binary's release is unknown).
        """
        zone = self.setting("cron.timezone")
        if zone is not None:
            return zone
        return None if self.binary_at_least == "unknown" else "GMT"

    @property
    def database_name(self) -> str | None:
        return self.setting("cron.database_name")

    @property
    def background_workers(self) -> bool | None:
        value = self.setting("cron.use_background_workers")
        return None if value is None else value == "on"


@dataclass(frozen=True)
class Catalog:
    """Both sides, as read from a live server or loaded from a snapshot."""

    pgagent: PgAgentCatalog | None
    pgcron: PgCronSide | None
    #: Where it came from: a redacted DSN or a snapshot path; never a password.
    origin: str
    read_at: dt.datetime
