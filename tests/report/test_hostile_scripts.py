"""Scripts never run what is not in a step; reports never pass control sequences to a terminal.

Hostile text (NUL, CR, LF, U+2028, backslashes, ``*/``, ``$tag$``, psql's ``\\!``) goes into
names, databases and commands; the scripts pgbridge writes are run with the real psql, and the
server's own log (``log_statement = all`` for that session) must show exactly the intended
statements, while the rows created hold every value byte for byte.
"""

from __future__ import annotations

import html
import os
import pty
import re
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from bridge.api import plan as make_plan
from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec, job_sql
from bridge.exporter.translate import make_export, replace_sql, writable
from bridge.model import CronJob, PgCronSide
from bridge.pg.quoting import code, comment, dollar_quote, literal
from bridge.planner.calls import create_statement
from bridge.report.export import export_sql
from tests.catalogs import Conn
from tests.commands import run_psql
from tests.fix_db import TestServer

PWNED = Path(f"/tmp/pgbridge-pwned-{uuid.uuid4().hex[:8]}")
SHELL = f"\\! touch {PWNED}"

#: Each is dangerous somewhere: in a comment, a literal, a dollar quote, or on a terminal.
HOSTILE = [
    f"x\n{SHELL}\n",
    f"x\r{SHELL}\r",
    f"x\u2028{SHELL}",
    "a */ b /* c",
    "$pgbridge$ $pgbridge1$ $s1_$ $step$",
    "it's \\' \\\\ '' \\",
    "\x1b]0;pwned\x07\x1b[2J\x9b31m",
    f"'); DROP TABLE canary; {SHELL} --",
    "\x85 \u2029 \u202e \t end $",
]
#: Step code: valid SQL carrying the same sequences inside strings and comments.
CODES = [
    f"SELECT $x$\n{SHELL}\n$x$, 'a */ b', $$ $pgbridge$ $$; -- {SHELL}\u2028 */\n",
    f"SELECT 'it''s \\' AS a; /* {SHELL} */ SELECT E'\\\\'\r\n",
    f"SELECT 1; -- lone CR ends this comment\rSELECT '{SHELL}';",
    "SELECT '\x1b]0;pwned\x07' -- ends in a tag's prefix: $pgbridge",
]


@pytest.fixture(autouse=True)
def no_shell() -> Iterator[None]:
    PWNED.unlink(missing_ok=True)
    yield
    assert not PWNED.exists(), "a psql meta-command from the data ran"


def test_the_three_writers_refuse_nul_and_keep_lines() -> None:
    for text in (*HOSTILE, *CODES):
        line = comment(text)
        assert "\n" not in line and "\r" not in line and line.isprintable()
        quoted = literal(text)
        assert quoted.isprintable()  # one line, no control character
        assert "\n" not in quoted
        assert code(text).replace("\n", "").replace("\t", "").isprintable()
    for writer in (literal, dollar_quote, code):
        with pytest.raises(ValueError, match="NUL"):
            writer("a\0b")
    assert comment("a\0b") == "-- a\\x00b"


def test_literals_and_code_round_trip_through_the_server(db: Conn) -> None:
    db.execute("SET standard_conforming_strings = on")
    for text in (*HOSTILE, *CODES):
        for quoted in (literal(text), code(text), dollar_quote(text)):
            row = db.execute(f"SELECT {quoted}".encode()).fetchone()
            assert row == (text,), quoted


# -- the server's log ---------------------------------------------------------------------------


def _log_text(server: TestServer) -> str:
    if server.log_file is not None:
        return server.log_file.read_text(encoding="utf-8", errors="replace")
    with server.connect("postgres") as conn:
        row = conn.execute("SELECT pg_read_file(pg_current_logfile())").fetchone()
    if row is None or row[0] is None:
        pytest.skip("the server's log cannot be read (no logging_collector)")
    return str(row[0])


