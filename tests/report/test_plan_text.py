"""The plan's text and Markdown reports (issue 15): decisions first, width, colour, the calendar.

Pure: catalogs built in memory (``tests/factories.py``), planned for a declared target, written
with explicit :class:`~bridge.report.layout.TextOptions`; the CLI's choice of options from the
terminal is tested on a snapshot at the end.
"""

from __future__ import annotations

import datetime as dt
import html
import json
import re
from pathlib import Path

import pytest

from bridge import api
from bridge.cli import main
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.build import make_plan
from bridge.planner.target import Target
from bridge.planner.types import Plan
from bridge.report.layout import TextOptions, plural, wrap_report
from bridge.report.plan import plan_json, plan_json_text, plan_markdown, plan_text
from bridge.schedule import AgentSchedule, agent_fires_at, cron_fires_at, parse_cron
from bridge.schedule.equivalence import check_equivalence
from tests.factories import catalog_of

fs = frozenset
TODAY = dt.date(2026, 11, 21)
TARGET = Target("1.6.7", "UTC", "postgres")
DAILY = ScheduleSpec("daily 02:30", minutes=fs({30}), hours=fs({2}))
HOLIDAYS = ScheduleSpec(
    "weekdays 07:00", minutes=fs({0}), hours=fs({7}), weekdays=fs(range(1, 6)),
    exceptions=((dt.date(2026, 12, 25), None), (dt.date(2027, 1, 1), None)),
)  # fmt: skip
HOSTILE = "nightly <script>|*bold* [x](y) \x1b[31mred `tick` _u_ & \\"
ESC = re.compile("\x1b")
OUR_COLOURS = re.compile("\x1b\\[(?:31|33|36|0)m")


def sql(name: str, code: str = "SELECT 1") -> StepSpec:
    return StepSpec(name, code, dbname="app")


def specs() -> list[JobSpec]:
    """Exact jobs, a changed one whose fire times change (VACUUM cannot be guarded, its holidays
    stay in pg_cron), a manual one (a shell step), a long hostile name."""
    return [
        JobSpec("exact one", [sql("a")], [DAILY]),
        JobSpec("exact two", [sql("a"), sql("b", "SELECT 2")], [DAILY]),
        JobSpec("vacuum on weekdays", [sql("v", "VACUUM")], [HOLIDAYS]),
        JobSpec("shell", [StepSpec("sh", "echo hi", kind="b")], [DAILY]),
        JobSpec(HOSTILE * 3, [sql("a")], [DAILY]),
    ]


@pytest.fixture(scope="module")
def plan() -> Plan:
    return make_plan(catalog_of(*specs()), TARGET, today=TODAY)


def sections(text: str) -> dict[int, str]:
    """Each job's section of a text report, by job id."""
    out = {}
    for block in text.split("\n\n"):
        found = re.match(r"\[(?:EXACT|CHANGED|MANUAL|SKIPPED)\] job (\d+):", block)
        if found:
            out[int(found.group(1))] = block
    return out


@pytest.mark.parametrize("width", [40, 57, 80, 100, 132])
@pytest.mark.parametrize("verbose", [False, True])
def test_no_line_exceeds_the_width(plan: Plan, width: int, verbose: bool) -> None:
    text = plan_text(plan, TextOptions(width=width, verbose=verbose))
    assert max(len(line) for line in text.splitlines()) <= width
    assert not ESC.search(text)  # no colour asked: no escape code, the hostile name escaped


def test_a_width_below_the_minimum_is_the_minimum(plan: Plan) -> None:
    assert plan_text(plan, TextOptions(width=5)) == plan_text(plan, TextOptions(width=40))


def test_colour_by_severity_only_when_asked(plan: Plan) -> None:
    plain = plan_text(plan, TextOptions(verbose=True))
    coloured = plan_text(plan, TextOptions(colour=True, verbose=True))
    assert "\x1b[31merror\x1b[0m" in coloured and "\x1b[36minfo\x1b[0m" in coloured
    assert "\x1b[31m[MANUAL]\x1b[0m" in coloured and "\x1b[33m[CHANGED]\x1b[0m" in coloured
    # the hostile name's ESC [31m is shown escaped; every escape code is one of ours
    assert OUR_COLOURS.sub("", coloured) == plain
    assert "\\x1b[31mred" in plain


@pytest.mark.parametrize(
    ("jobs", "words"),
    [
        (1, ("1 pgAgent job:", "1 pg_cron job to create", "1 exact job,")),
        (2, ("2 pgAgent jobs:", "2 pg_cron jobs to create", "2 exact jobs,")),
    ],
)
def test_plurals(jobs: int, words: tuple[str, ...]) -> None:
    few = make_plan(catalog_of(*specs()[:jobs]), TARGET, today=TODAY)
    text = plan_text(few)
    assert all(w in text for w in words), text
    assert "1 pgAgent jobs" not in text and "1 pg_cron jobs" not in text
    assert plural(1, "run") == "1 run" and plural(0, "run") == "0 runs"


