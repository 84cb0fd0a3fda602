"""Wrong or missing diagnoses of the pg_cron side: not loaded, not created, settings hidden, and
the least-privilege pgAgent role (each a plan-level finding with the fix, seen by --fail-on)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo as ci

from bridge.api import migrate
from bridge.devtools.cluster import LocalCluster
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import HarnessError, PrivilegeError
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from tests.catalogs import Conn
from tests.commands import run
from tests.fix_db import TestServer

fs = frozenset


def simple_job(conn: Conn, dbname: str) -> int:
    return create_job(
        conn,
        JobSpec(
            "nightly",
            [StepSpec("a", "SELECT 1", dbname=dbname)],
            [ScheduleSpec("d", minutes=fs({30}), hours=fs({2}))],
        ),
    )


@pytest.fixture(scope="module")
def unloaded(pg_default_server: TestServer) -> Iterator[LocalCluster]:
    """A second throwaway cluster where pg_cron was created, then dropped from
    shared_preload_libraries (the server restarted without it)."""
    pg_server = pg_default_server
    cluster = LocalCluster()
    try:
        cluster.start()
        with psycopg.connect(cluster.dsn("postgres"), autocommit=True) as conn:
            conn.execute("CREATE EXTENSION pg_cron")
            conn.execute("CREATE EXTENSION pgagent")
            simple_job(conn, "postgres")
        cluster.restart(shared_preload_libraries="''")
    except HarnessError as exc:
        cluster.stop()
        if pg_server.kind == "local":
            raise
        pytest.skip(f"no second local cluster next to {pg_server.kind}: {exc}")
    try:
        yield cluster
    finally:
        cluster.stop()


def plan_json(*args: str) -> tuple[int, dict[str, object]]:
    proc = run("plan", *args, "--format", "json")
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout)


def codes(doc: dict[str, object]) -> dict[str, str]:
    findings = doc["findings"]
    assert isinstance(findings, list)
    return {f["code"]: f["severity"] for f in findings}


def test_pg_cron_created_but_not_loaded(unloaded: LocalCluster) -> None:
    code, doc = plan_json("--pgagent", unloaded.dsn("postgres"))
    found = codes(doc)
    assert found.get("TARGET_PGCRON_NOT_LOADED") == "error", found
    assert code == 1  # the default --fail-on error sees it
    text = run("plan", "--pgagent", unloaded.dsn("postgres")).stdout
    assert "(declared)" not in text and "shared_preload_libraries" in text


def test_pgcron_naming_a_database_without_pg_cron(db: Conn, db_name: str, db_dsn: str) -> None:
    simple_job(db, db_name)
    code, doc = plan_json("--pgagent", db_dsn, "--pgcron", db_dsn)
    assert codes(doc).get("TARGET_PGCRON_NOT_CREATED") == "error", codes(doc)
    assert code == 1
    # without --pgcron, pg_cron's settings are read from the --pgagent database: no such error
    code, doc = plan_json("--pgagent", db_dsn)
    assert "TARGET_PGCRON_NOT_CREATED" not in codes(doc) and code == 0


@pytest.fixture
def weak_role(pg_server: TestServer, db: Conn, cron_db: Conn) -> Iterator[str]:
    """pgAgent's least-privilege login role of the Aidbox tutorial: LOGIN NOSUPERUSER, USAGE on
    schema pgagent, ALL on its tables (and nothing on pg_cron's side)."""
    role = "pgbridge_aidbox_pgagent"
    cron_db.execute(f"DROP ROLE IF EXISTS {role}")
    cron_db.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    db.execute(f"GRANT USAGE ON SCHEMA pgagent TO {role}")
    db.execute(f"GRANT ALL ON ALL TABLES IN SCHEMA pgagent TO {role}")
    try:
        yield role
    finally:
        db.execute(f"DROP OWNED BY {role}")
        cron_db.execute(f"DROP OWNED BY {role}")
        cron_db.execute(f"DROP ROLE {role}")


def as_role(dsn: str, role: str) -> str:
    return ci.make_conninfo("", **{**ci.conninfo_to_dict(dsn), "user": role})


def test_hidden_settings_are_assumed_not_declared(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, weak_role: str
) -> None:
    simple_job(db, db_name)
    args = ("--pgagent", as_role(db_dsn, weak_role), "--pgcron", as_role(cron_dsn, weak_role))
    _, doc = plan_json(*args)
    found = codes(doc)
    assert found.get("TARGET_ASSUMED") == "warning" and "TARGET_DECLARED" not in found, found
    assert run("plan", *args, "--fail-on", "warning").returncode == 1
    text = run("plan", *args).stdout
    assert "(assumed)" in text and "(declared)" not in text
    assert "pg_read_all_settings" in text


def test_preflight_lists_every_missing_privilege_of_the_tutorial_role(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, weak_role: str
) -> None:
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
    simple_job(db, db_name)
    with pytest.raises(PrivilegeError) as info:
        migrate(as_role(db_dsn, weak_role), as_role(cron_dsn, weak_role), apply=True)
    message = str(info.value)
    assert "permission denied" not in message
    for needed in (
        "USAGE on schema cron",
        "EXECUTE on cron.schedule_in_database",  # pg_cron revokes it from PUBLIC
        "EXECUTE on cron.alter_job",  # likewise
        "CREATE on database",
    ):
        assert needed in message, message
    assert "EXECUTE on cron.schedule;" not in message  # PUBLIC may call it (once in the schema)
    assert "UPDATE on pgagent.pga_job" not in message  # it has ALL on pgAgent's tables
    proc = run(
        "migrate", "--apply", "--pgagent", as_role(db_dsn, weak_role),
        "--pgcron", as_role(cron_dsn, weak_role),
    )  # fmt: skip
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1
    assert "USAGE on schema cron" in proc.stderr


def test_a_snapshot_that_says_pg_cron_is_not_loaded(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, tmp_path: Path
) -> None:
    simple_job(db, db_name)
    path = tmp_path / "s.json"
    assert (
        run("snapshot", "--pgagent", db_dsn, "--pgcron", cron_dsn, "-o", str(path)).returncode == 0
    )
    doc = json.loads(path.read_text(encoding="utf-8"))
    doc["catalog"]["pgcron"].update(
        loaded=False, binary_at_least="unknown", settings=[], capabilities=[]
    )
    path.write_text(json.dumps(doc), encoding="utf-8")
    code, plan = plan_json("--snapshot", str(path))
    found = codes(plan)
    assert found.get("TARGET_PGCRON_NOT_LOADED") == "error" and code == 1, found
    assert found.get("TARGET_ASSUMED") == "warning" and "TARGET_DECLARED" not in found
