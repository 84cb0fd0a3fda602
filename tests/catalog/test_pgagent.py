"""Reading real pgAgent catalogs (built with pgAdmin's SQL) into the typed model."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg
import pytest

from bridge.catalog.load import read_catalog
from bridge.catalog.pgagent import read_pgagent
from bridge.catalog.pgagent_rows import normalise_array, parse_bool_array
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import CatalogNotFound, ConnectionFailed, PrivilegeError, UsageError
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
from bridge.model import OnError, StepKind
from bridge.pg.connect import connect, reading
from tests.catalogs import SECRET, build_catalog

UTC = dt.timezone.utc
Conn = psycopg.Connection[tuple[Any, ...]]


def codes(obj: Any) -> set[str]:
    return {d.code for d in obj.diagnostics}


def test_reads_pgadmin_catalog_exactly(db: Conn, db_dsn: str) -> None:
    multi, empty = build_catalog(db)
    catalog = read_catalog(db_dsn)
    agent = catalog.pgagent
    assert agent is not None
    assert (agent.schema_version, agent.extension_version, agent.function_body) == (4, "4.2", "4.2")
    assert [c.name for c in agent.job_classes][:5] == [
        "Routine Maintenance",
        "Data Import",
        "Data Export",
        "Data Summarisation",
        "Miscellaneous",
    ]
    job = agent.job(multi)
    assert (job.name, job.job_class, job.host_agent, job.enabled) == (
        "multi step 0",
        "Data Export",
        "agent-host",
        True,
    )
    assert job.next_run is not None  # pgAgent's trigger computed it
    # pgAgent's run order: name, then id; disabled steps are kept (the planner reports them)
    assert [(s.name, s.code) for s in job.steps] == [
        ("a first", "SELECT 1;\nSELECT 11;"),
        ("b second", "SELECT 2;"),
        ("b second", "SELECT 3;"),
        ("c shell", "#!/bin/sh\necho hi\n"),
        ("d remote", "SELECT 4;"),
    ]
    first, second, third, shell, remote = job.steps
    assert (second.on_error, third.on_error, third.enabled) == (
        OnError.SUCCEED,
        OnError.IGNORE,
        False,
    )
    assert (first.kind, first.dbname, first.connstr) == (StepKind.SQL, "postgres", "")
    assert (shell.kind, shell.dbname, shell.connstr) == (StepKind.BATCH, "", "")
    assert remote.dbname == "" and remote.connstr_had_password
    assert SECRET not in remote.connstr and "host=other" in remote.connstr
    assert "STEP_CONNSTR_PASSWORD" in codes(remote)

    weekly, lastday = job.schedules
    assert weekly.start == dt.datetime(2024, 3, 1, 12, 17, 30, tzinfo=UTC)
    assert weekly.end == dt.datetime(2030, 1, 1, tzinfo=UTC)
    assert [i for i, v in enumerate(weekly.minutes) if v] == [30]
    assert [i for i, v in enumerate(weekly.hours) if v] == [9, 17]
    assert [i for i, v in enumerate(weekly.weekdays) if v] == [1, 2, 3, 4, 5]
    assert not any(weekly.monthdays) and not any(weekly.months)
    assert [(e.date, e.time) for e in weekly.exceptions] == [
        (dt.date(2024, 12, 25), None),
        (None, dt.time(17, 30)),
        (dt.date(2025, 1, 1), dt.time(9, 30)),
    ]
    assert lastday.enabled is False and lastday.end is None
    assert lastday.monthdays == (False,) * 31 + (True,)
    assert [m for m, v in enumerate(lastday.months, 1) if v] == [1, 12]
    assert weekly.diagnostics == () and lastday.diagnostics == ()

    nothing = agent.job(empty)
    assert (nothing.enabled, nothing.steps, nothing.schedules) == (False, (), ())
    assert "JOB_NO_STEPS" in codes(nothing)


def test_a_read_sees_one_snapshot(db: Conn, db_dsn: str) -> None:
    """A read is READ ONLY and REPEATABLE READ: a job created by another session halfway through
    is not seen by the read's later statements (its steps, schedules, run log)."""
    with reading(db_dsn) as conn:
        row = conn.execute("SELECT current_setting('transaction_isolation'), "
                           "current_setting('transaction_read_only'), count(*) "
                           "FROM pgagent.pga_job").fetchone()  # fmt: skip
        assert row is not None and row[:2] == ("repeatable read", "on")
        create_job(db, JobSpec("meanwhile", [StepSpec("s", "SELECT 1")], []))
        after = conn.execute("SELECT count(*) FROM pgagent.pga_job").fetchone()
        assert after == (row[2],)


