"""One CLI: every command's help lists exactly what it accepts, one name per setting, and options
that mean nothing in a combination are refused instead of ignored."""

from __future__ import annotations

import re
import socket
from typing import Any

import click
import pytest
from click.testing import CliRunner

from bridge.cli import cli, main


def run(*args: str, env: dict[str, str] | None = None) -> Result:
    """The command in this process (faster than a subprocess per help page)."""
    return Result(CliRunner().invoke(cli, list(args), env=env, prog_name="pgbridge"))


class Result:
    def __init__(self, result: Any) -> None:
        self.returncode = result.exit_code
        self.stdout = result.stdout
        self.stderr = result.stderr


COMMANDS = sorted(cli.commands)
WRITING = {"activate": "WRITES", "rollback": "WRITES", "export": "WRITES", "migrate": "WRITES"}


def listed(command: str) -> set[str]:
    """The option names a command's --help shows."""
    proc = run(command, "--help")
    assert proc.returncode == 0, proc.stderr
    options = proc.stdout.split("Options:", 1)[1]
    return set(re.findall(r"(?m)^\s+(?:-\w, )?(--[a-z][a-z-]*)", options))


def accepted(command: str) -> dict[str, click.Option]:
    """The options a command declares and does not hide."""
    cmd = cli.commands[command]
    return {
        opt: p
        for p in cmd.params
        if isinstance(p, click.Option) and not p.hidden
        for opt in p.opts
        if opt.startswith("--")
    }


def sample(option: click.Option) -> list[str]:
    """A value the option's type accepts (nothing for flags)."""
    if option.is_flag:
        return []
    if isinstance(option.type, click.Choice):
        return [str(option.type.choices[0])]
    if isinstance(option.type, click.FloatRange | click.IntRange | click.types.FloatParamType):
        return ["1"]
    if isinstance(option.type, click.DateTime):
        return ["2026-01-01"]
    return ["x"]


@pytest.mark.parametrize("command", COMMANDS)
def test_help_matches_what_the_command_accepts(command: str) -> None:
    options = accepted(command)
    assert listed(command) == set(options) | {"--help"}
    cmd = cli.commands[command]
    required = [a for p in cmd.params if p.required for a in (p.opts[-1], "-")]
    for name, option in options.items():  # each listed option parses
        args = [name, *sample(option), *required]
        ctx = cmd.make_context(command, args, resilient_parsing=False)
        assert ctx.params[option.name or ""] not in (None, ())


@pytest.mark.parametrize("command", COMMANDS)
def test_one_name_per_setting_and_writers_say_so(command: str) -> None:
    shown = listed(command)
    assert "--pg-cron-release" not in shown  # the release is --target-pg-cron everywhere
    if command in ("plan", "migrate", "export"):
        assert "--target-pg-cron" in shown
    if command == "migrate":  # it reads cron.timezone and cron.database_name from --pgcron
        assert not shown & {"--cron-timezone", "--cron-database"}
    help_text = run(command, "--help").stdout
    if command in WRITING:
        assert WRITING[command] in help_text
    else:
        assert "WRITES" not in help_text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("migrate", "--cutover"), "--cutover"),
        (("migrate", "--force"), "--force"),
        (("migrate", "--wait-running", "5"), "--wait-running"),
        (("migrate", "--wait-lock", "-5", "--apply"), "-5"),
        (("activate", "--wait-running", "-1"), "-1"),
        (("rollback", "--job", "1", "--exclude", "1"), "both --job and --exclude"),
        (("migrate", "--job", "a", "--exclude", "a"), "both --job and --exclude"),
        (("export", "--job", "a", "--exclude", "a"), "both --job and --exclude"),
        (("export", "--snapshot", "s.json", "--pgcron", "host=x"), "replaces --pgcron"),
        (("migrate", "--cron-timezone", "UTC"), "No such option"),
    ],
)
def test_meaningless_combinations_are_refused(
    args: tuple[str, ...],
    needle: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for var, value in {"PGCONNECT_TIMEOUT": "1", "PGHOST": "127.0.0.1", "PGPORT": "1"}.items():
        monkeypatch.setenv(var, value)
    code = main(list(args))
    err = capsys.readouterr().err
    assert code == 2, err
    assert needle in err and "Traceback" not in err
    assert "cannot connect" not in err  # refused before connecting


def test_old_release_option_still_works_with_a_warning(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["export", "--pg-cron-release", "1.6.7", "--snapshot", "/nonexistent.json"])
    assert "--pg-cron-release is deprecated: use --target-pg-cron" in capsys.readouterr().err


def test_connection_errors_name_host_and_port_from_the_environment(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # bound, not listening: refused
        monkeypatch.setenv("PGHOST", "127.0.0.1")
        monkeypatch.setenv("PGPORT", str(port))
        assert main(["inventory"]) == 2
    err = capsys.readouterr().err
    assert f"cannot connect to 127.0.0.1:{port}/" in err


VERBOSE = [("plan", True), ("migrate", True), ("activate", False), ("rollback", False)]


@pytest.mark.parametrize(("command", "offered"), VERBOSE)
def test_verbose_is_offered_only_where_it_changes_the_text(command: str, offered: bool) -> None:
    assert ("--verbose" in accepted(command)) is offered


@pytest.mark.parametrize("command", ["activate", "rollback"])
def test_verbose_is_still_accepted_where_it_changes_nothing(command: str) -> None:
    proc = run(command, "-v", "--help")  # an unknown option is refused before --help is shown
    assert proc.returncode == 0, proc.stderr
    assert "--verbose" not in proc.stdout
