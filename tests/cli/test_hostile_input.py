"""Hostile input: edited snapshots and odd options get one line and exit 2, never a traceback.

The CLI runs in-process (``bridge.cli.main``) so that hundreds of mutated snapshots stay fast.
"""

from __future__ import annotations

import contextlib
import copy
import io
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.catalog import snapshot
from bridge.catalog.load import read_catalog
from bridge.cli import main
from bridge.errors import SnapshotError
from tests.catalogs import build_catalog
from tests.fix_db import TEMPLATE_DB, TestServer

Doc = dict[str, Any]

CRON_SIDE: Doc = {
    "database": "postgres",
    "extension_version": "1.6",
    "loaded": True,
    "binary_at_least": "1.6.5",
    "settings": [["cron.database_name", "postgres"], ["cron.timezone", "UTC"]],
    "capabilities": ["timezone"],
    "jobs": [
        {
            "id": 7,
            "name": "nightly",
            "schedule": "30 2 * * *",
            "command": "VACUUM",
            "nodename": "localhost",
            "nodeport": 5432,
            "database": "postgres",
            "username": "postgres",
            "active": True,
        }
    ],
}


@pytest.fixture(scope="module")
def valid_doc(pg_default_server: TestServer) -> Doc:
    """A snapshot document read from a real pgAgent catalog, plus a pg_cron side with a job."""
    pg_server = pg_default_server
    name = f"pgbridge_t_{uuid.uuid4().hex[:12]}"
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    try:
        with pg_server.connect(name) as conn:
            build_catalog(conn)
        doc: Doc = json.loads(snapshot.dumps(read_catalog(pg_server.dsn(name))))
    finally:
        with pg_server.connect("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    doc["catalog"]["pgcron"] = copy.deepcopy(CRON_SIDE)
    return doc


def run_cli(*args: str) -> tuple[int, str, str]:
    """``pgbridge ARGS`` in this process: (exit code, stdout, stderr)."""
    out, err = (io.TextIOWrapper(io.BytesIO(), encoding="utf-8") for _ in range(2))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(args))
    texts = []
    for stream in (out, err):  # UTF-8 bytes, as on a real terminal or pipe
        stream.flush()
        texts.append(stream.buffer.getvalue().decode("utf-8"))  # type: ignore[attr-defined]
    return code, texts[0], texts[1]