def test_pga_next_schedule_body_fingerprint_matches_extension(db: Conn, db_dsn: str) -> None:
    with reading(db_dsn) as conn:
        assert read_pgagent(conn).function_body == "4.2"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("{t,f,t}", (1, [True, False, True])),
        ("[0:2]={t,NULL,f}", (0, [True, None, False])),
        ("{}", (1, [])),
        (None, None),
        ("{{t,f},{f,t}}", None),
    ],
)
def test_parse_bool_array(text: str | None, expected: Any) -> None:
    assert parse_bool_array(text) == expected


def test_normalise_array_follows_pgagent_subscripts() -> None:
    # Lower bound 0: subscript 0 is never read, subscript s means minute s - 1.
    values, diags = normalise_array("[0:2]={t,t,NULL}", 4, "jscminutes")
    assert values == (True, False, False, False)
    assert {d.code for d in diags} == {"CATALOG_ARRAY_SHAPE", "CATALOG_ARRAY_NULLS"}
    values, diags = normalise_array("{t,f,t,f}", 4, "jscminutes")
    assert values == (True, False, True, False) and diags == []


def test_irregular_rows_become_diagnostics_not_crashes(db: Conn, db_dsn: str) -> None:
    job = create_job(
        db,
        JobSpec(
            "odd",
            [StepSpec("empty", "   "), StepSpec("weird", "SELECT 1")],
            [ScheduleSpec("s", minutes=frozenset({5}))],
        ),
    )
    # Real catalogs drift: older installs, hand edits, constraints dropped by upgrades.
    db.execute("ALTER TABLE pgagent.pga_schedule DROP CONSTRAINT pga_schedule_jscminutes_size")
    db.execute("ALTER TABLE pgagent.pga_schedule DROP CONSTRAINT pga_schedule_jschours_size")
    db.execute("ALTER TABLE pgagent.pga_schedule ALTER COLUMN jscstart DROP NOT NULL")
    db.execute("ALTER TABLE pgagent.pga_jobstep DROP CONSTRAINT pga_jobstep_jstkind_check")
    db.execute("ALTER TABLE pgagent.pga_jobstep DROP CONSTRAINT pga_jobstep_check")
    db.execute("ALTER TABLE pgagent.pga_jobstep DROP CONSTRAINT pga_jobstep_check1")
    db.execute("ALTER TABLE pgagent.pga_jobstep DROP CONSTRAINT pga_jobstep_jstonerror_check")
    db.execute(
        "UPDATE pgagent.pga_schedule SET jscminutes = '{f,f,f,f,f,t}', "
        "jschours = array_fill(NULL::bool, ARRAY[24]), jscstart = NULL, jscend = 'infinity'"
    )
    db.execute(
        "UPDATE pgagent.pga_jobstep SET jstkind = 'x', jstonerror = 'z' WHERE jstname = 'weird'"
    )
    got = read_catalog(db_dsn).pgagent
    assert got is not None
    empty, weird = got.job(job).steps
    assert "STEP_EMPTY_CODE" in codes(empty)
    assert (weird.kind, weird.on_error) == (StepKind.UNKNOWN, OnError.UNKNOWN)
    assert {"STEP_KIND_UNKNOWN", "STEP_ONERROR_UNKNOWN"} <= codes(weird)
    (sched,) = got.job(job).schedules
    assert [i for i, v in enumerate(sched.minutes) if v] == [5]
    assert not any(sched.hours)
    assert {"CATALOG_ARRAY_SHAPE", "CATALOG_ARRAY_NULLS", "CATALOG_NULL_START"} <= codes(sched)
    assert sched.start is None and sched.end is None
    null_start = next(d for d in sched.diagnostics if d.code == "CATALOG_NULL_START")
    assert null_start.severity is Severity.ERROR