def statements(log: str) -> list[str]:
    """The ``statement:`` entries of a stderr-format log (continuation lines start with a tab)."""
    out: list[str] = []
    current: list[str] | None = None
    for line in log.split("\n"):
        if line.startswith("\t") and current is not None:
            current.append(line[1:])
            continue
        if current is not None:
            out.append("\n".join(current))
            current = None
        if "LOG:  statement: " in line:
            current = [line.split("LOG:  statement: ", 1)[1]]
    if current is not None:
        out.append("\n".join(current))
    return out


def run_script(server: TestServer, dsn: str, script: str) -> list[str]:
    """Run ``script`` with psql, logging every statement; returns the statements the server got."""
    before = len(_log_text(server))
    proc = run_psql(
        dsn, script=script, env={"PGOPTIONS": "-c log_statement=all", "PGCLIENTENCODING": "SJIS"}
    )
    assert proc.returncode == 0, proc.stderr
    return statements(_log_text(server)[before:])


HEAD = ["set client_encoding to 'UTF8'", "SET standard_conforming_strings = on;", "BEGIN;"]


@pytest.fixture
def hostile_db(pg_server: TestServer) -> Iterator[str]:
    """A real database whose name holds a line break and a psql meta-command."""
    name = f"db\n{SHELL[:40]}\r*/"
    quoted = '"' + name.replace('"', '""') + '"'
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {quoted}".encode())
    try:
        yield name
    finally:
        with pg_server.connect("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {quoted} WITH (FORCE)".encode())


