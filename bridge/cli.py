"""The ``pgbridge`` command: a thin click layer over the library functions.

Every command calls one library function and prints what it returns. Errors that pgbridge raises on
purpose (:class:`~bridge.errors.BridgeError`) become one line on stderr and exit code 2; anything
else is a bug, reported in one line too (``--debug`` shows the traceback).
"""

from __future__ import annotations

import json
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import Any, TypeVar, cast

import click

from bridge._version import __version__
from bridge.catalog import snapshot
from bridge.catalog.load import load_catalog
from bridge.display import shown
from bridge.errors import BridgeError
from bridge.model import Catalog

F = TypeVar("F", bound=Callable[..., Any])

DSN_HELP = "conninfo string or URI (libpq rules; empty = the PG* environment)"


def _with(func: F, options: Sequence[Callable[[Any], Any]]) -> F:
    """Apply click option decorators in the order they are listed."""
    out: Any = func
    for option in reversed(options):
        out = option(out)
    return cast(F, out)


def source_options(func: F) -> F:
    """``--pgagent`` / ``--pgcron`` / ``--snapshot`` / ``--timezone`` / ``--agent-role``."""
    options = [
        click.option(
            "--pgagent",
            metavar="DSN",
            help=f"database holding pgAgent's catalog: {DSN_HELP}",
        ),
        click.option(
            "--pgcron",
            metavar="DSN",
            help="database where pg_cron is installed (default: the --pgagent database)",
        ),
        click.option(
            "--snapshot",
            "snapshot_path",
            metavar="FILE",
            help="read pgAgent's catalog from a snapshot file instead of --pgagent",
        ),
        click.option(
            "--timezone",
            metavar="ZONE",
            help="IANA zone pgAgent evaluates schedules in (default: detected from the server)",
        ),
        click.option(
            "--agent-role",
            metavar="ROLE",
            help="pgAgent's login role, for its TimeZone setting when no agent is connected",
        ),
    ]
    return _with(func, options)


def _load(**kwargs: Any) -> Catalog:
    return load_catalog(
        kwargs["pgagent"],
        kwargs["pgcron"],
        snapshot_path=kwargs["snapshot_path"],
        timezone=kwargs["timezone"],
        agent_role=kwargs["agent_role"],
    )


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--debug", is_flag=True, help="show tracebacks for errors")
@click.version_option(__version__, prog_name="pgbridge")
@click.pass_context
def cli(ctx: click.Context, debug: bool) -> None:
    """Move PostgreSQL scheduled jobs from pgAgent to pg_cron, and back.

    Connections are named by system: --pgagent is the database holding pgAgent's catalog, --pgcron
    the database where pg_cron is installed. Reading commands never change anything.
    """
    ctx.obj = {"debug": debug}


@cli.command()
@source_options
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
def inventory(fmt: str, **source: Any) -> None:
    """List pgAgent's jobs, steps and schedules (in plain words), and the pg_cron side."""
    from bridge.report.inventory import inventory_json, inventory_text

    catalog = _load(**source)
    if fmt == "json":
        click.echo(json.dumps(inventory_json(catalog), indent=2, ensure_ascii=False))
    else:
        click.echo(inventory_text(catalog), nl=False)


#: The pg_cron release a plan or an export is made for: one name in every command.
RELEASE_OPTION = click.option(
    "--target-pg-cron",
    metavar="RELEASE",
    help="pg_cron release to plan for, e.g. 1.6.7 (default: detected from --pgcron)",
)


def target_options(func: F) -> F:
    """``--target-pg-cron`` / ``--cron-timezone`` / ``--cron-database``: a declared target."""
    options = [
        RELEASE_OPTION,
        click.option("--cron-timezone", metavar="ZONE", help="cron.timezone of the target"),
        click.option("--cron-database", metavar="NAME", help="cron.database_name of the target"),
    ]
    return _with(func, options)


def plan_options(func: F) -> F:
    """The planning choices shared by ``plan`` and ``migrate``."""
    options = [
        click.option(
            "--mode",
            type=click.Choice(["actual", "configured"]),
            default="actual",
            show_default=True,
            help="translate what pgAgent really ran (its bugs too), or what the schedule says",
        ),
        click.option(
            "--disabled",
            type=click.Choice(["inactive", "skip"]),
            default="inactive",
            show_default=True,
            help="disabled jobs and schedules: create inactive pg_cron jobs, or leave them out",
        ),
        click.option(
            "--sql-part-of-mixed",
            is_flag=True,
            help="migrate the SQL steps of jobs with shell steps",
        ),
        click.option(
            "--split-steps", is_flag=True, help="give steps that cannot share a command own jobs"
        ),
        click.option(
            "--run-as", metavar="ROLE", help="role the pg_cron jobs run as (default: the applier)"
        ),
    ]
    return _with(func, options)


def _plan_options(kw: dict[str, Any]) -> Any:
    """Pop the :func:`plan_options` values out of ``kw`` into a PlanOptions."""
    from bridge.planner.types import PlanOptions

    return PlanOptions(
        mode=kw.pop("mode"),
        disabled=kw.pop("disabled"),
        sql_part_of_mixed=kw.pop("sql_part_of_mixed"),
        split_steps=kw.pop("split_steps"),
        run_as=kw.pop("run_as"),
    )


