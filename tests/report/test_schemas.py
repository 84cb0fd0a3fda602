"""Every ``--format json`` document has a JSON Schema under docs/schemas/ (issue 15): the files are
valid draft 2020-12 schemas, current with the dataclasses they are built from, one per format name
the code emits, and real outputs of every command, on real servers, validate against them."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import jsonschema
import psycopg
import pytest
from referencing import Registry, Resource

from bridge.devtools.demo import sample_jobs as demo_jobs
from bridge.devtools.pgagent_jobs import create_job
from bridge.devtools.schemas import schemas
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from tests.catalogs import Conn
from tests.commands import run
from tests.fix_db import NewCatalog

ROOT = Path(__file__).resolve().parents[2]
SCHEMAS = ROOT / "docs" / "schemas"
UNREACHABLE = "host=127.0.0.1 port=1 dbname=nowhere connect_timeout=3"
fs = frozenset


def _files() -> dict[str, dict[str, Any]]:
    return {
        p.name.removesuffix(".schema.json"): json.loads(p.read_text(encoding="utf-8"))
        for p in sorted(SCHEMAS.glob("*.schema.json"))
    }


def _validator(name: str) -> jsonschema.Draft202012Validator:
    files = _files()
    registry: Registry[Any] = Registry().with_resources(
        (s["$id"], Resource.from_contents(s)) for s in files.values()
    )
    return jsonschema.Draft202012Validator(files[name], registry=registry)


def check(doc: dict[str, Any]) -> None:
    """``doc`` is valid for the schema its own ``format`` names (the error says where not)."""
    errors = sorted(_validator(doc["format"]).iter_errors(doc), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}"[:300] for e in errors[:5])


def test_each_schema_file_is_a_valid_schema_and_current() -> None:
    files = _files()
    assert files == schemas(), "docs/schemas/ is stale: python -m bridge.devtools.schemas"
    for name, schema in files.items():
        jsonschema.Draft202012Validator.check_schema(schema)
        assert schema["properties"]["format"] == {"const": name}


def test_every_format_the_code_emits_has_a_schema() -> None:
    emitted = {
        m.group(1)
        for path in (ROOT / "bridge").rglob("*.py")
        for m in re.finditer(r'^[A-Z_]*FORMAT = "(pgbridge-[a-z-]+)"', path.read_text(), re.M)
    }
    assert {"pgbridge-plan", "pgbridge-verify", "pgbridge-snapshot", "pgbridge-fleet"} <= emitted
    assert emitted == set(_files())
    docs = (ROOT / "docs" / "json.md").read_text(encoding="utf-8")
    for name in emitted:
        assert f"schemas/{name}.schema.json" in docs, f"docs/json.md does not index {name}"


def _joblog(db: Conn, job_id: int) -> None:
    """Two runs of ``job_id`` in pgAgent's log, one failed: the inventory's history."""
    db.execute(
        "INSERT INTO pgagent.pga_joblog (jlgjobid, jlgstatus, jlgstart, jlgduration) VALUES "
        "(%s, 's', now() - interval '2 hours', interval '3 seconds'), "
        "(%s, 'f', now() - interval '1 hour', interval '1 second')",
        (job_id, job_id),
    )


def test_real_outputs_of_every_command_match_their_schemas(
    db: Conn,
    db_dsn: str,
    new_catalog: NewCatalog,
    cron_dsn: str,
    cron_db: Conn,
    ledger_gone: None,
    tmp_path: Path,
) -> None:
    # The demo's catalog: guarded jobs, manual ones, findings of every severity, and history.
    ids = [create_job(db, spec) for spec in demo_jobs()]
    _joblog(db, ids[0])
    seen: dict[str, int] = {}

    def doc(*args: str, codes: tuple[int, ...] = (0, 1)) -> dict[str, Any]:
        proc = run(*args, "--format", "json")
        assert proc.returncode in codes, proc.stderr
        out: dict[str, Any] = json.loads(proc.stdout)
        check(out)
        seen[out["format"]] = seen.get(out["format"], 0) + 1
        return out

    inventory = doc("inventory", "--pgagent", db_dsn, "--pgcron", cron_dsn)
    assert any(j["history"] for j in inventory["catalog"]["pgagent"]["jobs"])
    snap = tmp_path / "snap.json"
    assert (
        run("snapshot", "--pgagent", db_dsn, "--pgcron", cron_dsn, "-o", str(snap)).returncode == 0
    )
    check(json.loads(snap.read_text(encoding="utf-8")))
    seen["pgbridge-snapshot"] = 1
    plan = doc("plan", "--pgagent", db_dsn, "--pgcron", cron_dsn, codes=(0, 1))
    severities = {f["severity"] for j in plan["jobs"] for f in j["findings"]}
    assert severities == {"error", "warning", "info"}
    assert {"exact", "changed", "manual"} <= {j["status"] for j in plan["jobs"]}
    assert doc("plan", "--snapshot", str(snap))["jobs"]

    # A migration's whole cycle on a catalog whose steps run in a real database.
    name, dsn = new_catalog()
    with psycopg.connect(dsn, autocommit=True) as conn:
        for spec in (
            JobSpec("purge", [StepSpec("a", "SELECT 1", dbname=name)],
                    [ScheduleSpec("d", minutes=fs({30}), hours=fs({2}))]),
            JobSpec("etl", [StepSpec("a", "SELECT 2", dbname=name)],
                    [ScheduleSpec("h", minutes=fs({5}))]),
        ):  # fmt: skip
            create_job(conn, spec)
    live = ("--pgagent", dsn, "--pgcron", cron_dsn)
    assert doc("migrate", *live)["applied"] is False
    assert doc("migrate", *live, "--apply", "--cutover")["changes"]
    assert doc("activate", *live)["changes"]
    assert doc("verify", *live)["ok"] is True
    assert doc("verify", *live, "--runs")["format"] == "pgbridge-verify"
    assert doc("export", "--pgcron", cron_dsn, "--timezone", "UTC")["plan"]
    assert doc("rollback", *live)["changes"]

    # A fleet: the demo's catalog, the migrated one, and a server that cannot be reached.
    fleet = tmp_path / "fleet.txt"
    fleet.write_text(f"{db_dsn}\n{dsn}\n{UNREACHABLE}\n")
    for command in ("inventory", "plan"):
        out = doc(command, "--fleet", str(fleet), codes=(2,))
        assert [s["ok"] for s in out["servers"]] == [True, True, False]
    out["rollup"]["codes"][0]["jobs"] = "many"  # the roll-up's rows are checked too
    assert list(_validator("pgbridge-fleet").iter_errors(out))
    # The same report merged from per-server files (as orchestration writes them).
    files = [tmp_path / "a.json", tmp_path / "b.json"]
    files[0].write_text(json.dumps(plan), encoding="utf-8")
    files[1].write_text(run("plan", *live, "--format", "json").stdout, encoding="utf-8")
    assert len(doc("report", "merge", *map(str, files))["servers"]) == 2
    assert set(seen) == set(_files())  # every format was produced and checked


@pytest.mark.parametrize(
    "damage",
    [
        lambda d: d.pop("summary"),
        lambda d: d["jobs"][0].update(state=d["jobs"][0].pop("status")),
        lambda d: d["jobs"][0]["findings"][0].update(severity="fatal"),
        lambda d: d["jobs"][0]["findings"][0].update(code="NOT_A_CODE"),
        lambda d: d.update(format="pgbridge-run"),
    ],
)
def test_a_renamed_or_missing_field_is_caught(damage: Any, db: Conn, db_dsn: str) -> None:
    create_job(db, JobSpec("shell", [StepSpec("a", "echo hi", kind="b")],
                           [ScheduleSpec("d", minutes=fs({30}), hours=fs({2}))]))  # fmt: skip
    doc = json.loads(run("plan", "--pgagent", db_dsn, "--format", "json").stdout)
    check(doc)
    damage(doc)
    assert list(_validator("pgbridge-plan").iter_errors(doc)), "the damage went unnoticed"
