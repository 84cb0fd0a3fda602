"""The commands tests run as a user would: ``pgbridge`` itself, and psql on SQL pgbridge wrote."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg
import pytest

from bridge.planner.types import Plan
from bridge.report.plan import plan_sql


def run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
        timeout=120,
        check=False,
    )


@dataclass(frozen=True)
class PsqlResult:
    """What psql did: its exit status and its output (decoded, never failing on bad bytes)."""

    returncode: int
    stdout: str
    stderr: str


def run_psql(
    dsn: str,
    *,
    script: str | bytes | None = None,
    command: str | None = None,
    stop_on_error: bool = False,
    env: Mapping[str, str] | None = None,
) -> PsqlResult:
    """Run ``script`` (on stdin, as ``psql -f -``) or one ``command`` (``psql -c``, sent as one
    simple query, as pg_cron sends a job's command) the way a DBA would."""
    args = [shutil.which("psql") or "psql", "-X", "-q", "-d", dsn]
    if stop_on_error:
        args += ["-v", "ON_ERROR_STOP=1"]
    args += ["-c", command] if command is not None else ["-f", "-"]
    data = script.encode() if isinstance(script, str) else script
    proc = subprocess.run(
        args, input=data, capture_output=True, env={**os.environ, **(env or {})}, check=False
    )
    return PsqlResult(
        proc.returncode,
        proc.stdout.decode(errors="replace"),
        proc.stderr.decode(errors="replace"),
    )


def apply_with_psql(plan: Plan, cron_dsn: str) -> None:
    """Run the plan's SQL script with psql, as a DBA would; fail with psql's message."""
    proc = run_psql(cron_dsn, script=plan_sql(plan), stop_on_error=True)
    assert proc.returncode == 0, proc.stderr


@contextmanager
def pgagent_daemon(dsn: str) -> Iterator[subprocess.Popen[str]]:
    """The real pgAgent daemon polling the catalog at ``dsn`` (every 2 s), stopped afterwards and
    its registration removed, so the next test's catalog sees no agent."""
    daemon = shutil.which("pgagent")
    if daemon is None:
        pytest.fail("the pgagent daemon is not installed (Debian package pgagent)")
    agent = subprocess.Popen(
        [daemon, "-f", "-l", "1", "-t", "2", dsn],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield agent
    finally:
        agent.terminate()
        try:
            agent.communicate(timeout=10)  # also closes the pipe
        except subprocess.TimeoutExpired:
            agent.kill()
            agent.communicate()
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("DELETE FROM pgagent.pga_jobagent")
