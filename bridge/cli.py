"""The ``pgbridge`` command: a thin click layer over :mod:`bridge.api`.

Every command calls one function of :mod:`bridge.api`, writes what it returns with
:func:`bridge.report.render`, and exits by one rule (:func:`_finish`): 1 when a finding reaches
``--fail-on`` (``error`` for the commands that write), 0 otherwise. Errors that pgbridge raises on
purpose (:class:`~bridge.errors.BridgeError`) become one line on stderr and exit code 2; anything
else is a bug, reported in one line too and exit code 3 (``--debug`` shows the traceback). Each
option is declared once, below, and listed by the commands that take it.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import sys
import time
import traceback
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO, TypeVar, cast

import click

from bridge import api
from bridge._version import __version__
from bridge.display import shown
from bridge.errors import BridgeError
from bridge.findings import Finding, reaches
from bridge.progress import SILENT, Progress
from bridge.report import Kind, TextOptions, render
from bridge.report.layout import DEFAULT_WIDTH

F = TypeVar("F", bound=Callable[..., Any])
Option = Callable[[Any], Any]

DSN_HELP = "conninfo string or URI (libpq rules; empty = the PG* environment)"

# -- every option, once ---------------------------------------------------------------------------
PGAGENT = click.option(
    "--pgagent", metavar="DSN", help=f"database holding pgAgent's catalog: {DSN_HELP}"
)
PGCRON = click.option(
    "--pgcron",
    metavar="DSN",
    help="database where pg_cron is installed (default: the --pgagent database)",
)
SNAPSHOT = click.option(
    "--snapshot",
    "snapshot_path",
    metavar="FILE",
    help="read pgAgent's catalog from a snapshot file instead of --pgagent",
)
TIMEZONE = click.option(
    "--timezone",
    metavar="ZONE",
    help="IANA zone pgAgent evaluates schedules in (default: detected from the server)",
)
AGENT_ROLE = click.option(
    "--agent-role",
    metavar="ROLE",
    help="pgAgent's login role, for its TimeZone setting when no agent is connected",
)
HISTORY_DAYS = click.option(
    "--history-days",
    type=click.IntRange(min=0),
    default=90,
    show_default=True,
    metavar="N",
    help="days of pgAgent's run log to summarise per job (0: do not read it)",
)
#: The pg_cron release a plan or an export is made for: one name in every command.
RELEASE = click.option(
    "--target-pg-cron",
    metavar="RELEASE",
    help="pg_cron release to plan for, e.g. 1.6.7 (default: detected from --pgcron)",
)
CRON_TIMEZONE = click.option("--cron-timezone", metavar="ZONE", help="cron.timezone of the target")
CRON_DATABASE = click.option(
    "--cron-database", metavar="NAME", help="cron.database_name of the target"
)
MODE = click.option(
    "--mode",
    type=click.Choice(["actual", "configured"]),
    default="actual",
    show_default=True,
    help="translate what pgAgent really ran (its bugs too), or what the schedule says",
)
DISABLED = click.option(
    "--disabled",
    type=click.Choice(["inactive", "skip"]),
    default="inactive",
    show_default=True,
    help="disabled jobs and schedules: create inactive pg_cron jobs, or leave them out",
)
SQL_PART_OF_MIXED = click.option(
    "--sql-part-of-mixed", is_flag=True, help="migrate the SQL steps of jobs with shell steps"
)
SPLIT_STEPS = click.option(
    "--split-steps", is_flag=True, help="give steps that cannot share a command own jobs"
)
NO_GUARDS = click.option(
    "--no-guards",
    is_flag=True,
    help="never guard a command with pgAgent's rule (entries as cron alone can say them)",
)
RUN_AS = click.option(
    "--run-as", metavar="ROLE", help="role the pg_cron jobs run as (default: the applier)"
)
JOBS = click.option("--job", "jobs", metavar="ID|NAME", multiple=True, help="only these jobs")
EXCLUDE = click.option("--exclude", metavar="ID|NAME", multiple=True, help="leave these jobs out")
WAIT_LOCK = click.option(
    "--wait-lock",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="wait this long for another pgbridge run to finish",
)
WAIT_RUNNING = click.option(
    "--wait-running",
    type=click.FloatRange(min=0),
    default=0.0,
    metavar="SECONDS",
    help="wait for jobs pgAgent is running right now before disabling them",
)
FAIL_ON = click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
    help="exit 1 when a finding reaches this severity",
)


FLEET = click.option(
    "--fleet",
    metavar="FILE",
    help="plan every server a file names (one connection string or service=NAME per line)",
)
PARALLEL = click.option(
    "--jobs",
    "parallel",
    type=click.IntRange(min=1),
    default=4,
    show_default=True,
    help="with --fleet: servers read at the same time",
)


WIDTH = click.option(
    "--width",
    type=click.IntRange(min=1),
    metavar="N",
    help=f"wrap text to N columns (default: the terminal's width; {DEFAULT_WIDTH} when piped)",
)
COLOR = click.option(
    "--color/--no-color",
    "color",
    default=None,
    help="colour text by severity (default: on a terminal unless NO_COLOR is set)",
)


def layout_options(
    verbose: str = "text: also the exact jobs and every info finding",
) -> tuple[Option, Option, Option]:
    """How a text report is laid out: decided here, from the terminal, and passed to the writers.
    ``verbose``: what ``-v`` adds to this command's text (the plan's wording by default)."""
    return (WIDTH, COLOR, click.option("-v", "--verbose", is_flag=True, help=verbose))


LAYOUT = layout_options()
#: ``-v`` on commands whose text it does not change: accepted (scripts written before it was
#: dropped from their help keep working), not offered.
NO_VERBOSE = click.option("-v", "--verbose", is_flag=True, hidden=True)
QUIET = click.option(
    "-q", "--quiet", is_flag=True, help="no progress on stderr (shown only on a terminal)"
)


def _layout(kw: dict[str, Any]) -> TextOptions:
    """Pop the layout options: the terminal decides what the user did not (stdout's width when it
    is a terminal, else 100 columns; colour only on a terminal, never with NO_COLOR)."""
    width, color, verbose = kw.pop("width"), kw.pop("color", False), kw.pop("verbose", False)
    tty = sys.stdout.isatty()
    if width is None:
        width = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns if tty else DEFAULT_WIDTH
    if color is None:
        color = tty and not os.environ.get("NO_COLOR")  # https://no-color.org: set and not empty
    return TextOptions(width=width, colour=color, verbose=verbose)


#: Seconds between two redraws of the progress line.
PROGRESS_INTERVAL = 0.2


class TerminalProgress:
    """Progress on a terminal: one line, the phase and its count, drawn when the phase starts,
    redrawn in place at most every :data:`PROGRESS_INTERVAL` seconds, and erased when it ends
    (stdout keeps the report; stderr is left as it was)."""

    def __init__(self, stream: TextIO, clock: Callable[[], float] = time.monotonic) -> None:
        self._stream, self._clock = stream, clock
        self._phase, self._unit, self._done = "", "", 0
        self._total: int | None = None
        self._drawn = 0.0
        self._shown = False

    def start(self, phase: str, total: int | None = None, unit: str = "") -> None:
        self._phase, self._unit, self._total, self._done = phase, unit, total, 0
        self._draw(self._clock())

    def advance(self, count: int = 1) -> None:
        self._done += count
        now = self._clock()
        if now - self._drawn >= PROGRESS_INTERVAL:
            self._draw(now)

    def finish(self) -> None:
        if self._shown:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
        self._shown = False

    def _draw(self, now: float) -> None:
        if self._total is None:
            count = "..."
        else:
            share = f" ({100 * self._done // self._total}%)" if self._total else ""
            count = f" {self._done}/{self._total} {self._unit}{share}".rstrip()
        line = f"pgbridge: {self._phase}{count}"[: shutil.get_terminal_size().columns - 1]
        self._stream.write(f"\r\x1b[K{line}")
        self._stream.flush()
        self._drawn, self._shown = now, True


def _is_terminal(stream: TextIO) -> bool:
    return stream.isatty()


def _tracker(ctx: click.Context, kw: dict[str, Any]) -> Progress:
    """Pop ``--quiet``: progress on stderr when it is a terminal, unless -q (here or before the
    command)."""
    quiet = kw.pop("quiet", False) or (ctx.obj or {}).get("quiet", False)
    stream = sys.stderr
    return SILENT if quiet or not _is_terminal(stream) else TerminalProgress(stream)


def format_option(*formats: str) -> Option:
    """``--format`` with the formats a command's report has (the first is the default)."""
    return click.option(
        "--format", "fmt", type=click.Choice(formats), default=formats[0], show_default=True
    )


