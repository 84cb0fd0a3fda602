"""Catalogs built in memory from the same specs the database tests insert with pgAdmin's SQL.

The planner is pure, so its cases need no server: :func:`catalog_of` turns ``JobSpec`` values into a
:class:`~bridge.model.Catalog` through the reader's own row parsing (``bridge.catalog.pgagent_rows``),
fed rows shaped as the reader's queries return them. ``tests/planner/test_factories.py`` proves, on
a real server, that the result equals what ``read_catalog`` reads after ``create_job``.
"""

from __future__ import annotations

import datetime as dt

from bridge.catalog.pgagent_rows import schedule_from_row, step_from_row
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
from bridge.model import (
    Catalog,
    Diagnostic,
    Job,
    PgAgentCatalog,
    PgCronSide,
    Schedule,
    ScheduleException,
    Server,
    Step,
)

#: The server the in-memory catalogs were "read" from, and the databases on it.
SERVER = Server("localhost", 5432, "7000000000000000001", ("postgres", "app", "other", "sales"))


def _array(selected: frozenset[int], size: int, base: int) -> str:
    return "{" + ",".join("t" if base + i in selected else "f" for i in range(size)) + "}"


def _instant(text: str) -> dt.datetime:
    value = dt.datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError(f"give {text!r} with its UTC offset: the session zone would decide it")
    return value.astimezone(dt.timezone.utc)


def _step(spec: StepSpec, step_id: int, job_id: int) -> Step:
    connstr, dbname = spec.place()
    row = (step_id, job_id, spec.name, spec.description, spec.enabled, spec.kind, spec.code,
           connstr, dbname, spec.on_error)  # fmt: skip
    return step_from_row(row)


def _schedule(spec: ScheduleSpec, sched_id: int, job_id: int, first_exception: int) -> Schedule:
    start = _instant(spec.start)
    end = _instant(spec.end) if spec.end is not None else None
    exceptions = tuple(
        ScheduleException(first_exception + n, date, time)
        for n, (date, time) in enumerate(spec.exceptions)
    )
    row = (
        sched_id, job_id, spec.name, spec.description, spec.enabled,
        start, False, True, end, False, end is not None,
        _array(spec.minutes, 60, 0), _array(spec.hours, 24, 0), _array(spec.weekdays, 7, 0),
        _array(spec.monthdays, 32, 1), _array(spec.months, 12, 1),
    )  # fmt: skip
    return schedule_from_row(row, exceptions)


def _job(spec: JobSpec, job_id: int, ids: dict[str, int]) -> Job:
    steps = []
    for step in spec.steps:
        ids["step"] += 1
        steps.append(_step(step, ids["step"], job_id))
    schedules = []
    for sched in spec.schedules:
        ids["schedule"] += 1
        schedules.append(_schedule(sched, ids["schedule"], job_id, ids["exception"] + 1))
        ids["exception"] += len(sched.exceptions)
    diagnostics = ()
    if not steps:
        diagnostics = (
            Diagnostic(
                "JOB_NO_STEPS",
                Severity.WARNING,
                "the job has no steps; pgAgent logs it as succeeded without doing anything",
            ),
        )
    return Job(
        id=job_id,
        name=spec.name,
        description=spec.description,
        job_class="Routine Maintenance",
        host_agent=spec.host_agent,
        enabled=spec.enabled,
        created=None,
        changed=None,
        agent_id=None,
        next_run=None,
        last_run=None,
        # pgAgent runs steps by name (then id), and the reader returns them in that order
        steps=tuple(sorted(steps, key=lambda s: (s.name, s.id))),
        schedules=tuple(schedules),
        diagnostics=diagnostics,
    )


def catalog_of(
    *specs: JobSpec,
    timezone: str = "UTC",
    server: Server = SERVER,
    database: str = "app",
    pgcron: PgCronSide | None = None,
    function_body: str = "4.2",
) -> Catalog:
    """A catalog holding ``specs`` (job ids 1, 2, ...), as read from ``server``'s ``database``."""
    ids = {"step": 0, "schedule": 0, "exception": 0}
    jobs = tuple(_job(spec, n, ids) for n, spec in enumerate(specs, 1))
    agent = PgAgentCatalog(
        database=database,
        schema_version=4,
        extension_version="4.2",
        function_body=function_body,
        timezone=timezone,
        timezone_source="declared (tests)",
        server_version="15.0",
        jobs=jobs,
        system_identifier=server.system_identifier,
        server=server,
    )
    cron = pgcron or PgCronSide(
        database="postgres",
        extension_version="1.4-1",
        loaded=True,
        binary_at_least="1.4.2",
        server=server,
    )
    return Catalog(agent, cron, f"in-memory catalog of {len(jobs)} job(s)", _READ_AT)


_READ_AT = dt.datetime(2026, 11, 21, tzinfo=dt.timezone.utc)
