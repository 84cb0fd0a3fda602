"""Reading the pg_cron side: versions, capabilities from the loaded binary, cron.job, visibility."""

from __future__ import annotations

from typing import Any

import psycopg

from bridge.catalog import read_catalog
from bridge.connect import reading
from bridge.pgadmin_sql import JobSpec, create_job
from bridge.read_pgcron import read_pgcron

Conn = psycopg.Connection[tuple[Any, ...]]


def with_user(dsn: str, user: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["user"] = user
    return psycopg.conninfo.make_conninfo("", **params)


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
    if "cron.timezone" not in gucs:
        assert side.binary_at_least == "1.4.0"
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