@cli.command()
@source_options
@target_options
@plan_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json", "markdown", "sql"]),
    default="text",
    show_default=True,
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
    help="exit 1 when a finding reaches this severity",
)
@click.pass_context
def plan(ctx: click.Context, /, fmt: str, fail_on: str, **kw: Any) -> None:
    """Dry run: the pg_cron jobs a migration would create, and every behaviour change.

    Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 usage or connection
    errors.
    """
    from bridge.api import plan as make
    from bridge.findings import reaches
    from bridge.report.plan import plan_json_text, plan_markdown, plan_sql, plan_text

    options = _plan_options(kw)
    result = make(
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
    )
    render = {"text": plan_text, "json": plan_json_text, "markdown": plan_markdown, "sql": plan_sql}
    click.echo(render[fmt](result), nl=False)
    if reaches(result.all_findings(), fail_on):
        ctx.exit(1)


def live_options(func: F) -> F:
    """``--pgagent`` / ``--pgcron`` (live servers only) and the selection of jobs."""
    options = [
        click.option(
            "--pgagent", metavar="DSN", help=f"database holding pgAgent's catalog: {DSN_HELP}"
        ),
        click.option(
            "--pgcron",
            metavar="DSN",
            help="database where pg_cron is installed (default: the --pgagent database)",
        ),
        click.option(
            "--job", "jobs", metavar="ID|NAME", multiple=True, help="only these pgAgent jobs"
        ),
        click.option("--exclude", metavar="ID|NAME", multiple=True, help="leave these jobs out"),
        click.option(
            "--wait-lock",
            type=click.FloatRange(min=0),
            default=0.0,
            metavar="SECONDS",
            help="wait this long for another pgbridge run to finish",
        ),
        click.option(
            "--format",
            "fmt",
            type=click.Choice(["text", "json"]),
            default="text",
            show_default=True,
        ),
    ]
    return _with(func, options)


def _selection(kw: dict[str, Any], include_manual: bool = False) -> Any:
    from bridge.apply.selection import Selection

    _disjoint(kw["jobs"], kw["exclude"])
    return Selection(tuple(kw.pop("jobs")), tuple(kw.pop("exclude")), include_manual)


def _disjoint(jobs: Sequence[str], exclude: Sequence[str]) -> None:
    both = sorted(set(jobs) & set(exclude))
    if both:
        raise click.UsageError(f"{', '.join(both)} given to both --job and --exclude")


def _say(message: str) -> None:
    """What a writing run waits for, on stderr (stdout holds the report)."""
    click.echo(f"pgbridge: {message}", err=True)


def _report_run(ctx: click.Context, result: Any, what: str, fmt: str) -> None:
    from bridge.report.migration import run_json, run_text

    click.echo(run_json(result) if fmt == "json" else run_text(result, what), nl=False)
    failed = any(f.severity.value == "error" for f in result.findings)
    if result.verification is not None and not result.verification.ok:
        failed = True
    if failed:
        ctx.exit(1)