def test_values_python_cannot_hold_are_read_not_crashed_on(db: Conn, db_dsn: str) -> None:
    job = create_job(
        db,
        JobSpec(
            "far",
            [StepSpec("s", "SELECT 1")],
            [
                ScheduleSpec("bc start", start="0044-03-15 12:00:00+00 BC", minutes=frozenset({1})),
                ScheduleSpec("far end", end="20000-01-01 00:00:00+00", minutes=frozenset({2})),
                ScheduleSpec("far start", start="12000-01-01 00:00:00+00", minutes=frozenset({3})),
            ],
        ),
    )
    bc, _, _ = (r[0] for r in db.execute("SELECT jscid FROM pgagent.pga_schedule ORDER BY jscid"))
    db.execute(
        "ALTER TABLE pgagent.pga_exception DROP CONSTRAINT IF EXISTS pga_exception_jexscid_fkey"
    )
    db.execute(
        "INSERT INTO pgagent.pga_exception (jexscid, jexdate, jextime) VALUES "
        "(%(s)s, NULL, '24:00'), (%(s)s, '0044-03-15 BC', NULL), (%(s)s, 'infinity', NULL), "
        "(%(s)s, '2025-05-05', '10:00')",
        {"s": bc},
    )
    db.execute("UPDATE pgagent.pga_job SET jobnextrun = '20000-01-01', joblastrun = '-infinity'")
    got = read_catalog(db_dsn).pgagent
    assert got is not None
    far = got.job(job)
    assert far.next_run is None and far.last_run is None
    first, second, third = far.schedules
    assert first.start is not None and first.start.year == 1  # before anything: no lower bound
    assert second.end is None  # beyond year 9999: no end
    assert third.start is not None and third.start.year == 9999  # never starts
    assert [(e.date, e.time) for e in first.exceptions] == [(dt.date(2025, 5, 5), dt.time(10, 0))]
    assert [d.code for d in first.diagnostics] == [
        "EXCEPTION_TIME_NEVER_MATCHES",
        "EXCEPTION_DATE_OUT_OF_RANGE",
        "EXCEPTION_DATE_OUT_OF_RANGE",
    ]


def test_schema_version_is_read_without_running_catalog_code(db: Conn, db_dsn: str) -> None:
    agent = read_catalog(db_dsn).pgagent
    assert agent is not None and agent.schema_version == 4
    # A body we cannot read falls back to the extension version, with a note (and is not run).
    db.execute(
        "CREATE OR REPLACE FUNCTION pgagent.pgagent_schema_version() RETURNS int2 "
        "LANGUAGE sql AS 'SELECT (2 + 2)::int2'"
    )
    agent = read_catalog(db_dsn).pgagent
    assert agent is not None and agent.schema_version == 4
    assert "CATALOG_VERSION_UNREADABLE" in codes(agent)
    db.execute("REVOKE EXECUTE ON FUNCTION pgagent.pgagent_schema_version() FROM PUBLIC")
    assert read_catalog(db_dsn).pgagent is not None


class CountingCursor(psycopg.Cursor[Any]):
    executed = 0

    def execute(self, *args: Any, **kwargs: Any) -> Any:
        CountingCursor.executed += 1
        return super().execute(*args, **kwargs)


def count_queries(dsn: str) -> tuple[int, int]:
    CountingCursor.executed = 0
    with psycopg.connect(dsn, cursor_factory=CountingCursor) as conn:
        conn.read_only = True
        catalog = read_pgagent(conn)
    return CountingCursor.executed, len(catalog.jobs)


def test_query_count_does_not_grow_with_jobs(db: Conn, db_dsn: str) -> None:
    build_catalog(db, copies=1)
    small, jobs_small = count_queries(db_dsn)
    build_catalog(db, copies=25, first=1)
    large, jobs_large = count_queries(db_dsn)
    assert (jobs_small, jobs_large) == (2, 52)
    assert small == large <= 12


def test_reader_transaction_is_read_only(db: Conn, db_dsn: str) -> None:
    build_catalog(db)
    with reading(db_dsn) as conn:
        read_pgagent(conn)
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute("UPDATE pgagent.pga_job SET jobenabled = false")


