"""HISTORY_* findings from a job's run-log figures (pure: no server)."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge import model
from bridge.catalog import snapshot
from bridge.findings import Severity
from bridge.model import Catalog, Job, JobHistory, PgAgentCatalog, StepHistory
from bridge.planner.build import make_plan
from bridge.planner.history import _expected, history_findings
from bridge.planner.target import Target
from bridge.report import TextOptions, render
from bridge.report.history import history_line
from bridge.schedule import agent_fireset, fire_instants
from bridge.schedule.agent import AgentSchedule
from bridge.schedule.masks import mask_of
from tests.schedule.strategies import INTERESTING_DAYS, ZONES, agent_schedules

UTC = dt.timezone.utc
UNTIL = dt.datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SINCE = UNTIL - dt.timedelta(days=90)


def job(minutes: set[int] | None = None, **history: Any) -> Job:
    """A job firing at ``minutes`` of every hour (every 10 minutes by default), with history."""
    sched = AgentSchedule(
        minutes=mask_of(minutes if minutes is not None else range(0, 60, 10)),
        start=dt.datetime(2020, 1, 1, tzinfo=UTC),
    ).to_model(id=7, job_id=1, name="s")
    step = model.Step(1, 1, "only", "", True, model.StepKind.SQL, "SELECT 1", "", "app",
                      model.OnError.FAIL)  # fmt: skip
    h = JobHistory(since=SINCE, until=UNTIL, **history) if history is not None else None
    return Job(1, "j", "", "c", "", True, dt.datetime(2019, 1, 1, tzinfo=UTC), None, None, None,
               None, (step,), (sched,), history=h)  # fmt: skip


def codes(j: Job) -> dict[str, Severity]:
    return {f.code: f.severity for f in history_findings(j, "UTC", 90)}


CASES: list[tuple[str, dict[str, Any], dict[str, Severity]]] = [
    ("quiet", {"runs": 100, "succeeded": 100, "p95_seconds": 2.0}, {}),
    (
        "overlap",
        {"runs": 100, "succeeded": 100, "gap_minutes": 10, "over_gap": 3,
         "over_gap_max_seconds": 900.0},
        {"HISTORY_RUNS_OVERLAP": Severity.WARNING},
    ),
    (
        "stuck run",
        {"runs": 10, "running": 1, "p95_seconds": 5.0,
         "running_since": UNTIL - dt.timedelta(hours=2)},
        {"HISTORY_STUCK": Severity.WARNING},
    ),
    (
        "a run of normal length is not stuck",
        {"runs": 10, "running": 1, "p95_seconds": 3600.0,
         "running_since": UNTIL - dt.timedelta(hours=2)},
        {},
    ),
    ("claimed by a dead agent", {"runs": 10, "claimed_by_gone_agent": True},
     {"HISTORY_STUCK": Severity.WARNING}),
    ("failing", {"runs": 10, "failed": 1}, {"HISTORY_FAILING": Severity.WARNING}),
    ("rarely failing", {"runs": 100, "failed": 9}, {}),
    (
        "a failing step",
        {"runs": 100, "failed": 0, "steps": (StepHistory(1, 100, 20, "boom"),)},
        {"HISTORY_FAILING": Severity.WARNING},
    ),
    ("never ran", {"runs": 0}, {"HISTORY_NEVER_RAN": Severity.INFO}),
    (
        "off schedule",
        {"runs": 10, "off_schedule": 2,
         "off_schedule_first": (UNTIL - dt.timedelta(days=3, minutes=3),)},
        {"HISTORY_OFF_SCHEDULE": Severity.INFO},
    ),
]  # fmt: skip


@pytest.mark.parametrize(("history", "expect"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_findings_from_the_figures(history: dict[str, Any], expect: dict[str, Severity]) -> None:
    assert codes(job(**history)) == expect


def test_the_messages_carry_the_figures() -> None:
    (overlap,) = history_findings(
        job(runs=40, gap_minutes=10, over_gap=4, over_gap_max_seconds=900.0), "UTC", 90
    )
    assert "4 of 40 (10%) runs" in overlap.message
    assert "10 minute(s)" in overlap.message and "15m00s" in overlap.message
    assert "5m00s over" in overlap.message
    (failing,) = history_findings(
        job(runs=10, failed=3, steps=(StepHistory(1, 10, 3, "ERROR:  boom\n  here"),)), "UTC", 90
    )
    assert "3 of 10 (30%)" in failing.message and "step 1 'only'" in failing.message
    assert failing.detail == "step 1, last error: ERROR: boom here"


def test_never_ran_needs_a_schedule_that_fired() -> None:
    assert codes(job(runs=0)) == {"HISTORY_NEVER_RAN": Severity.INFO}
    young = replace(job(runs=0), created=UNTIL - dt.timedelta(minutes=5))
    assert codes(young) == {}  # created after the last fire time: nothing was due
    assert codes(replace(job(runs=0), enabled=False)) == {}
    (f,) = history_findings(job(runs=0), "UTC", 90)
    assert "12960 time(s)" in f.message  # 6 an hour for 90 days


@st.composite
def _daily(draw: st.DrawFn) -> AgentSchedule:
    """A random schedule, often with its day fields cleared so that it fires in a short window."""
    agent = draw(agent_schedules())
    if draw(st.booleans()):
        agent = replace(agent, weekdays=0, monthdays=0, last_day=False, months=0)
    return agent


@settings(max_examples=400, deadline=None)
@given(
    _daily(),
    st.lists(st.tuples(_daily(), st.booleans()), max_size=1),
    st.sampled_from(ZONES),
    st.one_of(st.none(), st.sampled_from(INTERESTING_DAYS)),
    st.integers(-2 * 86400, 86400),
    st.integers(0, 3 * 86400),
    st.booleans(),
)
def test_never_ran_counts_every_fire_time_of_the_window(
    agent: AgentSchedule,
    others: list[tuple[AgentSchedule, bool]],
    zone: str,
    day: dt.date | None,
    offset_seconds: int,
    length_seconds: int,
    created: bool,
) -> None:
    """The count and first fire time equal those of the listed instants in ``[start, until)``,
    windows and creation times on any second, schedule bounds and exceptions included."""
    schedules = [(agent, True), *others]
    first = agent.start
    if day is None:  # the window around the first schedule's start, where its edge is
        day = first.date() if first is not None else INTERESTING_DAYS[0]
    since = dt.datetime.combine(day, dt.time(), UTC) + dt.timedelta(seconds=offset_seconds)
    until = since + dt.timedelta(seconds=length_seconds)
    models = tuple(
        replace(a.to_model(id=n, job_id=1, name=f"s{n}"), enabled=enabled)
        for n, (a, enabled) in enumerate(schedules, 1)
    )
    made = since + dt.timedelta(seconds=length_seconds // 3) if created else None
    j = replace(job(runs=0), schedules=models, created=made)
    assert j.history is not None
    h = replace(j.history, since=since, until=until)
    start = max(since, made) if made is not None else since
    on = tuple(s for s in models if s.enabled)
    days = (until.date() - start.date()).days + 1
    listed = [
        t for t in fire_instants(agent_fireset(on, zone), start.date(), days) if start <= t < until
    ]
    assert _expected(j, zone, h) == (len(listed), listed[0] if listed else None)


def _catalog(*jobs: Job, days: int = 90) -> Catalog:
    agent = PgAgentCatalog("db", 4, "4.2", "4.2", "UTC", "test", "15", jobs=jobs,
                           history_days=days)  # fmt: skip
    return Catalog(agent, None, "test", UNTIL)


def test_the_plan_carries_history_and_overlap_replaces_the_guess() -> None:
    target = Target("1.4.2", "GMT", "postgres")
    quiet = make_plan(_catalog(job(runs=5, succeeded=5)), target, today=UNTIL.date())
    (plan_job,) = quiet.jobs
    assert plan_job.history is not None and plan_job.history.runs == 5
    assert "JOB_RUNS_CAN_QUEUE" in {f.code for f in plan_job.findings}
    assert plan_job.status == "exact"
    long = job(runs=5, gap_minutes=10, over_gap=1, over_gap_max_seconds=700.0)
    (plan_job,) = make_plan(_catalog(long), target, today=UNTIL.date()).jobs
    found = {f.code for f in plan_job.findings}
    assert "HISTORY_RUNS_OVERLAP" in found and "JOB_RUNS_CAN_QUEUE" not in found
    assert plan_job.status == "changed"
    unread = make_plan(_catalog(replace(job(), history=None), days=0), target, today=UNTIL.date())
    assert unread.jobs[0].history is None


def test_reports_show_one_history_line_per_job() -> None:
    h = JobHistory(since=SINCE, until=UNTIL, runs=12, succeeded=11, failed=1, median_seconds=1.5,
                   p95_seconds=75.0, max_seconds=7300.0, last_start=UNTIL, last_status="f")  # fmt: skip
    line = history_line(h)
    assert line == (
        "12 runs in 90 days, 1 failed; duration median 1.5s, p95 1m15s, max 2h01m; "
        "last 2026-06-01 12:00 UTC (failed)"
    )
    plan = make_plan(_catalog(replace(job(), history=h)), Target("1.4.2", "GMT", "postgres"))
    for fmt in ("text", "markdown"):  # the text with -v (the job is exact), on a line of its own
        assert render("plan", fmt, plan, TextOptions(width=200, verbose=True)).count(line) == 1, fmt
    assert '"history"' in render("plan", "json", plan)


def test_snapshots_keep_the_figures_never_the_output() -> None:
    h = JobHistory(since=SINCE, until=UNTIL, runs=3, failed=3,
                   steps=(StepHistory(1, 3, 3, "password=******** boom"),))  # fmt: skip
    text = snapshot.dumps(_catalog(replace(job(), history=h)))
    assert "boom" not in text
    back = snapshot.loads(text)
    assert back.pgagent is not None
    got = back.pgagent.jobs[0].history
    assert got == replace(h, steps=(StepHistory(1, 3, 3, ""),))
    assert back.pgagent.history_days == 90
