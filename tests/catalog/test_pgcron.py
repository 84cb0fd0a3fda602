"""Reading the pg_cron side: versions, capabilities from the loaded binary, cron.job, visibility."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from bridge.catalog.load import read_catalog
from bridge.catalog.pgcron import read_pgcron
from bridge.catalog.release import detected
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec
from bridge.pg.connect import reading
from bridge.schedule import cron_version

Conn = psycopg.Connection[tuple[Any, ...]]


def with_user(dsn: str, user: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["user"] = user
    return psycopg.conninfo.make_conninfo("", **params)


@pytest.mark.pgcron_matrix
def test_superuser_sees_binary_settings_and_jobs(cron_db: Conn, cron_dsn: str) -> None:
    cron_db.execute("SELECT cron.schedule('pgbridge-test-a', '*/5 * * * *', $$SELECT 'a;b'$$)")
    cron_db.execute("SELECT cron.schedule('pgbridge-test-b', '0 3 * * 0', 'VACUUM')")
    cron_db.execute("UPDATE cron.job SET active = false WHERE jobname = 'pgbridge-test-b'")
    with reading(cron_dsn) as conn:
        side = read_pgcron(conn)
    server = cron_db.execute(
        "SELECT extversion FROM pg_extension WHERE extname = 'pg_cron'"
    ).fetchone()
    assert server is not None
    assert side.extension_version == server[0]
    assert side.loaded and side.sees_all_jobs
    gucs = {
        str(name): str(value)
        for name, value in cron_db.execute(
            "SELECT name, setting FROM pg_settings WHERE name LIKE 'cron.%'"
        )
    }
    assert dict(side.settings) == gucs
    expected = {
        "cron.use_background_workers": "background_workers",
        "cron.enable_superuser_jobs": "enable_superuser_jobs",
        "cron.timezone": "timezone",
        "cron.launch_active_jobs": "launch_active_jobs",
        "cron.match_dom_and_dow": "match_dom_and_dow",
    }
    assert set(side.capabilities) == {cap for guc, cap in expected.items() if guc in gucs}
    # Debian bookworm's 1.4.2 registers enable_superuser_jobs but not cron.timezone: GMT always.
    assert side.timezone == gucs.get("cron.timezone", "GMT")
    if "cron.timezone" not in gucs:  # the SQL version 1.4-1 first shipped with 1.4.2
        assert side.binary_at_least == ("1.4.2" if side.extension_version == "1.4-1" else "1.4.0")
    assert side.database_name == cron_db.info.dbname
    assert side.background_workers is False
    mine = {j.name: j for j in side.jobs if j.name and j.name.startswith("pgbridge-test-")}
    assert mine["pgbridge-test-a"].command == "SELECT 'a;b'"
    assert mine["pgbridge-test-a"].schedule == "*/5 * * * *"
    assert (mine["pgbridge-test-b"].active, mine["pgbridge-test-b"].command) == (False, "VACUUM")
    assert side.diagnostics == ()


def test_unprivileged_role_gets_unknown_not_old(cron_db: Conn, cron_dsn: str) -> None:
    cron_db.execute("DROP ROLE IF EXISTS pgbridge_cronuser")
    cron_db.execute("CREATE ROLE pgbridge_cronuser LOGIN")
    try:
        with reading(with_user(cron_dsn, "pgbridge_cronuser")) as conn:
            side = read_pgcron(conn)
        assert side.jobs == () and "PGCRON_JOBS_UNREADABLE" in {d.code for d in side.diagnostics}
        cron_db.execute("GRANT USAGE ON SCHEMA cron TO pgbridge_cronuser")
        cron_db.execute("SELECT cron.schedule('pgbridge-test-hidden', '0 1 * * *', 'SELECT 1')")
        with reading(with_user(cron_dsn, "pgbridge_cronuser")) as conn:
            side = read_pgcron(conn)
        assert side.binary_at_least == "unknown" and side.timezone is None
        assert side.loaded  # the launcher is visible in pg_stat_activity to everyone
        assert side.settings == ()
        assert not side.sees_all_jobs
        assert all(j.username == "pgbridge_cronuser" for j in side.jobs)  # RLS
        assert {d.code for d in side.diagnostics} == {
            "PGCRON_SETTINGS_HIDDEN",
            "PGCRON_RLS_PARTIAL",
        }
    finally:
        cron_db.execute("DROP OWNED BY pgbridge_cronuser")
        cron_db.execute("DROP ROLE pgbridge_cronuser")


def test_pgcron_in_another_database(db: Conn, db_dsn: str, cron_dsn: str) -> None:
    create_job(db, JobSpec("x"))
    same = read_catalog(db_dsn)
    assert same.pgcron is not None and same.pgcron.extension_version is None
    assert "PGCRON_NOT_CREATED" in {d.code for d in same.pgcron.diagnostics}
    split = read_catalog(db_dsn, cron_dsn)
    assert split.pgcron is not None and split.pgcron.extension_version is not None
    assert split.pgagent is not None and [j.name for j in split.pgagent.jobs] == ["x"]


def _behaviour(release: str) -> object:
    return {k: v for k, v in vars(cron_version(release)).items() if k != "release"}


@pytest.mark.pgcron_matrix
def test_release_pinned_from_the_server(cron_db: Conn, cron_dsn: str, pg_cron_release: str) -> None:
    """Settings, the SQL version and what cron.schedule accepts (read-only) pin the behaviour: a
    real 1.6.5 is not taken for 1.6.0 (whose day-early bug would fail every day-restricted job)."""
    before = cron_db.execute("SELECT count(*), coalesce(max(jobid), 0) FROM cron.job").fetchone()
    with reading(cron_dsn) as conn:
        side = read_pgcron(conn)
        choice = detected(side)
    assert choice is not None
    assert choice.others == (), choice
    assert _behaviour(choice.release) == _behaviour(pg_cron_release)
    assert cron_version(choice.release).date_fields_from_tomorrow is False
    # the probes wrote nothing (not even a sequence value: cron.schedule stops at the INSERT)
    assert (
        cron_db.execute("SELECT count(*), coalesce(max(jobid), 0) FROM cron.job").fetchone()
        == before
    )
    if cron_version(pg_cron_release).release >= (1, 6, 0):
        assert side.binary_at_least != "1.6.0"
        assert any("cron.schedule" in fact for fact in side.release_evidence) or (
            side.binary_below is None
        )


@pytest.mark.pgcron_matrix
def test_match_dom_and_dow_detected(cron_dsn: str, pg_cron_release: str) -> None:
    from bridge.planner.target import target_from

    with reading(cron_dsn) as conn:
        side = read_pgcron(conn)
    on = side.setting("cron.match_dom_and_dow") == "on"
    assert on == cron_version(pg_cron_release).match_dom_and_dow_setting  # the matrix turns it on
    target = target_from(side)
    assert target.cron_target().and_logic is on