def one_line_error(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert "Traceback" not in err and "internal error" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("pgbridge: error: ")
    for needle in needles:
        assert needle in lines[0], lines[0]


def write(tmp_path: Path, doc: Doc | str) -> str:
    path = tmp_path / f"{uuid.uuid4().hex}.json"
    path.write_text(doc if isinstance(doc, str) else json.dumps(doc), encoding="utf-8")
    return str(path)


def agent(doc: Doc) -> Doc:
    return doc["catalog"]["pgagent"]  # type: ignore[no-any-return]


def job0(doc: Doc) -> Doc:
    return agent(doc)["jobs"][0]  # type: ignore[no-any-return]


def sched0(doc: Doc) -> Doc:
    return job0(doc)["schedules"][0]  # type: ignore[no-any-return]


Mutation = Callable[[Doc], object]


def put(doc: Doc, where: str, value: object) -> None:
    """Set the value at a dotted path below ``catalog`` ("pgagent.jobs.0.name")."""
    *parents, last = where.split(".")
    node: Any = doc["catalog"]
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    node[int(last) if isinstance(node, list) else last] = value


JOB, SCHED = "pgagent.jobs.0", "pgagent.jobs.0.schedules.0"
DEEP = json.loads("[" * 40 + "]" * 40)

#: (field, hostile value, the error that must name it)
REFUSED: list[tuple[str, object, str]] = [
    (
        f"{JOB}.steps.0.code",
        "SELECT 1\0; DROP TABLE t",
        r"\$\.catalog\.pgagent\.jobs\[0\]\.steps\[0\]\.code: contains a NUL",
    ),
    ("pgcron.jobs.0.command", "x\0", r"pgcron\.jobs\[0\]\.command: contains a NUL"),
    (f"{JOB}.name", "a\ud800b", r"jobs\[0\]\.name: contains a lone surrogate U\+D800"),
    ("pgagent.timezone", "UTC\x1b]0;owned\x07", r"pgagent\.timezone: control character U\+001B"),
    ("pgagent.server_version", "15.1\nx", r"pgagent\.server_version: control character U\+000A"),
    (f"{JOB}.id", 2**31, r"jobs\[0\]\.id: 2147483648 is outside -2147483648\.\.2147483647"),
    ("pgcron.jobs.0.id", 2**63, r"pgcron\.jobs\[0\]\.id: .* is outside"),
    (f"{SCHED}.start", "10000-01-01T00:00:00+00:00", r"start: .* has a year outside 1\.\.9999"),
    (f"{SCHED}.end", "9999-12-31T23:00:00-05:00", r"end: .* is outside years 1\.\.9999 in UTC"),
    (
        f"{SCHED}.exceptions.0.date",
        "0000-12-25",
        r"date: '0000-12-25' has a year outside 1\.\.9999",
    ),
    ("pgcron.binary_at_least", "banana", r"binary_at_least: 'banana' is not a pg_cron release"),
    (f"{JOB}.name", DEEP, r"jobs\[0\]\.name(\[0\])+: nested more than 32 levels"),
    (f"{JOB}.steps", {"a": 1}, r"jobs\[0\]\.steps: expected a list"),
]


@pytest.mark.parametrize(("where", "value", "message"), REFUSED)
def test_snapshot_refuses_what_postgresql_could_not_hold(
    valid_doc: Doc, where: str, value: object, message: str
) -> None:
    doc = copy.deepcopy(valid_doc)
    put(doc, where, value)
    with pytest.raises(SnapshotError, match=message):
        snapshot.loads(json.dumps(doc))


def test_snapshot_keeps_what_postgresql_can_hold(valid_doc: Doc) -> None:
    """Names may hold any character but NUL (quoted identifiers, text columns): kept as they are."""
    doc = copy.deepcopy(valid_doc)
    odd = "tab\there\nnewline \x1b[31mred\x1b[0m \u2028 \u202e é"
    job0(doc).update(name=odd)
    agent(doc).update(database=odd)
    sched0(doc).update(start="9999-12-31T00:00:00+00:00")
    catalog = snapshot.loads(json.dumps(doc))
    assert catalog.pgagent is not None
    assert (catalog.pgagent.jobs[0].name, catalog.pgagent.database) == (odd, odd)


def test_huge_and_deep_documents(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    deep = write(tmp_path, "[" * 100_000 + "]" * 100_000)
    for command in ("inventory", "plan", "export"):
        code, _, err = run_cli(command, "--snapshot", deep)
        one_line_error(code, err, "nested too deeply")
    monkeypatch.setattr(snapshot, "MAX_BYTES", 1000)
    big = write(tmp_path, json.dumps({"format": "pgbridge-snapshot", "pad": "x" * 2000}))
    code, _, err = run_cli("inventory", "--snapshot", big)
    one_line_error(code, err, "pgbridge reads snapshots up to 0 MiB")


def test_inputs_that_were_internal_errors(valid_doc: Doc, tmp_path: Path) -> None:
    """Each input the hardening sweep saw crash with exit 3: now one line, exit 2."""

    def variant(mutate: Mutation) -> str:
        doc = copy.deepcopy(valid_doc)
        mutate(doc)
        return write(tmp_path, doc)

    mars = variant(lambda d: agent(d).update(timezone="Mars/X"))
    assert run_cli("inventory", "--snapshot", mars)[0] == 0  # only shown: accepted
    code, _, err = run_cli("plan", "--snapshot", mars)
    one_line_error(code, err, "unknown pgAgent time zone 'Mars/X'", "--timezone")
    assert run_cli("plan", "--snapshot", mars, "--timezone", "UTC")[0] in (0, 1)

    surrogate = write(tmp_path, json.dumps(valid_doc).replace('"multi step 0"', '"\\udc80"'))
    for command in ("inventory", "plan", "export"):
        one_line_error(*run_cli(command, "--snapshot", surrogate)[::2], "lone surrogate")

    cron_zone = variant(
        lambda d: d["catalog"]["pgcron"].update(settings=[["cron.timezone", "X/Y"]])
    )
    one_line_error(*run_cli("plan", "--snapshot", cron_zone)[::2], "unknown cron.timezone 'X/Y'")
    one_line_error(
        *run_cli("export", "--snapshot", cron_zone, "--timezone", "UTC")[::2],
        "unknown cron.timezone 'X/Y'",
    )

    # A release newer than any pgbridge knows is planned with the newest known behaviour and one
    # finding (issue 11); it never refuses.
    newer = variant(lambda d: d["catalog"]["pgcron"].update(binary_at_least="7.0.0"))
    code, out, _ = run_cli("plan", "--snapshot", newer, "--format", "json")
    assert code in (0, 1) and out.count('"TARGET_RELEASE_NEWER"') == 1
    assert run_cli("plan", "--snapshot", newer, "--target-pg-cron", "1.6.5")[0] in (0, 1)
    below = variant(lambda d: d["catalog"]["pgcron"].update(binary_below="banana"))
    one_line_error(*run_cli("plan", "--snapshot", below)[::2], "unknown pg_cron release 'banana'")

    # An extension version that is no pg_cron version (a live server may report one too) gives
    # no release floor; it was "internal error: ValueError: not a pg_cron version", exit 3.
    for odd in ("banana", "1.6x"):
        weird = variant(lambda d: d["catalog"]["pgcron"].update(extension_version=odd))  # noqa: B023
        for command in ("plan", "export"):
            code, out, err = run_cli(command, "--snapshot", weird, "--timezone", "UTC")
            assert code in (0, 1) and "internal error" not in err, err
        assert run_cli("inventory", "--snapshot", weird)[0] == 0

    nothing = variant(lambda d: d["catalog"].update(pgagent=None))
    assert run_cli("inventory", "--snapshot", nothing)[0] == 0
    one_line_error(*run_cli("plan", "--snapshot", nothing)[::2], "no pgAgent catalog")

    ok = write(tmp_path, valid_doc)
    one_line_error(
        *run_cli("export", "--snapshot", ok, "--target-pg-cron", "banana")[::2],
        "unknown pg_cron release 'banana'",
    )
    one_line_error(
        *run_cli("export", "--snapshot", ok, "--timezone", "Mars/X")[::2],
        "unknown pgAgent time zone 'Mars/X'",
    )


def test_schedule_start_in_year_9999_is_a_finding(valid_doc: Doc, tmp_path: Path) -> None:
    doc = copy.deepcopy(valid_doc)
    sched0(doc).update(start="9999-06-01T00:00:00+00:00")
    code, out, err = run_cli("plan", "--snapshot", write(tmp_path, doc), "--format", "json")
    assert code == 1, err
    (job,) = [j for j in json.loads(out)["jobs"] if j["job_id"] == job0(doc)["id"]]
    found = {f["code"]: f for f in job["findings"]}
    assert found["SCHEDULE_START_OUT_OF_RANGE"]["schedule_id"] == sched0(doc)["id"]
    assert job["status"] == "manual"


def test_unparsable_pg_cron_schedule_is_a_finding(valid_doc: Doc, tmp_path: Path) -> None:
    """pg_cron itself never runs such a job (job_metadata.c zeroes the schedule): say so."""
    doc = copy.deepcopy(valid_doc)
    bad = {**CRON_SIDE["jobs"][0], "id": 8, "name": "broken", "schedule": "banana"}
    doc["catalog"]["pgcron"]["jobs"].append(bad)
    path = write(tmp_path, doc)
    code, out, err = run_cli("export", "--snapshot", path, "--timezone", "UTC", "--format", "json")
    assert code == 1, err
    jobs = {j["cron_jobs"][0]: j for j in json.loads(out)["plan"]["jobs"]}
    assert jobs[7]["status"] != "manual"
    assert [f["code"] for f in jobs[8]["findings"]] == ["EXPORT_SCHEDULE_INVALID"]
    assert jobs[8]["job"] is None
    code, out, _ = run_cli("export", "--snapshot", path, "--timezone", "UTC", "--format", "sql")
    assert "EXPORT_SCHEDULE_INVALID" in out and "'banana'" in out


# -- random mutations -------------------------------------------------------------------------

ODD_STRINGS = st.sampled_from(
    [
        "",
        "\0",
        "\ud800",
        "\x1b]0;title\x07",
        "\u2028",
        "9999-12-31T23:59:59-01:00",
        "0001-01-01T00:00:00+01:00",
        "10000-01-01",
        "banana",
        "1.99.0",
        "Mars/X",
        "UTC+3",
        "../../etc/passwd",
        "* * * * *",
        "$pgbridge$",
        "'; DROP TABLE x; --",
        "a" * 300,
    ]
)
ODD_VALUES = st.one_of(
    ODD_STRINGS,
    ODD_STRINGS,
    ODD_STRINGS,
    st.text(max_size=20),
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.just([]),
    st.just({}),
    st.lists(st.booleans(), max_size=70),
)


def _places(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path into a JSON document (dict keys, list indexes; bool arrays as one place)."""
    out = [path]
    if isinstance(value, dict):
        for k, v in value.items():
            out += _places(v, (*path, k))
    elif isinstance(value, list) and not all(isinstance(v, bool) for v in value):
        for i, v in enumerate(value):
            out += _places(v, (*path, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, doc: Doc) -> Doc:
    out = copy.deepcopy(doc)
    for _ in range(draw(st.integers(1, 3))):
        places = _places(out)[1:]
        path = draw(st.sampled_from(places))
        parent: Any = out
        for key in path[:-1]:
            parent = parent[key]
        last = path[-1]
        action = draw(st.sampled_from(["replace", "delete", "insert", "duplicate"]))
        if action == "replace":
            parent[last] = draw(ODD_VALUES)
        elif action == "delete":
            del parent[last]
        elif action == "insert" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["colour", "id", "name", ""]))] = draw(ODD_VALUES)
        elif action == "insert":
            parent.insert(last, draw(ODD_VALUES))
        elif isinstance(parent, list):
            parent.append(copy.deepcopy(parent[last]))
    return out


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data(), command=st.sampled_from(["inventory", "plan", "export", "plan-sql"]))
def test_random_mutations_never_crash(
    valid_doc: Doc, tmp_path: Path, data: st.DataObject, command: str
) -> None:
    doc = data.draw(mutated(valid_doc))
    path = write(tmp_path, json.dumps(doc))
    args = {
        "inventory": ["inventory"],
        "plan": ["plan", "--format", "json"],
        "plan-sql": ["plan", "--format", "sql"],
        "export": ["export", "--timezone", "UTC", "--format", "sql"],
    }[command]
    code, _, err = run_cli(*args, "--snapshot", path)
    assert code in (0, 1, 2), err
    assert "Traceback" not in err and "internal error" not in err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("odd", ["banana", "1.6x", ""])
def test_live_server_odd_extension_version_gives_no_floor(odd: str) -> None:
    """What read_pgcron passes on from a live server's pg_extension.extversion."""
    from bridge.catalog import release as pgcron_release

    evidence = pgcron_release.from_settings([], odd)
    assert evidence.low == (1, 0, 0)  # no floor from the version
    assert any("no pg_cron version" in fact for fact in evidence.facts)
    assert pgcron_release.choose("1.0.0", None, odd).release