def _with(*options: Option) -> Callable[[F], F]:
    """Apply click options in the order they are listed."""

    def decorate(func: F) -> F:
        out: Any = func
        for option in reversed(options):
            out = option(out)
        return cast(F, out)

    return decorate


SOURCE = (PGAGENT, PGCRON, SNAPSHOT, TIMEZONE, AGENT_ROLE, HISTORY_DAYS)
TARGET = (RELEASE, CRON_TIMEZONE, CRON_DATABASE)
PLANNING = (MODE, DISABLED, SQL_PART_OF_MIXED, SPLIT_STEPS, NO_GUARDS, RUN_AS)
LIVE = (PGAGENT, PGCRON, JOBS, EXCLUDE, WAIT_LOCK, format_option("text", "json"))


# -- one rule for every command -------------------------------------------------------------------
def _finish(
    ctx: click.Context,
    kind: Kind,
    fmt: str,
    result: Any,
    findings: Iterable[Finding],
    fail_on: str,
    layout: TextOptions | None = None,
) -> None:
    """Print ``result`` in ``fmt``; exit 1 when a finding reaches ``fail_on``."""
    # colour as decided (click would strip our codes in a pipe even when --color asks for them)
    colour = layout.colour if layout is not None else None
    click.echo(render(kind, fmt, result, layout), nl=False, color=colour)
    if reaches(findings, fail_on):
        ctx.exit(1)


