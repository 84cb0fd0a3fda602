"""The ``pgbridge`` command as a user runs it: real processes, real servers, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.catalogs import SECRET, Conn, build_catalog
from tests.commands import run
from tests.fix_db import TestServer


def assert_one_line_error(proc: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("pgbridge: error: ")
    for needle in needles:
        assert needle in lines[0]
    assert SECRET not in proc.stderr + proc.stdout


def test_help_lists_commands() -> None:
    proc = run("--help")
    assert proc.returncode == 0
    for command in ("inventory", "snapshot", "demo"):
        assert command in proc.stdout
    assert run("--version").stdout.strip() == "pgbridge, version 0.1.0"


def test_inventory_text(db: Conn, db_dsn: str) -> None:
    multi, _ = build_catalog(db)
    row = db.execute("SELECT current_setting('TimeZone')").fetchone()
    assert row is not None
    proc = run("inventory", "--pgagent", db_dsn)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "2 jobs, 5 steps, 2 schedules" in out
    assert (
        f"Job {multi}: multi step 0  [enabled, pinned to host 'agent-host']  class: Data Export"
        in out
    )
    order = [out.index(f"{n}. {name}") for n, name in enumerate(["a first", "b second"], 1)]
    assert order == sorted(order)
    assert "(batch, on the agent's host (shell); on error: stop the job)" in out
    assert "on error: count as success, go on" in out and "on error: ignore, go on" in out
    assert "2024-12-25 (all day)" in out and "17:30" in out
    assert "[disabled]" in out
    assert f"schedules evaluated in {row[0]} (server default" in out
    assert SECRET not in out


def test_inventory_json_is_versioned_and_complete(db: Conn, db_dsn: str) -> None:
    build_catalog(db)
    proc = run("inventory", "--pgagent", db_dsn, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert (doc["format"], doc["version"]) == ("pgbridge-inventory", 2)
    jobs = doc["catalog"]["pgagent"]["jobs"]
    assert [j["name"] for j in jobs] == ["multi step 0", "empty 0"]
    schedules = jobs[0]["schedules"]
    assert schedules[0]["minutes"][30] is True and schedules[0]["weekdays"][0] is False
    assert all(isinstance(s["in_words"], str) and s["in_words"] for s in schedules)
    assert SECRET not in proc.stdout


def test_comments_survive_into_every_report(db: Conn, db_dsn: str) -> None:
    """The catalog's own comments (jobdesc, jstdesc, jscdesc) are kept apart from pgbridge's
    words and shown in the inventory and in the text and markdown plans."""
    from bridge.devtools.pgagent_jobs import create_job
    from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec

    create_job(
        db,
        JobSpec(
            "commented",
            [StepSpec("purge", "SELECT 1", description="step note: keeps 90 days")],
            [
                ScheduleSpec(
                    "nightly", minutes=frozenset({5}), hours=frozenset({1}),
                    description="schedule note: after the backup",
                )
            ],
            description="job note: owned by billing",
        ),
    )  # fmt: skip
    doc = json.loads(run("inventory", "--pgagent", db_dsn, "--format", "json").stdout)
    (sched,) = doc["catalog"]["pgagent"]["jobs"][0]["schedules"]
    assert sched["description"] == "schedule note: after the backup"
    assert sched["in_words"].startswith("at 01:05")
    notes = ("job note: owned by billing", "step note: keeps 90 days", "schedule note: after")
    text = run("inventory", "--pgagent", db_dsn).stdout
    assert all(n in text for n in notes)
    for fmt in ("text", "markdown", "json"):  # the job is exact: its text section with -v
        proc = run("plan", "--pgagent", db_dsn, "--format", fmt, *(["-v"] if fmt == "text" else []))
        assert proc.returncode == 0, proc.stderr
        assert all(n in proc.stdout for n in notes), fmt


def test_pg_environment_needs_no_flags(db: Conn, pg_server: TestServer, db_name: str) -> None:
    build_catalog(db)
    params = psycopg.conninfo.conninfo_to_dict(pg_server.dsn(db_name))
    env = {
        "PGHOST": str(params["host"]),
        "PGPORT": str(params["port"]),
        "PGUSER": str(params["user"]),
        "PGDATABASE": db_name,
    }
    if "password" in params:
        env["PGPASSWORD"] = str(params["password"])
    proc = run("inventory", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "multi step 0" in proc.stdout


def test_snapshot_then_offline_inventory(db: Conn, db_dsn: str, tmp_path: Path) -> None:
    build_catalog(db)
    path = tmp_path / "jobs.json"
    made = run("snapshot", "--pgagent", db_dsn, "-o", str(path))
    assert made.returncode == 0, made.stderr
    assert "wrote" in made.stderr and SECRET not in path.read_text(encoding="utf-8")
    live = run("inventory", "--pgagent", db_dsn).stdout.splitlines()[1:]
    offline = run("inventory", "--snapshot", str(path)).stdout.splitlines()[1:]
    assert offline == live  # everything but the "Source:" line


def _reload(conn: Conn) -> None:
    """Reload the configuration and wait until the server has really read it."""
    row = conn.execute("SELECT pg_conf_load_time()").fetchone()
    assert row is not None
    conn.execute("SELECT pg_reload_conf()")
    for _ in range(100):
        now = conn.execute("SELECT pg_conf_load_time()").fetchone()
        if now is not None and now[0] != row[0]:
            return
        time.sleep(0.05)
    raise AssertionError("the server did not reload its configuration")


@pytest.fixture
def password_role(pg_server: TestServer) -> Iterator[str]:
    """A role that must log in with a password (scram over TCP), on a server we own here."""
    if pg_server.kind != "local":
        pytest.skip("needs a pg_hba.conf edit on this machine; only done on our own cluster")
    with pg_server.connect("postgres") as conn:
        row = conn.execute("SELECT current_setting('hba_file')").fetchone()
        assert row is not None
        hba = Path(str(row[0]))
        original = hba.read_text(encoding="utf-8")
        conn.execute("CREATE ROLE pgbridge_pw LOGIN PASSWORD 'right-password'")
        hba.write_text("host all pgbridge_pw all scram-sha-256\n" + original, encoding="utf-8")
        _reload(conn)
    try:
        yield "pgbridge_pw"
    finally:
        hba.write_text(original, encoding="utf-8")
        with pg_server.connect("postgres") as conn:
            _reload(conn)
            conn.execute("DROP ROLE pgbridge_pw")


def test_wrong_password(password_role: str, db_dsn: str) -> None:
    params = psycopg.conninfo.conninfo_to_dict(db_dsn)
    params.update(user=password_role, password=SECRET)
    proc = run("inventory", "--pgagent", psycopg.conninfo.make_conninfo("", **params))
    assert_one_line_error(proc, "password authentication failed", "check the user and password")


def test_error_paths_are_one_line(db: Conn, db_dsn: str, cron_dsn: str, tmp_path: Path) -> None:
    build_catalog(db)
    assert_one_line_error(
        run("inventory", "--pgagent", f"host=127.0.0.1 port=1 password={SECRET} connect_timeout=3"),
        "cannot connect to 127.0.0.1:1",
        "is the server running",
    )
    assert_one_line_error(
        run("inventory", "--pgagent", cron_dsn), "has no pgAgent catalog", "point --pgagent"
    )
    assert_one_line_error(
        run("inventory", "--pgagent", "host='unterminated"), "malformed connection"
    )
    assert_one_line_error(
        run("inventory", "--pgagent", db_dsn, "--timezone", "Mars/Olympus"), "unknown time zone"
    )
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2", encoding="utf-8")
    assert_one_line_error(run("inventory", "--snapshot", str(bad)), "not valid JSON")
    assert_one_line_error(
        run("inventory", "--snapshot", str(tmp_path / "nope.json")), "does not exist"
    )
    assert_one_line_error(
        run("inventory", "--snapshot", str(bad), "--pgagent", db_dsn), "replaces --pgagent"
    )
    debug = run("--debug", "inventory", "--snapshot", str(bad))
    assert debug.returncode == 2 and "Traceback" in debug.stderr


def test_missing_privilege_is_one_line(db: Conn, db_dsn: str) -> None:
    build_catalog(db)
    db.execute("DROP ROLE IF EXISTS pgbridge_cli_nopriv")
    db.execute("CREATE ROLE pgbridge_cli_nopriv LOGIN")
    try:
        params = psycopg.conninfo.conninfo_to_dict(db_dsn)
        params["user"] = "pgbridge_cli_nopriv"
        proc = run("inventory", "--pgagent", psycopg.conninfo.make_conninfo("", **params))
        assert_one_line_error(proc, "no USAGE on schema pgagent", "GRANT USAGE ON SCHEMA pgagent")
    finally:
        db.execute("DROP ROLE pgbridge_cli_nopriv")


def test_usage_errors_exit_2() -> None:
    proc = run("inventory", "--format", "yaml")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "'yaml' is not one of" in proc.stderr
    assert run("snapshot").returncode == 2  # -o is required


def test_plan_formats_and_exit_codes(db: Conn, db_dsn: str, tmp_path: Path) -> None:
    build_catalog(db)  # holds a batch step and a remote step: manual jobs (errors)
    text = run("plan", "--pgagent", db_dsn)
    assert text.returncode == 1, text.stderr  # errors reach the default --fail-on error
    assert text.stdout.startswith("2 pgAgent jobs: ")
    assert "[MANUAL] job" in text.stdout and "STEP_BATCH" in text.stdout
    assert run("plan", "--pgagent", db_dsn, "--fail-on", "never").returncode == 0
    doc = json.loads(run("plan", "--pgagent", db_dsn, "--format", "json").stdout)
    assert (doc["format"], doc["version"]) == ("pgbridge-plan", 1)
    assert doc["target"]["detected"] is True  # cron.* settings are visible from any database
    markdown = run("plan", "--pgagent", db_dsn, "--format", "markdown").stdout
    assert markdown.startswith("# pgAgent to pg_cron migration plan")
    sql = run("plan", "--pgagent", db_dsn, "--format", "sql").stdout
    assert sql.splitlines()[:2] == ["\\encoding UTF8", "-- pgbridge migration plan (format 1)"]
    assert "BEGIN;" in sql
    assert SECRET not in text.stdout + json.dumps(doc) + markdown + sql
    path = tmp_path / "s.json"
    run("snapshot", "--pgagent", db_dsn, "-o", str(path))
    offline = run(
        "plan", "--snapshot", str(path), "--target-pg-cron", "1.6.7", "--cron-timezone", "UTC",
        "--format", "json", "--fail-on", "never",
    )  # fmt: skip
    assert offline.returncode == 0, offline.stderr
    target = json.loads(offline.stdout)["target"]
    assert (target["release"], target["timezone"]) == ("1.6.7", "UTC")
    assert_one_line_error(
        run("plan", "--snapshot", str(path), "--target-pg-cron", "x.y"), "pg_cron"
    )


def test_plan_exit_zero_when_all_exact(db: Conn, db_dsn: str, cron_dsn: str) -> None:
    from bridge.devtools.pgagent_jobs import create_job
    from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec

    create_job(
        db,
        JobSpec("ok", [StepSpec("a", "SELECT 1")], [ScheduleSpec("d", minutes=frozenset({5}))]),
    )
    proc = run("plan", "--pgagent", db_dsn, "--pgcron", cron_dsn)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 exact" in proc.stdout and "(detected)" in proc.stdout


@pytest.mark.parametrize(
    "dsn",
    [
        f"postgresql://u:{SECRET}/et@localhost/db",  # libpq: host "u", port SECRET
        f"postgresql://u:{SECRET[:3]}@{SECRET[3:]}/et@localhost/db",  # host = the password's tail
        f"postgresql://u:{SECRET}@{SECRET}@localhost/db",
    ],
)
def test_ambiguous_uri_never_prints_the_password(dsn: str) -> None:
    proc = run("plan", "--pgagent", dsn)
    assert_one_line_error(proc, "malformed connection string", "unparsable URI")
    for fragment in (SECRET, SECRET[:3], SECRET[3:]):
        assert fragment not in proc.stdout + proc.stderr
