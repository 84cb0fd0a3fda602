"""Progress of long phases (issue 15): what a library caller's tracker is told, in order. Pure:
a catalog built in memory, written to a snapshot and planned from it."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from bridge import api
from bridge.catalog import snapshot as snapshot_file
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.target import Target
from bridge.progress import SILENT, tracked
from tests.exporter.test_export import cron, side_with
from tests.factories import catalog_of

DAILY = ScheduleSpec("daily 02:30", minutes=frozenset({30}), hours=frozenset({2}))
JOBS = 7


class Recorder:
    """A tracker that remembers every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, ...]] = []

    def start(self, phase: str, total: int | None = None, unit: str = "") -> None:
        self.calls.append(("start", phase, str(total), unit))

    def advance(self, count: int = 1) -> None:
        self.calls.append(("advance", str(count)))

    def finish(self) -> None:
        self.calls.append(("finish",))

    def phases(self) -> list[tuple[str, int]]:
        """(phase, items advanced) per phase, checking each phase starts, advances, finishes."""
        out: list[tuple[str, int]] = []
        open_phase: str | None = None
        for call in self.calls:
            if call[0] == "start":
                assert open_phase is None, f"{call[1]} started inside {open_phase}"
                open_phase = call[1]
                out.append((call[1], 0))
            elif call[0] == "advance":
                assert open_phase is not None, "advance outside a phase"
                out[-1] = (out[-1][0], out[-1][1] + int(call[1]))
            else:
                assert open_phase is not None, "finish without start"
                open_phase = None
        assert open_phase is None, f"{open_phase} never finished"
        return out


def catalog_file(tmp_path: Path, jobs: int = JOBS) -> Path:
    specs = [
        JobSpec(f"job {n}", [StepSpec("s", "SELECT 1", dbname="app")], [DAILY]) for n in range(jobs)
    ]
    path = tmp_path / "catalog.json"
    api.snapshot(catalog_of(*specs), path)
    return path


def cron_file(tmp_path: Path, jobs: int = JOBS) -> Path:
    """A snapshot whose pg_cron side holds ``jobs`` jobs (what export reads)."""
    side = side_with(*(cron(n, "30 2 * * *") for n in range(1, jobs + 1)))
    path = tmp_path / "cron.json"
    api.snapshot(catalog_of(pgcron=side), path)
    return path


def test_an_export_from_a_snapshot_reports_reading_decoding_and_each_job(tmp_path: Path) -> None:
    path = cron_file(tmp_path)
    recorder = Recorder()
    result = api.export(snapshot_path=path, timezone="UTC", tracker=recorder)
    assert recorder.phases() == [
        ("reading snapshot", -(-path.stat().st_size // snapshot_file.CHUNK)),
        ("decoding snapshot", 0),
        ("translating", JOBS),
    ]
    assert len(result.plan.jobs) == JOBS and not result.applied


def test_a_plan_from_a_snapshot_reports_reading_decoding_and_each_job(tmp_path: Path) -> None:
    path = catalog_file(tmp_path)
    recorder = Recorder()
    result = api.plan(snapshot=path, target=Target("1.6.7", "UTC", "postgres"), tracker=recorder,
                      today=dt.date(2026, 11, 21))  # fmt: skip
    megabytes = -(-path.stat().st_size // snapshot_file.CHUNK)
    assert recorder.phases() == [
        ("reading snapshot", megabytes),
        ("decoding snapshot", 0),
        ("planning", JOBS),
    ]
    starts = [c for c in recorder.calls if c[0] == "start"]
    assert starts[0] == ("start", "reading snapshot", str(megabytes), "MB")
    assert starts[1] == ("start", "decoding snapshot", "None", "")
    assert starts[2] == ("start", "planning", str(JOBS), "jobs")
    assert len(result.jobs) == JOBS


def test_a_big_snapshot_is_read_in_chunks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = catalog_file(tmp_path, 40)
    size = path.stat().st_size
    monkeypatch.setattr(snapshot_file, "CHUNK", 1000)
    recorder = Recorder()
    catalog = api.inventory(snapshot=path, tracker=recorder)
    assert size > 3000
    assert recorder.phases()[0] == ("reading snapshot", -(-size // 1000))
    assert catalog == api.inventory(snapshot=path)  # the same catalog, chunked or not


def test_tracked_finishes_the_phase_when_the_loop_fails() -> None:
    recorder = Recorder()

    def boom() -> None:
        for n in tracked(recorder, "planning", [1, 2, 3], 3, "jobs"):
            if n == 2:
                raise ValueError(n)

    with pytest.raises(ValueError, match="2"):
        boom()
    assert recorder.phases() == [("planning", 1)]
    assert recorder.calls[-1] == ("finish",)


def test_silent_is_the_default_and_does_nothing() -> None:
    assert list(tracked(SILENT, "planning", [1, 2], 2)) == [1, 2]


def test_a_fleet_reports_each_server_once_and_nothing_of_the_servers_inside() -> None:
    refused = "host=127.0.0.1 port=1 connect_timeout=2"
    recorder = Recorder()
    fleet = api.fleet([refused, refused, refused], "inventory", jobs=2, tracker=recorder)
    assert len(fleet.unreadable) == 3
    assert recorder.phases() == [("fleet", 3)]