def _run_findings(result: api.MigrationResult) -> list[Finding]:
    """What a writing run found, its verification included."""
    verified = result.verification.findings if result.verification is not None else ()
    return [*result.findings, *verified]


def _finish_fleet(ctx: click.Context, fmt: str, fleet: api.Fleet, fail_on: str) -> None:
    """A fleet report: exit 2 when a server could not be read, else the --fail-on rule."""
    if fmt == "sql":
        raise click.UsageError("--format sql is for one server: use text, json or markdown")
    click.echo(render("fleet", fmt, fleet), nl=False)
    missing = fleet.unreadable
    if missing:
        click.echo(
            f"pgbridge: error: {len(missing)} of {len(fleet.members)} servers could not be read "
            "(the report says why)",
            err=True,
        )
        ctx.exit(2)
    if reaches(fleet.severities(), fail_on):
        ctx.exit(1)


def _no_single_source(kw: dict[str, Any]) -> None:
    given = [f"--{n.replace('_path', '')}" for n in ("pgagent", "pgcron", "snapshot_path") if kw[n]]
    if given:
        raise click.UsageError(f"--fleet names the servers: leave out {', '.join(given)}")


def _plan_options(kw: dict[str, Any]) -> api.PlanOptions:
    """Pop the planning options out of ``kw``."""
    return api.PlanOptions(
        mode=kw.pop("mode"),
        disabled=kw.pop("disabled"),
        sql_part_of_mixed=kw.pop("sql_part_of_mixed"),
        split_steps=kw.pop("split_steps"),
        guards=not kw.pop("no_guards"),
        run_as=kw.pop("run_as"),
    )


def _inventory(kw: dict[str, Any], tracker: Progress) -> Any:
    return api.inventory(
        kw["pgagent"],
        kw["pgcron"],
        snapshot=kw["snapshot_path"],
        timezone=kw["timezone"],
        agent_role=kw["agent_role"],
        history_days=kw["history_days"],
        tracker=tracker,
    )


def _selection(kw: dict[str, Any], include_manual: bool = False) -> api.Selection:
    _disjoint(kw["jobs"], kw["exclude"])
    return api.Selection(tuple(kw.pop("jobs")), tuple(kw.pop("exclude")), include_manual)


def _disjoint(jobs: Sequence[str], exclude: Sequence[str]) -> None:
    both = sorted(set(jobs) & set(exclude))
    if both:
        raise click.UsageError(f"{', '.join(both)} given to both --job and --exclude")


def _say(message: str) -> None:
    """What a writing run waits for, on stderr (stdout holds the report)."""
    click.echo(f"pgbridge: {message}", err=True)