def test_decisions_lead_and_exact_jobs_take_no_line(plan: Plan) -> None:
    text = plan_text(plan)
    head = text.partition("\n[")[0]
    assert head.splitlines()[0].startswith("5 pgAgent jobs: ")
    assert "Decisions needed: " in head and "STEP_BATCH" in head and "first jobs" in head
    jobs = sections(text)
    statuses = {j.job_id: j.status for j in plan.jobs}
    assert set(jobs) == {i for i, s in statuses.items() if s in ("manual", "changed")}
    assert "[EXACT]" not in text and "Not shown: 3 exact jobs" in text
    verbose = plan_text(plan, TextOptions(verbose=True))
    assert set(sections(verbose)) == set(statuses)


def test_a_finding_on_every_job_is_said_once(plan: Plan) -> None:
    (applier,) = {f.message for f in plan.all_findings() if f.code == "ROLE_APPLIER"}
    assert sum(f.code == "ROLE_APPLIER" for f in plan.all_findings()) > 1
    for verbose in (False, True):
        text = plan_text(plan, TextOptions(width=1000, verbose=verbose))
        assert text.count(applier) == 1
        summary = text.partition("Decisions needed")[0]
        assert "ROLE_APPLIER (every job with a pg_cron job" in summary


def test_remedy_has_its_own_indented_line(plan: Plan) -> None:
    text = plan_text(plan, TextOptions(width=1000, verbose=True))
    remedies = [line for line in text.splitlines() if "Remedy:" in line]
    assert remedies and all(re.match(r" {4,}Remedy: ", line) for line in remedies)
    assert ". Remedy:" not in text and ") Remedy:" not in text


def test_every_finding_is_in_json_and_in_verbose_text(plan: Plan) -> None:
    doc = json.loads(plan_json_text(plan))
    in_json = sorted((f["code"], j["job_id"]) for j in doc["jobs"] for f in j["findings"])
    assert in_json == sorted((f.code, f.job_id) for j in plan.jobs for f in j.findings)
    assert "fire_week" not in plan_json_text(plan)  # the picture is the text's, JSON unchanged
    verbose = plan_text(plan, TextOptions(width=1000, verbose=True))
    jobs = sections(verbose)
    for job in plan.jobs:
        for f in job.findings:
            assert f.code in jobs[job.job_id], (job.job_id, f.code)
            assert " ".join(f.message.split()) in html.unescape(verbose) or "\\" in f.message
    for f in plan.findings:
        assert f.code in verbose.partition("Decisions needed")[0]