def test_missing_catalog_is_one_clear_error(cron_dsn: str) -> None:
    with pytest.raises(CatalogNotFound, match="has no pgAgent catalog"):
        read_catalog(cron_dsn)


def test_missing_privileges_name_the_grant(db: Conn, db_dsn: str, db_name: str) -> None:
    db.execute("DROP ROLE IF EXISTS pgbridge_nopriv")
    db.execute("CREATE ROLE pgbridge_nopriv LOGIN")
    try:
        params = psycopg.conninfo.conninfo_to_dict(db_dsn)
        params["user"] = "pgbridge_nopriv"
        dsn = psycopg.conninfo.make_conninfo("", **params)
        with pytest.raises(PrivilegeError, match="GRANT USAGE ON SCHEMA pgagent"):
            read_catalog(dsn)
        db.execute("GRANT USAGE ON SCHEMA pgagent TO pgbridge_nopriv")
        db.execute("GRANT SELECT ON pgagent.pga_job, pgagent.pga_jobclass TO pgbridge_nopriv")
        with pytest.raises(PrivilegeError, match=r"cannot read pgagent\.pga_jobagent"):
            read_catalog(dsn)
        db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA pgagent TO pgbridge_nopriv")
        assert read_catalog(dsn).pgagent is not None
    finally:
        db.execute("DROP OWNED BY pgbridge_nopriv")
        db.execute("DROP ROLE pgbridge_nopriv")


def test_unreachable_server_is_one_clear_error() -> None:
    with pytest.raises(ConnectionFailed, match=r"cannot connect to 127\.0\.0\.1:1/x"):
        connect("host=127.0.0.1 port=1 dbname=x connect_timeout=2", read_only=True)


def test_timezone_detection_precedence(db: Conn, db_dsn: str, db_name: str) -> None:
    create_job(db, JobSpec("tz"))
    agent = read_catalog(db_dsn).pgagent
    assert agent is not None
    assert agent.timezone_source.startswith("server default")
    db.execute(f"ALTER DATABASE {db_name} SET timezone = 'Asia/Kolkata'")
    db.execute("DROP ROLE IF EXISTS pgbridge_agent")
    db.execute("CREATE ROLE pgbridge_agent LOGIN")
    try:
        agent = read_catalog(db_dsn).pgagent
        assert agent is not None
        assert (agent.timezone, agent.timezone_source) == (
            "Asia/Kolkata",
            f"ALTER DATABASE {db_name} SET timezone",
        )
        db.execute(
            f"ALTER ROLE pgbridge_agent IN DATABASE {db_name} SET timezone = 'America/New_York'"
        )
        db.execute("ALTER ROLE pgbridge_agent SET timezone = 'Europe/Berlin'")
        agent = read_catalog(db_dsn, agent_role="pgbridge_agent").pgagent
        assert agent is not None and agent.timezone == "America/New_York"
        # A connected agent names its role by itself.
        params = psycopg.conninfo.conninfo_to_dict(db_dsn)
        params["user"] = "pgbridge_agent"
        with psycopg.connect(psycopg.conninfo.make_conninfo("", **params), autocommit=True) as ag:
            db.execute(
                "INSERT INTO pgagent.pga_jobagent (jagpid, jagstation) VALUES (%s, 'host1')",
                [ag.info.backend_pid],
            )
            agent = read_catalog(db_dsn).pgagent
            assert agent is not None
            assert agent.timezone == "America/New_York"
            assert [a.station for a in agent.agents] == ["host1"]
        override = read_catalog(db_dsn, timezone="Pacific/Auckland").pgagent
        assert override is not None
        assert (override.timezone, override.timezone_source) == (
            "Pacific/Auckland",
            "override (--timezone)",
        )
        with pytest.raises(UsageError, match="unknown time zone"):
            read_catalog(db_dsn, timezone="Mars/Olympus")
    finally:
        db.execute(f"ALTER DATABASE {db_name} RESET timezone")
        db.execute("DELETE FROM pgagent.pga_jobagent")
        db.execute("DROP OWNED BY pgbridge_agent")
        db.execute("ALTER ROLE pgbridge_agent RESET ALL")
        db.execute("DROP ROLE pgbridge_agent")