# -- commands -------------------------------------------------------------------------------------
@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks for errors")
@QUIET
@click.version_option(__version__, prog_name="pgbridge")
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool) -> None:
    """Move PostgreSQL scheduled jobs from pgAgent to pg_cron, and back.

    Connections are named by system: --pgagent is the database holding pgAgent's catalog, --pgcron
    the database where pg_cron is installed. Reading commands never change anything.
    """
    ctx.obj = {"debug": debug, "quiet": quiet}


@cli.command()
@_with(*SOURCE, FLEET, PARALLEL, format_option("text", "json", "markdown"), WIDTH, QUIET)
@click.pass_context
def inventory(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """List pgAgent's jobs, steps and schedules (in plain words), and the pg_cron side.

    With --fleet, every server the file names, and a roll-up (exit 2 if one could not be read).
    """
    layout, tracker = _layout(kw), _tracker(ctx, kw)
    if kw["fleet"]:
        _no_single_source(kw)
        servers = api.fleet_servers(kw["fleet"])
        result = api.fleet(
            servers,
            "inventory",
            jobs=kw["parallel"],
            timezone=kw["timezone"],
            agent_role=kw["agent_role"],
            tracker=tracker,
        )
        _finish_fleet(ctx, fmt, result, "never")
        return
    if fmt == "markdown":
        raise click.UsageError("--format markdown is for a --fleet inventory: use text or json")
    _finish(ctx, "inventory", fmt, _inventory(kw, tracker), (), "never", layout)


@cli.command()
@_with(*SOURCE, *TARGET, *PLANNING, FLEET, PARALLEL)
@_with(format_option("text", "json", "markdown", "sql"), FAIL_ON, *LAYOUT, QUIET)
@click.pass_context
def plan(ctx: click.Context, /, fmt: str, fail_on: str, **kw: Any) -> None:
    """Dry run: the pg_cron jobs a migration would create, and every behaviour change.

    With --fleet, every server the file names (--jobs at a time), one report and a roll-up.

    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or connection
    errors (with --fleet: a server that could not be read).
    """
    options = _plan_options(kw)
    layout, tracker = _layout(kw), _tracker(ctx, kw)
    if kw["fleet"]:
        _no_single_source(kw)
        result_fleet = api.fleet(
            api.fleet_servers(kw["fleet"]),
            "plan",
            options,
            jobs=kw["parallel"],
            timezone=kw["timezone"],
            agent_role=kw["agent_role"],
            target_release=kw["target_pg_cron"],
            cron_timezone=kw["cron_timezone"],
            cron_database=kw["cron_database"],
            tracker=tracker,
        )
        _finish_fleet(ctx, fmt, result_fleet, fail_on)
        return
    result = api.plan(
        None,
        None,
        options,
        pgagent=kw["pgagent"],
        pgcron=kw["pgcron"],
        snapshot=kw["snapshot_path"],
        timezone=kw["timezone"],
        agent_role=kw["agent_role"],
        target_release=kw["target_pg_cron"],
        cron_timezone=kw["cron_timezone"],
        cron_database=kw["cron_database"],
        history_days=kw["history_days"],
        tracker=tracker,
    )
    _finish(ctx, "plan", fmt, result, result.all_findings(), fail_on, layout)


@cli.command()
@_with(*LIVE)
@click.option("--apply", is_flag=True, help="carry the migration out (default: show it only)")
@click.option("--cutover", is_flag=True, help="create pg_cron jobs inactive; switch with activate")
@click.option("--include-manual", is_flag=True, help="also migrate jobs the plan marks manual")
@click.option(
    "--force", is_flag=True, help="overwrite pg_cron jobs edited by hand, take over names"
)
@_with(WAIT_RUNNING, RELEASE, *PLANNING, TIMEZONE, AGENT_ROLE)
@_with(*layout_options("dry run text: also every info finding of the jobs it would write"), QUIET)
@click.pass_context
def migrate(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """Migrate pgAgent jobs to pg_cron: a dry run unless --apply (which WRITES both databases).

    Creates the pg_cron jobs (and a ledger in schema pgbridge) in one transaction, then disables
    the migrated pgAgent jobs. Re-running changes nothing; after the source changes it updates the
    pg_cron jobs in place. Exit 1 when something could not be done or verification found drift.
    """
    if not kw["apply"]:
        given = [
            name
            for name, on in (
                ("--cutover", kw["cutover"]),
                ("--force", kw["force"]),
                ("--wait-lock", kw["wait_lock"]),
                ("--wait-running", kw["wait_running"]),
            )
            if on
        ]
        if given:
            raise click.UsageError(f"{', '.join(given)} only mean(s) something with --apply")
    selection = _selection(kw, kw.pop("include_manual"))
    options, layout, tracker = _plan_options(kw), _layout(kw), _tracker(ctx, kw)
    result = api.migrate(
        kw["pgagent"],
        kw["pgcron"],
        apply=kw["apply"],
        cutover=kw["cutover"],
        options=options,
        selection=selection,
        force=kw["force"],
        wait_lock=kw["wait_lock"],
        wait_running=kw["wait_running"],
        target_release=kw["target_pg_cron"],
        timezone=kw["timezone"],
        agent_role=kw["agent_role"],
        progress=_say,
        tracker=tracker,
    )
    _finish(ctx, "migrate", fmt, result, _run_findings(result), "error", layout)


@cli.command()
@_with(*LIVE, WAIT_RUNNING, WIDTH, COLOR, NO_VERBOSE, QUIET)
@click.pass_context
def activate(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """WRITES: switch jobs migrated with --cutover: pg_cron jobs on, pgAgent jobs off, together.

    Changes both databases (no dry run): activates the pg_cron jobs and disables the pgAgent jobs.
    """
    layout = _layout(kw)
    result = api.activate(
        kw["pgagent"],
        kw["pgcron"],
        selection=_selection(kw),
        wait_lock=kw["wait_lock"],
        wait_running=kw["wait_running"],
        progress=_say,
        tracker=_tracker(ctx, kw),
    )
    _finish(ctx, "activate", fmt, result, _run_findings(result), "error", layout)


@cli.command()
@_with(PGAGENT, PGCRON, format_option("text", "json", "markdown"), WIDTH, QUIET)
@click.option(
    "--runs", is_flag=True, help="also compare pg_cron's runs with the schedules' fire times"
)
@click.option(
    "--since",
    type=click.DateTime(["%Y-%m-%d", "%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M"]),
    metavar="UTC-TIME",
    help="with --runs: compare from this instant (UTC) instead of the migration",
)
@click.pass_context
def verify(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """Check that pg_cron and pgAgent still match what pgbridge applied; exit 1 on drift.

    With --runs, also check pg_cron's run log: exit 1 when a fire time was missed or a run failed.
    """
    if kw["since"] is not None and not kw["runs"]:
        raise click.UsageError("--since only means something with --runs")
    since = kw["since"].replace(tzinfo=dt.timezone.utc) if kw["since"] is not None else None
    layout, tracker = _layout(kw), _tracker(ctx, kw)
    result = api.verify(kw["pgagent"], kw["pgcron"], runs=kw["runs"], since=since, tracker=tracker)
    _finish(ctx, "verify", fmt, result, result.findings, "error", layout)


@cli.command()
@_with(*LIVE, WIDTH, COLOR, NO_VERBOSE, QUIET)
@click.pass_context
def rollback(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """WRITES: undo the migration: restore pgAgent jobs, remove the pg_cron jobs pgbridge made.

    Changes both databases (no dry run): re-enables the pgAgent jobs, unschedules the pg_cron
    jobs and removes their ledger entries.
    """
    layout = _layout(kw)
    result = api.rollback(
        kw["pgagent"],
        kw["pgcron"],
        selection=_selection(kw),
        wait_lock=kw["wait_lock"],
        progress=_say,
        tracker=_tracker(ctx, kw),
    )
    _finish(ctx, "rollback", fmt, result, _run_findings(result), "error", layout)


@cli.command(name="export")
@_with(PGCRON, SNAPSHOT, PGAGENT, TIMEZONE, RELEASE)
@click.option("--pg-cron-release", hidden=True, help="deprecated name of --target-pg-cron")
@_with(JOBS, EXCLUDE)
@click.option("--inactive", is_flag=True, help="create the pgAgent jobs disabled")
@click.option(
    "--apply", is_flag=True, help="WRITES: create the jobs in --pgagent (one transaction)"
)
@_with(format_option("text", "json", "sql"), FAIL_ON, WIDTH, QUIET)
@click.pass_context
def export_cmd(ctx: click.Context, /, fmt: str, fail_on: str, **kw: Any) -> None:
    """Reverse export: pg_cron jobs as pgAgent jobs (SQL script, JSON, or --apply).

    Reads only, unless --apply: then it WRITES the jobs into the --pgagent catalog, whose TimeZone
    is the zone of the schedules. --snapshot exports a snapshot's pg_cron jobs; --job and --exclude
    name pg_cron jobs.

    Jobs pgbridge migrated come back as their original pgAgent definition; others are translated
    (schedules exactly, as one or more pgAgent schedules). Re-exporting replaces earlier exports.
    """
    _disjoint(kw["jobs"], kw["exclude"])
    layout = _layout(kw)
    release = kw["target_pg_cron"]
    if kw["pg_cron_release"] is not None:
        _say("--pg-cron-release is deprecated: use --target-pg-cron")
        release = release or kw["pg_cron_release"]
    result = api.export(
        kw["pgcron"],
        pgagent=kw["pgagent"],
        snapshot_path=kw["snapshot_path"],
        apply=kw["apply"],
        timezone=kw["timezone"],
        release=release,
        inactive=kw["inactive"],
        select=tuple(kw["jobs"]),
        exclude=tuple(kw["exclude"]),
        tracker=_tracker(ctx, kw),
    )
    _finish(ctx, "export", fmt, result, result.plan.all_findings(), fail_on, layout)


@cli.command(name="snapshot")
@_with(*SOURCE, QUIET)
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    required=True,
    help="where to write the snapshot ('-' = stdout)",
)
@click.pass_context
def snapshot_cmd(ctx: click.Context, /, output: str, **kw: Any) -> None:
    """Write the whole catalog (both sides) to a JSON snapshot for offline work. No passwords."""
    catalog = _inventory(kw, _tracker(ctx, kw))
    text = api.snapshot(catalog, None if output == "-" else output)
    if text is not None:
        click.echo(text, nl=False)
        return
    jobs = len(catalog.pgagent.jobs) if catalog.pgagent else 0
    click.echo(f"wrote {output}: {jobs} pgAgent jobs", err=True)


@cli.group()
def report() -> None:
    """Work with JSON reports written earlier (by runs on other machines)."""


@report.command(name="merge")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@_with(format_option("text", "json", "markdown"), FAIL_ON)
@click.pass_context
def report_merge(ctx: click.Context, /, files: tuple[str, ...], fmt: str, fail_on: str) -> None:
    """Merge per-server JSON reports (plan, inventory or fleet) into one fleet report.

    Exit codes as plan --fleet: 2 when a merged fleet holds a server that was not read, else 1
    when a finding reaches --fail-on.
    """
    _finish_fleet(ctx, fmt, api.merge_reports(files), fail_on)


@cli.command()
@click.option(
    "--keep", is_flag=True, help="leave the demo cluster running and print how to reach it"
)
def demo(keep: bool) -> None:
    """Run pgbridge end to end against a throwaway cluster loaded with sample pgAgent jobs."""
    from bridge.devtools.demo import run_demo

    run_demo(keep=keep, echo=click.echo)


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``pgbridge`` console script; returns the exit code."""
    debug = "--debug" in (argv if argv is not None else sys.argv[1:])
    try:
        # Without standalone mode click returns ctx.exit()'s code instead of exiting.
        code = cli.main(args=argv, prog_name="pgbridge", standalone_mode=False)
        if isinstance(code, int):
            return code
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.exceptions.Abort:
        click.echo("pgbridge: aborted", err=True)
        return 130
    except BridgeError as exc:
        if debug:
            traceback.print_exc()
        click.echo(f"pgbridge: error: {shown(str(exc))}", err=True)
        return exc.exit_code
    except Exception as exc:  # a bug: still one line unless --debug
        if debug:
            traceback.print_exc()
        click.echo(
            f"pgbridge: internal error: {type(exc).__name__}: {shown(str(exc))} (rerun with "
            "--debug and report it)",
            err=True,
        )
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