def test_the_changed_job_shows_its_first_differing_week(plan: Plan) -> None:
    (job,) = [j for j in plan.jobs if j.job_name == "vacuum on weekdays"]
    assert job.status == "changed" and job.cron_jobs[0].guard is None
    week = job.fire_week
    assert week is not None and week.zone == "UTC"
    assert week.first_difference == dt.datetime(2026, 12, 25, 7, 0, tzinfo=dt.timezone.utc)
    assert [d.day for d in week.days] == [dt.date(2026, 12, 21) + dt.timedelta(n) for n in range(7)]
    # the per-minute oracles (independent of the fire sets) agree with every day of the picture
    agent = AgentSchedule.from_model(catalog_of(specs()[2]).pgagent.jobs[0].schedules[0])  # type: ignore[union-attr]
    cron = parse_cron(job.cron_jobs[0].schedule, TARGET.cron_target().version)
    for d in week.days:
        for m in range(0, 1440, 60):
            at = dt.datetime.combine(d.day, dt.time(m // 60), dt.timezone.utc)
            assert (m in d.agent) == agent_fires_at(agent, at, "UTC"), (d.day, m)
            assert (m in d.cron) == cron_fires_at(cron, at, "UTC"), (d.day, m)
    assert [d.day for d in week.days if d.differs] == [dt.date(2026, 12, 25)]
    section = sections(plan_text(plan))[job.job_id]
    assert "fire times first differ at 2026-12-25 07:00 UTC" in section
    assert "* Fri 2026-12-25 -" in section and "only pg_cron 07:00" in section
    assert "| **Fri 2026-12-25** | - | 07:00 | - | 07:00 |" in plan_markdown(plan)
    assert all(j.fire_week is None for j in plan.jobs if j.status != "changed")


LATER = ScheduleSpec(
    "weekdays 07:00 from February", start="2027-02-01 00:00:00+00", minutes=fs({0}),
    hours=fs({7}), weekdays=fs(range(1, 6)), exceptions=((dt.date(2027, 12, 24), None),),
)  # fmt: skip


@pytest.mark.parametrize("schedules", [[LATER], [DAILY, LATER]], ids=["alone", "with-started"])
def test_the_week_of_a_later_start_is_the_proofs_first_difference(
    schedules: list[ScheduleSpec],
) -> None:
    """A schedule starting after today is proved from its start (before it pgAgent runs nothing,
    SCHEDULE_STARTS_LATER): the calendar starts there too, not at pg_cron's first early run."""
    catalog = catalog_of(JobSpec("vacuum from February", [sql("v", "VACUUM")], schedules))
    (job,) = make_plan(catalog, TARGET, today=TODAY).jobs
    assert job.status == "changed" and "SCHEDULE_STARTS_LATER" in {f.code for f in job.findings}
    later = catalog.pgagent.jobs[0].schedules[-1]  # type: ignore[union-attr]
    assert later.start is not None
    exprs = [c.schedule for c in job.cron_jobs if later.id in c.schedule_ids]
    proof = check_equivalence(later, exprs, target=TARGET.cron_target(), since=later.start.date())
    assert not proof.exact and proof.first_agent_only is None
    assert proof.first_cron_only == dt.datetime(2027, 12, 24, 7, 0, tzinfo=dt.timezone.utc)
    week = job.fire_week
    assert week is not None and week.first_difference == proof.first_cron_only
    assert [d.day for d in week.days if d.differs] == [dt.date(2027, 12, 24)]
    assert week.days[0].day == dt.date(2027, 12, 20)


def test_markdown_is_a_change_ticket(plan: Plan) -> None:
    md = plan_markdown(plan)
    assert md.count("<details>") == md.count("</details>") == len(plan.jobs)
    assert "## Decisions needed" in md and "| error | `STEP_BATCH` | 1 |" in md
    assert "| pg_cron jobs to create |" in md
    # a hostile name can neither open a tag, format, nor end a table cell
    assert "<script>" not in md and "*bold*" not in md and "`tick`" not in md and "\x1b" not in md
    assert "&#60;script&#62;&#124;&#42;bold&#42;" in md
    assert HOSTILE.replace("\x1b", "\\x1b") in html.unescape(md)
    codes = [f.code for f in plan.all_findings()]
    assert all(f"`{c}`" in md for c in codes)
    assert plan_json(plan)["summary"] == plan.counts()


# -- the CLI decides the options ---------------------------------------------------------------


def _run(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    code = main(args)
    out = capsys.readouterr().out
    assert code in (0, 1), out
    return out


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snap") / "catalog.json"
    api.snapshot(catalog_of(*specs()), path)
    return path


@pytest.mark.parametrize(
    ("flags", "env", "width", "colour", "exact"),
    [
        ([], {}, 100, False, False),  # piped: 100 columns, no colour, whatever the terminal
        (["--width", "60"], {}, 60, False, False),
        (["--color", "-v"], {}, 100, True, True),  # forced on: our codes even in a pipe
        (["--no-color"], {"NO_COLOR": ""}, 100, False, False),
        ([], {"NO_COLOR": "1"}, 100, False, False),
    ],
)
def test_cli_layout_options(
    snapshot: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    flags: list[str],
    env: dict[str, str],
    width: int,
    colour: bool,
    exact: bool,
) -> None:
    monkeypatch.setenv("COLUMNS", "300")  # a terminal's width never applies to a pipe
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    base = ["plan", "--snapshot", str(snapshot), "--target-pg-cron", "1.6.7"]
    out = _run([*base, "--cron-timezone", "UTC", "--cron-database", "postgres", *flags], capsys)
    assert max(len(OUR_COLOURS.sub("", line)) for line in out.splitlines()) <= width
    assert any(len(line) > width - 10 for line in out.splitlines())  # wrapped to it, not less
    assert bool(ESC.search(out)) is colour
    assert ESC.sub("", OUR_COLOURS.sub("", out)) == OUR_COLOURS.sub("", out)
    assert ("[EXACT] job 1:" in out) is exact


def test_line_by_line_reports_wrap_under_their_indentation() -> None:
    text = "head\n  ! error X: " + "word " * 40 + "\n      Remedy: " + "fix " * 30 + "\n"
    out = wrap_report(text, TextOptions(width=50))
    lines = out.splitlines()
    assert max(map(len, lines)) <= 50 and lines[0] == "head"
    assert lines[1].startswith("  ! error X: ") and lines[2].startswith("      word")
    (remedy,) = [n for n, line in enumerate(lines) if "Remedy:" in line]
    assert lines[remedy + 1].startswith(" " * 10 + "fix")
    assert " ".join(out.split()) == " ".join(text.split())  # nothing lost


def test_inventory_text_wraps_to_the_width(
    snapshot: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _run(["inventory", "--snapshot", str(snapshot), "--width", "50"], capsys)
    assert max(map(len, out.splitlines())) <= 50 and not ESC.search(out)
    assert "5 jobs, 6 steps, 5 schedules" in out
