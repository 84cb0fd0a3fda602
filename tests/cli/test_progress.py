"""Progress on stderr (issue 15): drawn only when stderr is a terminal and not --quiet, redrawn at
most a few times a second, erased when a phase ends; stdout is the same report either way."""

from __future__ import annotations

import datetime as dt
import io
import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from bridge import api
from bridge import cli as cli_module
from bridge.cli import TerminalProgress, cli
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from tests.catalogs import Conn
from tests.test_progress import catalog_file, cron_file

ERASE = "\r\x1b[K"


def invoke(*args: str) -> tuple[bytes, str]:
    result = CliRunner().invoke(cli, list(args), prog_name="pgbridge")
    assert result.exit_code in (0, 1), result.output
    return result.stdout_bytes, result.stderr


@pytest.fixture
def snapshot(tmp_path: Path) -> str:
    return str(catalog_file(tmp_path, 12))


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    """stderr taken for a terminal (CliRunner's stream is not one)."""
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: True)


@pytest.mark.parametrize(
    "args",
    [("plan", "--target-pg-cron", "1.6.7"), ("inventory",)],
)
def test_a_terminal_shows_each_phase_and_stdout_does_not_change(
    snapshot: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    piped_out, piped_err = invoke(*args, "--snapshot", snapshot)
    assert piped_err == ""  # stderr is not a terminal: nothing
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: True)
    out, err = invoke(*args, "--snapshot", snapshot)
    assert out == piped_out
    assert "pgbridge: reading snapshot 0/1 MB (0%)" in err
    assert "pgbridge: decoding snapshot..." in err
    if args[0] == "plan":
        assert "pgbridge: planning 0/12 jobs (0%)" in err
    assert err.endswith(ERASE)  # the line is erased: nothing stays behind the report
    assert "\n" not in err


def test_export_shows_its_phases_and_stdout_does_not_change(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("export", "--snapshot", str(cron_file(tmp_path, 9)), "--timezone", "UTC")
    for fmt in ("text", "sql"):
        piped_out, piped_err = invoke(*args, "--format", fmt)
        assert piped_err == "" and piped_out
        with monkeypatch.context() as patched:
            patched.setattr(cli_module, "_is_terminal", lambda stream: True)
            out, err = invoke(*args, "--format", fmt)
            assert out == piped_out
            assert "pgbridge: reading snapshot 0/1 MB (0%)" in err
            assert "pgbridge: translating 0/9 jobs (0%)" in err
            assert err.endswith(ERASE) and "\n" not in err
            assert invoke(*args, "--format", fmt, "-q") == (piped_out, "")


def test_verify_runs_shows_its_phases_and_stdout_does_not_change(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    every = ScheduleSpec("every minute", minutes=frozenset(range(60)))
    for name in ("tick", "tock"):
        create_job(db, JobSpec(name, [StepSpec("s", "SELECT 1", dbname=db_name)], [every]))
    api.migrate(db_dsn, cron_dsn, apply=True)
    args = ("verify", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--runs")
    if dt.datetime.now().second > 50:  # the report names minutes: both runs in the same one
        time.sleep(61 - dt.datetime.now().second)
    piped_out, piped_err = invoke(*args)
    assert piped_err == "" and b"tick" in piped_out
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: True)
    out, err = invoke(*args)
    assert out == piped_out
    assert "pgbridge: reading pgAgent's run log..." in err
    assert "pgbridge: checking runs 0/2 jobs (0%)" in err
    assert err.endswith(ERASE) and "\n" not in err
    api.rollback(db_dsn, cron_dsn)


@pytest.mark.parametrize(
    "args",
    [
        ("plan", "-q"),
        ("plan", "--quiet"),
        ("-q", "plan"),
        ("--quiet", "inventory"),
        ("inventory", "-q"),
    ],
)
def test_quiet_silences_progress(
    snapshot: str, args: tuple[str, ...], monkeypatch: pytest.MonkeyPatch
) -> None:
    command = next(a for a in args if not a.startswith("-"))
    piped_out, _ = invoke(command, "--snapshot", snapshot)
    monkeypatch.setattr(cli_module, "_is_terminal", lambda stream: True)
    out, err = invoke(*args, "--snapshot", snapshot)
    assert err == ""
    assert out == piped_out


def test_redrawn_at_most_every_interval() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 0.001  # a thousand items a second
        return now[0]

    stream = io.StringIO()
    progress = TerminalProgress(stream, clock)
    progress.start("planning", 5000, "jobs")
    for _ in range(5000):
        progress.advance()
    progress.finish()
    draws = stream.getvalue().split(ERASE)
    # 5 s of work: the start, about 5 redraws a second, the erase
    assert 20 <= len(draws) - 2 <= 30, len(draws)
    assert draws[1] == "pgbridge: planning 0/5000 jobs (0%)"
    assert draws[-1] == ""
    assert all(len(d) < 80 for d in draws)


def on_pty(args: list[str]) -> tuple[int, bytes, bytes]:
    """Run ``args`` with stderr on a pseudo-terminal and stdout piped: exit code, stdout, and
    everything the terminal received."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.run(
            args, stdout=subprocess.PIPE, stderr=slave, stdin=subprocess.DEVNULL,
            check=False, timeout=120,
        )  # fmt: skip
        os.close(slave)
        err = b""
        while True:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the other end is closed and everything was read
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
    return proc.returncode, proc.stdout, err


def test_a_real_terminal_gets_progress_and_a_pipe_the_same_report(snapshot: str) -> None:
    """As a user runs it: stderr on a pseudo-terminal, stdout piped."""
    args = [sys.executable, "-m", "bridge", "plan", "--snapshot", snapshot, "--format", "json"]
    piped = subprocess.run(args, capture_output=True, check=False, timeout=120)
    assert piped.stderr == b""
    code, out, err = on_pty(args)
    assert code == piped.returncode
    assert out == piped.stdout
    text = err.decode()
    assert "pgbridge: reading snapshot" in text and "pgbridge: planning" in text
    assert text.endswith(ERASE)
    assert on_pty([*args, "--quiet"]) == (piped.returncode, piped.stdout, b"")