def test_plan_script_runs_only_the_planned_calls(
    pg_server: TestServer, db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn, hostile_db: str
) -> None:
    yearly = ScheduleSpec(HOSTILE[0], minutes=frozenset({17}), hours=frozenset({3}),
                          monthdays=frozenset({1}), months=frozenset({1}))  # fmt: skip
    for n, text in enumerate(HOSTILE):
        steps = [StepSpec(text, CODES[n % len(CODES)], dbname=hostile_db)]
        if n % 3 == 0:  # several steps: one DO block with a comment per step
            steps.append(StepSpec(HOSTILE[-1 - n], CODES[(n + 1) % len(CODES)], dbname=hostile_db))
        create_job(db, JobSpec(text, steps, [ScheduleSpec(text, **_fields(yearly))]))
    plan = make_plan(pgagent=db_dsn, pgcron=cron_dsn)
    created = [c for j in plan.jobs if j.status in ("exact", "changed") for c in j.cron_jobs]
    assert len(created) == len(HOSTILE)  # every job is planned, none is manual
    script = subprocess.run(
        [sys.executable, "-m", "bridge", "plan", "--pgagent", db_dsn, "--pgcron", cron_dsn,
         "--format", "sql", "--fail-on", "never"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    got = run_script(pg_server, cron_dsn, script)
    assert got == [*HEAD, *(create_statement(c, plan.target) for c in created), "COMMIT;"]
    rows = cron_db.execute(
        "SELECT jobname, command, database FROM cron.job WHERE jobname = ANY(%s)",
        [[c.name for c in created]],
    ).fetchall()
    assert sorted(rows) == sorted((c.name, c.command, c.database) for c in created)
    assert {c.database for c in created} == {hostile_db}
    singles = {c.command for c in created if not c.wrapped}
    assert singles <= set(CODES) and len(singles) >= 3  # byte for byte


def _fields(spec: ScheduleSpec) -> dict[str, object]:
    return {k: getattr(spec, k) for k in ("minutes", "hours", "monthdays", "months")}


def test_export_script_runs_only_the_exported_jobs(
    pg_server: TestServer, db: Conn, db_dsn: str, hostile_db: str
) -> None:
    jobs = [
        CronJob(100 + n, text, "17 3 1 1 *", CODES[n % len(CODES)], "localhost", 5432,
                hostile_db, "postgres", True)
        for n, text in enumerate(HOSTILE)
    ]  # fmt: skip
    side = PgCronSide(hostile_db, "1.4", True, "1.4.2", jobs=tuple(jobs))
    plan = make_export(side, agent_zone="UTC")
    exported = [j for j in plan.jobs if writable(j)]
    assert len(exported) == len(HOSTILE)
    script = export_sql(plan)
    assert script.splitlines()[0] == "\\encoding UTF8"
    got = run_script(pg_server, db_dsn, script)
    body = [
        s for j in exported for s in (replace_sql(j), job_sql(j.job, skip_taken_exceptions=True))
    ]  # type: ignore[arg-type]
    assert got == [*HEAD, *body, "COMMIT;"]
    rows = db.execute(
        "SELECT j.jobname, s.jstcode, s.jstdbname FROM pgagent.pga_job j "
        "JOIN pgagent.pga_jobstep s ON s.jstjobid = j.jobid"
    ).fetchall()
    assert sorted(rows) == sorted((c.name, c.command, hostile_db) for c in jobs)


# -- terminal output ---------------------------------------------------------------------------

CONTROLS = ["\x1b]0;pwned title\x07", "\x1b[2J", "\x9b31m", "\x07", "\x08", "\r", "\x7f"]


def _raw_controls(text: str) -> set[str]:
    return {ch for ch in text if not ch.isprintable() and ch != "\n"}


#: The only escape sequences pgbridge writes itself: the severity colours, on a terminal.
OUR_COLOURS = re.compile("\x1b\\[(?:31|33|36|0)m")


def _on_a_terminal(args: list[str], env: dict[str, str] | None = None) -> str:
    """Run pgbridge with stdout on a pseudo-terminal; returns what the terminal received."""
    leader, follower = pty.openpty()
    chunks = []
    with subprocess.Popen(
        [sys.executable, "-m", "bridge", *args], stdout=follower, stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})},
    ) as proc:  # fmt: skip
        os.close(follower)
        while True:
            try:
                data = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not data:
                break
            chunks.append(data)
        os.close(leader)
        assert proc.stderr is not None
        err = proc.stderr.read()
        assert proc.wait(timeout=120) in (0, 1), err
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def test_reports_show_control_sequences_escaped(db: Conn, db_dsn: str, cron_dsn: str) -> None:
    name = "job " + " ".join(CONTROLS)
    create_job(db, JobSpec(name, [StepSpec("step" + CONTROLS[0], "SELECT 1", dbname="x")],
                           [ScheduleSpec("sched" + CONTROLS[1], minutes=frozenset({5}))]))  # fmt: skip
    shown = "job \\x1b]0;pwned title\\x07 \\x1b[2J \\x9b31m \\x07 \\x08 \\r \\x7f"
    for args in (
        ["inventory", "--pgagent", db_dsn],
        ["plan", "--pgagent", db_dsn, "--pgcron", cron_dsn],
        ["plan", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--format", "markdown"],
        ["plan", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--format", "sql"],
    ):
        piped = subprocess.run(
            [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, check=False
        )
        assert piped.returncode in (0, 1), piped.stderr
        coloured = _on_a_terminal(args)
        no_color = _on_a_terminal(args, {"NO_COLOR": "1"})
        # on a terminal the text report colours severities (ours, after escaping), nothing else
        terminal = OUR_COLOURS.sub("", coloured)
        assert (terminal != coloured) == (args[0] == "plan" and "--format" not in args), args
        for out in (piped.stdout, terminal, no_color):
            assert _raw_controls(out) == set(), args
            # Markdown writes markup characters (backslash, brackets) as character references
            assert shown in (html.unescape(out) if "markdown" in args else out) or "sql" in args
        assert piped.stdout == terminal == no_color
    side = PgCronSide("postgres", "1.4", True, "1.4.2", jobs=(
        CronJob(1, name, "0 1 * * *", "SELECT 1", "localhost", 5432, "postgres", "postgres", True),
    ))  # fmt: skip
    from bridge.exporter.translate import ExportResult
    from bridge.report.export import export_text

    text = export_text(ExportResult(make_export(side, agent_zone="UTC"), False))
    assert _raw_controls(text) == set() and shown in text