@cli.command()
@live_options
@click.option("--apply", is_flag=True, help="carry the migration out (default: show it only)")
@click.option("--cutover", is_flag=True, help="create pg_cron jobs inactive; switch with activate")
@click.option("--include-manual", is_flag=True, help="also migrate jobs the plan marks manual")
@click.option(
    "--force", is_flag=True, help="overwrite pg_cron jobs edited by hand, take over names"
)
@click.option(
    "--wait-running", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
    help="wait for jobs pgAgent is running right now before disabling them",
)  # fmt: skip
@RELEASE_OPTION
@plan_options
@click.option("--timezone", metavar="ZONE", help="IANA zone pgAgent evaluates schedules in")
@click.option("--agent-role", metavar="ROLE", help="pgAgent's login role (for its TimeZone)")
@click.pass_context
def migrate(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """Migrate pgAgent jobs to pg_cron: a dry run unless --apply (which WRITES both databases).

    Creates the pg_cron jobs (and a ledger in schema pgbridge) in one transaction, then disables
    the migrated pgAgent jobs. Re-running changes nothing; after the source changes it updates the
    pg_cron jobs in place. Exit 1 when something could not be done or verification found drift.
    """
    from bridge.api import migrate as run

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
    options = _plan_options(kw)
    result = run(
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
    )
    _report_run(ctx, result, "migrate", fmt)


@cli.command()
@live_options
@click.option(
    "--wait-running", type=click.FloatRange(min=0), default=0.0, metavar="SECONDS",
    help="wait for jobs pgAgent is running right now",
)  # fmt: skip
@click.pass_context
def activate(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """WRITES: switch jobs migrated with --cutover: pg_cron jobs on, pgAgent jobs off, together.

    Changes both databases (no dry run): activates the pg_cron jobs and disables the pgAgent jobs.
    """
    from bridge.api import activate as run

    result = run(
        kw["pgagent"],
        kw["pgcron"],
        selection=_selection(kw),
        wait_lock=kw["wait_lock"],
        wait_running=kw["wait_running"],
        progress=_say,
    )
    _report_run(ctx, result, "activate", fmt)


@cli.command()
@click.option("--pgagent", metavar="DSN", help=f"database holding pgAgent's catalog: {DSN_HELP}")
@click.option("--pgcron", metavar="DSN", help="database where pg_cron is installed")
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text")
@click.pass_context
def verify(ctx: click.Context, /, fmt: str, pgagent: str | None, pgcron: str | None) -> None:
    """Check that pg_cron and pgAgent still match what pgbridge applied; exit 1 on drift."""
    from bridge.api import verify as run
    from bridge.report.migration import verification_json, verification_lines

    result = run(pgagent, pgcron)
    if fmt == "json":
        click.echo(verification_json(result), nl=False)
    else:
        click.echo("\n".join(verification_lines(result)))
    if not result.ok:
        ctx.exit(1)


@cli.command()
@live_options
@click.pass_context
def rollback(ctx: click.Context, /, fmt: str, **kw: Any) -> None:
    """WRITES: undo the migration: restore pgAgent jobs, remove the pg_cron jobs pgbridge made.

    Changes both databases (no dry run): re-enables the pgAgent jobs, unschedules the pg_cron
    jobs and removes their ledger entries.
    """
    from bridge.api import rollback as run

    result = run(
        kw["pgagent"],
        kw["pgcron"],
        selection=_selection(kw),
        wait_lock=kw["wait_lock"],
        progress=_say,
    )
    _report_run(ctx, result, "rollback", fmt)


@cli.command(name="export")
@click.option("--pgcron", metavar="DSN", help=f"database where pg_cron is installed: {DSN_HELP}")
@click.option(
    "--snapshot", "snapshot_path", metavar="FILE", help="export a snapshot's pg_cron jobs"
)
@click.option(
    "--pgagent",
    metavar="DSN",
    help="pgAgent catalog to write into (--apply); its TimeZone is the schedules' zone",
)
@click.option("--timezone", metavar="ZONE", help="zone the pgAgent agent evaluates schedules in")
@RELEASE_OPTION
@click.option("--pg-cron-release", hidden=True, help="deprecated name of --target-pg-cron")
@click.option("--job", "jobs", metavar="ID|NAME", multiple=True, help="only these pg_cron jobs")
@click.option("--exclude", metavar="ID|NAME", multiple=True, help="leave these pg_cron jobs out")
@click.option("--inactive", is_flag=True, help="create the pgAgent jobs disabled")
@click.option(
    "--apply", is_flag=True, help="WRITES: create the jobs in --pgagent (one transaction)"
)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json", "sql"]), default="text", show_default=True
)
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning", "info", "never"]),
    default="error",
    show_default=True,
)
@click.pass_context
def export_cmd(ctx: click.Context, /, fmt: str, fail_on: str, **kw: Any) -> None:
    """Reverse export: pg_cron jobs as pgAgent jobs (SQL script, JSON, or --apply).

    Reads only, unless --apply: then it WRITES the jobs into the --pgagent catalog.

    Jobs pgbridge migrated come back as their original pgAgent definition; others are translated
    (schedules exactly, as one or more pgAgent schedules). Re-exporting replaces earlier exports.
    """
    from bridge.exporter.writer import export
    from bridge.findings import reaches
    from bridge.report.export import export_json, export_sql, export_text

    _disjoint(kw["jobs"], kw["exclude"])
    release = kw["target_pg_cron"]
    if kw["pg_cron_release"] is not None:
        _say("--pg-cron-release is deprecated: use --target-pg-cron")
        release = release or kw["pg_cron_release"]
    result = export(
        kw["pgcron"],
        pgagent=kw["pgagent"],
        snapshot_path=kw["snapshot_path"],
        apply=kw["apply"],
        timezone=kw["timezone"],
        release=release,
        inactive=kw["inactive"],
        select=tuple(kw["jobs"]),
        exclude=tuple(kw["exclude"]),
    )
    if fmt == "json":
        click.echo(export_json(result), nl=False)
    elif fmt == "sql":
        click.echo(export_sql(result.plan), nl=False)
    else:
        click.echo(export_text(result), nl=False)
    if reaches(result.plan.all_findings(), fail_on):
        ctx.exit(1)


@cli.command(name="snapshot")
@source_options
@click.option(
    "-o",
    "--output",
    metavar="FILE",
    required=True,
    help="where to write the snapshot ('-' = stdout)",
)
def snapshot_cmd(output: str, **source: Any) -> None:
    """Write the whole catalog (both sides) to a JSON snapshot for offline work. No passwords."""
    catalog = _load(**source)
    if output == "-":
        click.echo(snapshot.dumps(catalog), nl=False)
        return
    snapshot.save(catalog, output)
    jobs = len(catalog.pgagent.jobs) if catalog.pgagent else 0
    click.echo(f"wrote {output}: {jobs} pgAgent jobs", err=True)


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
