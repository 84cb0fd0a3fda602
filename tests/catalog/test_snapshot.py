"""Snapshots: the same catalog offline, no passwords, and clear errors for bad files."""

from __future__ import annotations

import contextlib
import json
import os
import threading
import tracemalloc
from pathlib import Path

import psycopg
import pytest

from bridge.catalog import snapshot
from bridge.catalog.load import load_catalog, read_catalog
from bridge.errors import SnapshotError, UsageError
from tests.catalogs import SECRET, Conn, build_catalog
from tests.test_progress import Recorder, catalog_file


def with_password(dsn: str) -> str:
    params = psycopg.conninfo.conninfo_to_dict(dsn)
    params["password"] = SECRET  # the test cluster trusts loopback, so any password works
    return psycopg.conninfo.make_conninfo("", **params)


def test_round_trip_is_identical(db: Conn, db_dsn: str, cron_dsn: str, tmp_path: Path) -> None:
    build_catalog(db, copies=3)
    live = read_catalog(db_dsn, cron_dsn)
    path = tmp_path / "jobs.json"
    snapshot.save(live, path)
    offline = load_catalog(snapshot_path=path)
    assert offline == live
    assert offline.pgagent is not None and len(offline.pgagent.jobs) == 6


def test_snapshot_never_holds_a_password(db: Conn, db_dsn: str, tmp_path: Path) -> None:
    build_catalog(db)
    catalog = read_catalog(with_password(db_dsn))
    text = snapshot.dumps(catalog)
    assert SECRET not in text
    assert "********" in text  # both the origin DSN and the step's jstconnstr were masked
    assert SECRET not in catalog.origin


def test_timezone_override_applies_to_snapshots(db: Conn, db_dsn: str, tmp_path: Path) -> None:
    build_catalog(db)
    path = tmp_path / "s.json"
    snapshot.save(read_catalog(db_dsn), path)
    catalog = load_catalog(snapshot_path=path, timezone="Europe/Berlin")
    assert catalog.pgagent is not None
    assert (catalog.pgagent.timezone, catalog.pgagent.timezone_source) == (
        "Europe/Berlin",
        "override (--timezone)",
    )
    with pytest.raises(UsageError, match="replaces --pgagent"):
        load_catalog(db_dsn, snapshot_path=path)


def _doc(db: Conn, db_dsn: str) -> dict[str, object]:
    build_catalog(db)
    return json.loads(snapshot.dumps(read_catalog(db_dsn)))  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d.update(version=99), "format version 99"),
        (lambda d: d.update(format="other"), "is not a pgbridge snapshot"),
        (lambda d: d["catalog"]["pgagent"]["jobs"][0].update(enabled="yes"), r"jobs\[0\]\.enabled"),
        (
            lambda d: d["catalog"]["pgagent"]["jobs"][0]["schedules"][0].update(start="soon"),
            "not an ISO datetime",
        ),
        (lambda d: d["catalog"]["pgagent"].pop("timezone"), r"pgagent\.timezone: missing"),
        (lambda d: d["catalog"]["pgagent"]["jobs"][0].update(colour=1), "unknown field"),
        (lambda d: d.update(version=True), "format version True"),
        (
            lambda d: d["catalog"]["pgagent"]["jobs"][0]["schedules"][0].update(minutes=[True]),
            r"schedules\[0\]\.minutes: 1 values, expected 60",
        ),
        (
            lambda d: d["catalog"]["pgagent"]["jobs"][0]["schedules"][0].update(
                start="2024-01-01T00:00:00"
            ),
            "has no UTC offset",
        ),
    ],
)
def test_malformed_snapshot_is_one_clear_error(
    db: Conn, db_dsn: str, tmp_path: Path, mutate: object, message: str
) -> None:
    doc = _doc(db, db_dsn)
    mutate(doc)  # type: ignore[operator]
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    with pytest.raises(SnapshotError, match=message):
        snapshot.load(path)


def test_unreadable_snapshot_files(tmp_path: Path) -> None:
    with pytest.raises(SnapshotError, match="does not exist"):
        snapshot.load(tmp_path / "missing.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with pytest.raises(SnapshotError, match=r"not valid JSON \(line 1"):
        snapshot.load(bad)
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00")
    with pytest.raises(SnapshotError, match="cannot read snapshot"):
        snapshot.load(binary)


def test_hand_edited_secrets_are_masked_on_load(db: Conn, db_dsn: str, tmp_path: Path) -> None:
    doc = _doc(db, db_dsn)
    doc["catalog"]["pgagent"]["jobs"][0]["steps"][0]["connstr"] = f"host=x password={SECRET}"  # type: ignore[index]
    doc["catalog"]["origin"] = f"postgresql://u:{SECRET}@h/db"  # type: ignore[index]
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    catalog = snapshot.load(path)
    assert catalog.pgagent is not None
    assert SECRET not in repr(catalog)
    assert "password=********" in catalog.pgagent.jobs[0].steps[0].connstr


def test_reading_holds_the_file_about_twice(tmp_path: Path) -> None:
    """One buffer of the file's size and its text, the text let go once parsed (before: the
    chunks, their join and the bytes kept through parsing, 3.7 times the file)."""
    path = catalog_file(tmp_path, jobs=300)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        catalog = snapshot.load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert catalog.pgagent is not None and len(catalog.pgagent.jobs) == 300
    assert peak < 2.25 * size, f"{peak / size:.2f} times the file"


class Editor(Recorder):
    """Progress that edits the file after its first megabyte (``CHUNK``) is read."""

    def __init__(self, path: Path, edit: str) -> None:
        super().__init__()
        self.path, self.edit = path, edit

    def advance(self, count: int = 1) -> None:
        super().advance(count)
        if self.edit == "grow":
            with self.path.open("a", encoding="utf-8") as file:
                file.write(" ")
        else:
            os.truncate(self.path, self.path.stat().st_size // 2)
        self.edit = ""


@pytest.mark.parametrize("edit", ["grow", "shrink"])
def test_a_file_changed_while_read_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, edit: str
) -> None:
    path = catalog_file(tmp_path)
    monkeypatch.setattr(snapshot, "CHUNK", 100)
    editor = Editor(path, edit)
    with pytest.raises(SnapshotError, match="changed while it was read: read it again"):
        snapshot.load(path, editor)
    assert editor.phases()[0][0] == "reading snapshot"  # and the phase was finished


def test_a_snapshot_from_a_pipe_loads_like_the_file(tmp_path: Path) -> None:
    """A FIFO (``<(zcat snap.json.gz)``, ``/dev/stdin``) has no size: it is read until it ends."""
    path = catalog_file(tmp_path, jobs=40)
    fifo = tmp_path / "snap.fifo"
    os.mkfifo(fifo)
    writer = threading.Thread(target=lambda: fifo.write_bytes(path.read_bytes()))
    writer.start()
    try:
        piped = snapshot.load(fifo)
    finally:
        writer.join(timeout=30)
    assert piped == snapshot.load(path)
    assert piped.pgagent is not None and len(piped.pgagent.jobs) == 40


def test_a_pipe_past_the_size_limit_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = catalog_file(tmp_path, jobs=40)
    monkeypatch.setattr(snapshot, "MAX_BYTES", path.stat().st_size // 2)
    fifo = tmp_path / "snap.fifo"
    os.mkfifo(fifo)

    def write() -> None:
        with contextlib.suppress(BrokenPipeError):
            fifo.write_bytes(path.read_bytes())

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with pytest.raises(SnapshotError, match="snapshot"):
            snapshot.load(fifo)
    finally:
        writer.join(timeout=30)
