"""The text of migrate / activate / rollback runs (issue 15): the dry run is the review before
``--apply``, so it names every selected job and every pg_cron job it would write.

Pure: a plan made in memory (``tests/factories.py``), wrapped in the :class:`MigrationResult` a dry
run returns, written by :func:`bridge.report.render` with explicit options; the CLI's layout
options are checked through click's own parser.
"""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from bridge.apply.results import Change, MigrationResult
from bridge.apply.selection import Selection, select
from bridge.cli import cli
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec
from bridge.planner.build import make_plan
from bridge.planner.types import Plan
from bridge.report import render
from bridge.report.layout import TextOptions
from tests.factories import catalog_of
from tests.report.test_plan_text import TARGET, TODAY, sections, specs, sql


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(catalog_of(*specs()), TARGET, today=TODAY)


def flat(text: str) -> str:
    """The text with its wrapping undone: a sentence reads the same at any width."""
    return " ".join(text.split())


def dry(plan: Plan, *statuses: str) -> MigrationResult:
    ids = tuple(j.job_id for j in plan.jobs if j.status in statuses)
    return MigrationResult(plan=plan, applied=False, selected=ids)


def test_a_dry_run_names_every_selected_exact_job_and_its_pg_cron_jobs(plan: Plan) -> None:
    result = dry(plan, "exact")
    exact = [j for j in plan.jobs if j.status == "exact"]
    assert len(exact) == 3 and all(j.cron_jobs for j in exact)
    text = render("migrate", "text", result)
    assert set(sections(text)) == {j.job_id for j in exact}  # the selected, not the others
    for job in exact:
        assert f"[EXACT] job {job.job_id}:" in text
        assert all(f"-> {c.name}: " in text for c in job.cron_jobs)
    crons = sum(len(j.cron_jobs) for j in exact)
    assert f"would create or update {crons} pg_cron jobs for 3 pgAgent jobs" in flat(text)
    assert "Not shown: 2 pgAgent jobs not selected" in flat(text)
    assert "exact job" not in text.split("Not shown:")[1]  # no "-v shows the exact jobs"


def test_one_selected_job_is_said_in_the_singular(plan: Plan) -> None:
    (job,) = [j for j in plan.jobs if j.job_name == "exact one"]
    result = MigrationResult(plan=plan, applied=False, selected=(job.job_id,))
    text = render("migrate", "text", result)
    (cron,) = job.cron_jobs
    assert f"-> {cron.name}: " in text
    words = flat(text)
    assert f"would create or update 1 pg_cron job for 1 pgAgent job ({job.job_id})." in words
    assert "1 pg_cron jobs" not in words and "1 pgAgent jobs" not in words


def test_nothing_selected_says_none(plan: Plan) -> None:
    text = render("migrate", "text", MigrationResult(plan=plan, applied=False))
    assert "would create or update 0 pg_cron jobs for 0 pgAgent jobs (none)." in flat(text)
    assert not sections(text)


@pytest.mark.parametrize("width", [40, 60, 100])
def test_a_dry_run_wraps_to_the_width(plan: Plan, width: int) -> None:
    text = render("migrate", "text", dry(plan, "exact", "changed"), TextOptions(width=width))
    assert max(len(line) for line in text.splitlines()) <= width
    assert "\x1b" not in text


def test_verbose_adds_the_info_findings_of_the_selected_jobs(plan: Plan) -> None:
    result = dry(plan, "exact", "changed", "manual")
    plain = render("migrate", "text", result)
    verbose = render("migrate", "text", result, TextOptions(verbose=True))
    infos = {f.code for j in plan.jobs for f in j.findings if f.severity.value == "info"}
    assert infos and len(verbose) > len(plain)
    if "info finding" in plain:
        assert "(-v shows them)" in flat(plain) and "info finding" not in verbose


def test_a_manual_job_says_whether_the_dry_run_creates_it() -> None:
    """The manual job's line follows --include-manual (selected by the real selection rule)."""
    undecidable = ScheduleSpec(  # day 15 and Tuesday: pgAgent ANDs, pg_cron ORs; VACUUM: no guard
        "15th if Tuesday", minutes=frozenset({0}), hours=frozenset({7}),
        weekdays=frozenset({2}), monthdays=frozenset({15}),
    )  # fmt: skip
    plan = make_plan(
        catalog_of(JobSpec("v", [sql("v", "VACUUM")], [undecidable])), TARGET, today=TODAY
    )
    (job,) = plan.jobs
    assert job.status == "manual" and job.cron_jobs
    said = "(manual: not created unless asked)"
    creates = "(manual: --apply creates it, as --include-manual asks)"
    asked = [j.job_id for j in select(plan, Selection(include_manual=True))]
    text = flat(render("migrate", "text", MigrationResult(plan, False, selected=tuple(asked))))
    assert asked == [job.job_id] and creates in text and said not in text
    assert "would create or update 1 pg_cron job for 1 pgAgent job" in text
    unasked = tuple(j.job_id for j in select(plan, Selection()))
    text = flat(render("migrate", "text", MigrationResult(plan, False, selected=unasked)))
    assert unasked == () and creates not in text and said not in text  # not listed at all
    assert "would create or update 0 pg_cron jobs" in text and "1 pgAgent job not selected" in text
    assert said in flat(render("plan", "text", plan)) and creates not in flat(
        render("plan", "text", plan)
    )


def test_an_applied_run_wraps_too() -> None:
    detail = "a long detail " * 12
    result = MigrationResult(
        plan=None, applied=True, changes=(Change("create", 7, "pgagent-7-x", detail.strip()),)
    )
    text = render("rollback", "text", result, TextOptions(width=50))
    assert text.startswith("rollback: 1 pg_cron job created\n")
    assert max(len(line) for line in text.splitlines()) <= 50
    assert "create: pgAgent job 7 pgagent-7-x" in text


@pytest.mark.parametrize(
    ("command", "shown"),
    [
        ("migrate", ("--width N", "--color / --no-color", "-v, --verbose")),
        # their text has nothing -v would add: not offered, still accepted (hidden)
        ("activate", ("--width N", "--color / --no-color")),
        ("rollback", ("--width N", "--color / --no-color")),
    ],
)
def test_run_commands_take_the_layout_options_their_text_mentions(
    command: str, shown: tuple[str, ...]
) -> None:
    out = CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
    for option in shown:
        assert option in out, out
    assert ("--verbose" in out) is ("-v, --verbose" in shown)
    # -v, --width, --color parse (only the bogus option is refused)
    bad = CliRunner().invoke(cli, [command, "-v", "--width", "60", "--no-color", "--bogus"])
    assert bad.exit_code == 2 and "No such option '--bogus'" in bad.output


def test_migrate_says_what_its_own_verbose_adds() -> None:
    """-v on a dry run adds the selected jobs' info findings (it lists exact jobs anyway)."""
    (plan, migrate) = (
        CliRunner().invoke(cli, [command, "--help"], terminal_width=200).output
        for command in ("plan", "migrate")
    )
    own = "-v, --verbose dry run text: also every info finding of the jobs it would write"
    plans = "text: also the exact jobs and every info finding"
    assert own in " ".join(migrate.split()) and plans not in migrate
    assert plans in plan
