"""Deciding a guard for one job: when cron cannot say pgAgent's rule, one superset entry and a
command that asks the rule for the current minute make the job exact (see
:mod:`bridge.schedule.guard` for the proof, :mod:`bridge.planner.guard` for the SQL)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bridge.findings import Severity
from bridge.model import Catalog
from bridge.planner.guard import SKIP_MESSAGE, Guard, make_guard
from bridge.planner.sqltext import analyse
from bridge.planner.steps import NOT_COMBINABLE, Command
from bridge.planner.target import Target
from bridge.planner.types import PlanOptions
from bridge.planner.work import JobWork
from bridge.planner.wrapper import wrap
from bridge.schedule import body_of
from bridge.schedule import findings as F
from bridge.schedule.agent import as_agent
from bridge.schedule.guard import fold_time_exceptions, superset

#: Findings that say cron alone misses pgAgent's rule; a proved guard answers every one of them.
RESOLVED = frozenset(
    {
        F.DOM_DOW_AND_INEXACT,
        F.LAST_DAY_NEEDS_1_6,
        F.EXCEPTIONS_NOT_REPRESENTABLE,
        F.START_END_NOT_REPRESENTABLE,
        F.DATES_BEYOND_PROOF,
        F.TZ_DST_MISMATCH,
        F.DST_FALLBACK_RUNS_TWICE,
        F.TZ_SHIFT_MOVES_MONTHDAYS,
        F.LAST_DAY_DST_SHIFT,
        F.TARGET_DATE_OFF_BY_ONE,
        F.ENTRIES_OVERLAP,
        F.NOT_EXACT,
        "SCHEDULE_STARTS_LATER",
    }
)


@dataclass(frozen=True)
class Guarded:
    """The job's one pg_cron entry, its guarded command and the guard."""

    expression: str
    schedule_ids: tuple[int, ...]
    command: Command
    guard: Guard


def guard_job(
    work: JobWork,
    mark: int,
    made: list[Command] | None,
    expressions: Sequence[tuple[str, bool, int]],
    catalog: Catalog,
    target: Target,
    options: PlanOptions,
    today: dt.date,
) -> Guarded | None:
    """A guard for the job when the schedule findings since ``mark`` say cron alone is not exact
    and a proved superset exists; the findings it answers are replaced by one that names it.
    When the steps cannot be wrapped, a finding says a guard would have made the job exact."""
    if not options.guards or made is None or not expressions:
        return None
    added = work.findings[mark:]
    if not any(f.code in RESOLVED and f.severity is not Severity.INFO for f in added):
        return None
    if not all(active for _, active, _ in expressions) or not work.job.enabled:
        return None  # inactive parts keep their own pg_cron jobs
    assert catalog.pgagent is not None
    ids = tuple(dict.fromkeys(i for _, _, i in expressions))
    by_id = {s.id: s for s in work.job.schedules}
    agents = [fold_time_exceptions(as_agent(by_id[i])) for i in ids]
    body = body_of(catalog.pgagent.function_body)
    zone = catalog.pgagent.timezone
    since = options.since or today
    found = superset(agents, target=target.cron_target(), agent_zone=zone, mode=options.mode,
                     since=since)  # fmt: skip
    if found.expression is None or not found.covered:
        return None
    guard = make_guard(agents, zone, found.expression, mode=options.mode, body=body)
    blocker = _blocker(work, made, target)
    if blocker is not None:
        work.add(
            "JOB_GUARD_NOT_USABLE",
            Severity.INFO,
            f"a guard would make this job exact (pg_cron entry {found.expression!r} and a check "
            f"of pgAgent's rule in the command), but it cannot be used: {blocker}",
            "move the statement that must run alone into a job of its own, or accept the "
            "schedule findings",
        )
        return None
    steps = [s for s in work.job.steps if s.id in made[0].step_ids]
    command = Command(
        wrap(steps, guard), made[0].database, made[0].username, made[0].step_ids, True
    )
    work.findings[mark:] = [f for f in added if f.code not in RESOLVED]
    entry_runs, agent_runs = found.runs_per_year()
    work.add(
        "JOB_GUARDED",
        Severity.INFO,
        f"guarded: pg_cron starts the command on {found.expression!r} (about {entry_runs:.0f} "
        f"times a year) and a guard runs the steps only at pgAgent's own fire times (at most "
        f"{agent_runs:.0f} a year); {guard.description}. The entry is proved to cover every "
        "pgAgent fire time for all time, so entry and guard fire exactly as pgAgent did. A "
        "skipped run ends at once as 'failed' in cron.job_run_details with a message that starts "
        f"{SKIP_MESSAGE!r} (pgbridge verify --runs counts it as skipped, not as a failure, and "
        "reports a skip at a pgAgent fire time as an error); the "
        "guard reads the minute the run starts (a run pg_cron queued behind a long one is judged "
        "by its start)",
        f"nothing to do; monitoring that alerts on failed pg_cron runs should ignore messages "
        f"starting {SKIP_MESSAGE!r}; --no-guards plans without guards",
    )
    if len(steps) == 1:
        work.add(
            "STEP_WRAPPED_BY_GUARD",
            Severity.INFO,
            f"step {steps[0].name!r} runs inside the guard's DO block (its text verbatim, through "
            "EXECUTE, then COMMIT) instead of as the command itself",
            "",
            step=steps[0],
        )
    return Guarded(found.expression, ids, command, guard)


def _blocker(work: JobWork, made: list[Command], target: Target) -> str | None:
    """Why the steps cannot run inside the guard's block (None: they can)."""
    if len(made) != 1:
        return "its steps become separate pg_cron jobs (--split-steps), one guard cannot hold them"
    if target.background_workers:
        return "pg_cron's background-worker mode rejects the COMMIT the guard's block ends with"
    if made[0].wrapped:
        return None
    for step in work.job.steps:
        if step.id in made[0].step_ids:
            for stmt in analyse(step.code).statements:
                if stmt.kind in NOT_COMBINABLE:
                    return (
                        f"step {step.name!r} runs {stmt.keyword}, which {NOT_COMBINABLE[stmt.kind]}"
                    )
    return None
