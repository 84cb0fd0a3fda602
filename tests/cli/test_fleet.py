"""Many servers, one run: two real catalogs (one reached through pg_service.conf), one server that
cannot be reached, and the same report merged from per-server files."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
from psycopg import conninfo as ci

from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.pg.conninfo import redact
from tests.commands import run
from tests.fix_db import NewCatalog, TestServer

fs = frozenset
DAILY = ScheduleSpec("daily", minutes=fs({30}), hours=fs({2}))
UNREACHABLE = "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=3"


def catalog_with(pg_server: TestServer, new_catalog: NewCatalog, *jobs: JobSpec) -> tuple[str, str]:
    name, dsn = new_catalog()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for job in jobs:
            create_job(conn, job)
    return name, dsn


def service_file(tmp_path: Path, name: str, dsn: str) -> Path:
    """A pg_service.conf with one service for ``dsn`` (libpq reads it, not pgbridge)."""
    params = ci.conninfo_to_dict(dsn)
    path = tmp_path / "pg_service.conf"
    path.write_text(f"[{name}]\n" + "".join(f"{k}={v}\n" for k, v in params.items()))
    return path


def test_a_fleet_is_planned_in_one_run_and_an_unreachable_server_stops_nothing(
    pg_server: TestServer, new_catalog: NewCatalog, tmp_path: Path
) -> None:
    _, first = catalog_with(
        pg_server, new_catalog, JobSpec("nightly", [StepSpec("a", "SELECT 1")], [DAILY])
    )
    _, second = catalog_with(
        pg_server,
        new_catalog,
        JobSpec("shell", [StepSpec("a", "echo hi", kind="b")], [DAILY]),
        JobSpec("report", [StepSpec("a", "SELECT 2")], [DAILY]),
    )
    services = service_file(tmp_path, "second-catalog", second)
    fleet = tmp_path / "fleet.txt"
    fleet.write_text(
        f"# production\n{first}\n\n  service=second-catalog  \n# gone\n{UNREACHABLE}\n"
    )
    env = {"PGSERVICEFILE": str(services)}
    proc = run("plan", "--fleet", str(fleet), "--jobs", "2", "--format", "json", env=env)
    assert proc.returncode == 2, proc.stderr  # a server could not be read
    assert proc.stderr.strip().splitlines() == [
        "pgbridge: error: 1 of 3 servers could not be read (the report says why)"
    ]
    doc = json.loads(proc.stdout)
    assert (doc["format"], doc["kind"]) == ("pgbridge-fleet", "plan")
    servers = doc["servers"]
    assert [s["server"] for s in servers] == [redact(first), "service=second-catalog", UNREACHABLE]
    assert [s["ok"] for s in servers] == [True, True, False]
    assert "127.0.0.1" in servers[2]["error"] and servers[2]["document"] is None
    assert [j["job_name"] for j in servers[1]["document"]["jobs"]] == ["shell", "report"]
    rollup = doc["rollup"]
    assert (rollup["servers"], rollup["read"], rollup["unreadable"]) == (3, 2, 1)
    assert rollup["statuses"]["jobs"] == 3 and rollup["statuses"]["manual"] == 1
    (batch,) = [c for c in rollup["codes"] if c["code"] == "STEP_BATCH"]
    assert (batch["jobs"], batch["servers"], batch["severity"]) == (1, 1, "error")
    assert batch["first_jobs"] == ["service=second-catalog: shell"]

    # the two reachable servers alone: the --fail-on rule over both
    fleet.write_text(f"{first}\nservice=second-catalog\n")
    proc = run("plan", "--fleet", str(fleet), "--format", "markdown", env=env)
    assert proc.returncode == 1, proc.stderr  # STEP_BATCH is an error
    assert "| service=second-catalog | 2 | 1 | 0 | 1 | 0 |" in proc.stdout
    proc = run("plan", "--fleet", str(fleet), "--fail-on", "never", env=env)
    assert proc.returncode == 0 and "2 servers, 2 read, 0 not read" in proc.stdout

    # the same fleet merged from one report per server (as orchestration would write them)
    files = []
    for n, server in enumerate((first, "service=second-catalog")):
        one = run("plan", "--pgagent", server, "--format", "json", env=env)
        assert one.returncode in (0, 1), one.stderr
        files.append(tmp_path / f"server{n}.json")
        files[-1].write_text(one.stdout)
    merged = run("report", "merge", *map(str, files), "--format", "json", "--fail-on", "never")
    assert merged.returncode == 0, merged.stderr
    planned = json.loads(run("plan", "--fleet", str(fleet), "--format", "json", env=env).stdout)
    assert json.loads(merged.stdout)["rollup"] == planned["rollup"]


def test_inventory_of_a_fleet_and_bad_fleet_files(
    pg_server: TestServer, new_catalog: NewCatalog, tmp_path: Path
) -> None:
    _, dsn = catalog_with(
        pg_server, new_catalog, JobSpec("nightly", [StepSpec("a", "SELECT 1")], [DAILY])
    )
    fleet = tmp_path / "fleet.txt"
    fleet.write_text(f"{dsn}\n")
    proc = run("inventory", "--fleet", str(fleet))
    assert proc.returncode == 0, proc.stderr
    assert "1 pgAgent job, 1 schedule" in proc.stdout
    fleet.write_text("# nothing\n\n")
    for args, needle in [
        (("plan", "--fleet", str(fleet)), "names no server"),
        (("plan", "--fleet", str(tmp_path / "missing.txt")), "cannot read the fleet file"),
        (("plan", "--fleet", str(fleet), "--pgagent", dsn), "leave out --pgagent"),
        (("report", "merge", str(fleet)), "cannot read the report"),
    ]:
        proc = run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert needle in proc.stderr and "Traceback" not in proc.stderr
