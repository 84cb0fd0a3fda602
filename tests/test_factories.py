"""The in-memory catalogs the pure planner tests use equal what the reader reads from a real one."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from bridge.catalog.load import read_catalog
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.model import Job

from .catalogs import Conn
from .factories import catalog_of

names = st.text("abcdefgh0123", min_size=1, max_size=3)
steps = st.builds(
    StepSpec,
    name=names,
    code=st.sampled_from(["SELECT 1", "VACUUM", "", "  ", "SELECT 1; SELECT 2", "echo hi"]),
    kind=st.sampled_from(["s", "b"]),
    dbname=st.sampled_from(["postgres", "app"]),
    connstr=st.sampled_from(["", "host=localhost dbname=app", "dbname=x password=secret"]),
    on_error=st.sampled_from(["f", "s", "i"]),
    enabled=st.booleans(),
    description=st.sampled_from(["", "a comment"]),
)


def masks(size: int, base: int) -> st.SearchStrategy[frozenset[int]]:
    return st.frozensets(st.integers(base, base + size - 1), max_size=4)


days = st.dates(dt.date(2024, 1, 1), dt.date(2030, 12, 31))
times = st.none() | st.times().map(lambda t: t.replace(second=0, microsecond=0))
schedules = st.builds(
    ScheduleSpec,
    name=names,
    start=st.sampled_from(["2024-01-01 00:00:00+00", "2026-03-29 01:30:00+02"]),
    end=st.sampled_from([None, "2031-06-01 00:00:00+00"]),
    minutes=masks(60, 0),
    hours=masks(24, 0),
    weekdays=masks(7, 0),
    monthdays=masks(32, 1),
    months=masks(12, 1),
    enabled=st.booleans(),
    exceptions=st.lists(st.tuples(st.none() | days, times), max_size=3, unique=True).map(tuple),
)
jobs = st.builds(
    JobSpec,
    name=names,
    steps=st.lists(steps, max_size=3),
    schedules=st.lists(schedules, max_size=2),
    description=st.sampled_from(["", "job comment"]),
    host_agent=st.sampled_from(["", "agent-host"]),
    enabled=st.booleans(),
)


def comparable(job: Job) -> Job:
    """The job without what only the server assigns: ids, timestamps, the agent."""
    return replace(
        job,
        id=0,
        created=None,
        changed=None,
        next_run=None,
        last_run=None,
        agent_id=None,
        steps=tuple(replace(s, id=0, job_id=0) for s in job.steps),
        schedules=tuple(
            replace(s, id=0, job_id=0, exceptions=tuple(replace(e, id=0) for e in s.exceptions))
            for s in job.schedules
        ),
    )


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(spec=jobs)
def test_the_factory_builds_what_the_reader_reads(db: Conn, db_dsn: str, spec: JobSpec) -> None:
    exceptions = [e for s in spec.schedules for e in s.exceptions]
    assume(all(e != (None, None) for e in exceptions))  # pgAdmin refuses an empty exception
    assume(len(set(exceptions)) == len(exceptions))  # unique across the whole catalog
    db.execute("DELETE FROM pgagent.pga_job")
    create_job(db, spec)
    catalog = read_catalog(db_dsn, history_days=0)  # the factory builds no run history
    assert catalog.pgagent is not None
    (read,) = catalog.pgagent.jobs
    (built,) = catalog_of(spec).pgagent.jobs  # type: ignore[union-attr]
    assert comparable(built) == comparable(read)
