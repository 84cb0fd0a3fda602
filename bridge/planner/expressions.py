"""A job's schedules -> cron expressions, through the schedule engine; unions of schedules."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from functools import lru_cache

from bridge.findings import Severity
from bridge.model import Catalog, Schedule
from bridge.planner.target import Target
from bridge.planner.types import PlanOptions
from bridge.planner.work import JobWork
from bridge.schedule import (
    AgentSchedule,
    Body,
    Comparison,
    CronTarget,
    CronTranslation,
    Mode,
    agent_to_cron,
    body_of,
    compare,
    cron_fireset,
    parse_cron,
)
from bridge.schedule.agent import as_agent
from bridge.schedule.equivalence import DEFAULT_DAYS
from bridge.schedule.findings import NEVER_FIRES
from bridge.schedule.guard import fold_time_exceptions
from bridge.schedule.translate import encoded_entries

#: The latest start whose analysis window (and the zone margins around it) stays in year 9999.
LAST_START = dt.date.max - dt.timedelta(days=DEFAULT_DAYS + 7)


def schedule_expressions(
    work: JobWork, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> list[tuple[str, bool, int]]:
    """(expression, active, schedule id) for every schedule that migrates."""
    assert catalog.pgagent is not None
    agent = catalog.pgagent
    body = body_of(agent.function_body)
    out: list[tuple[str, bool, int]] = []
    now = dt.datetime.combine(today, dt.time(), dt.timezone.utc)
    for sched in work.job.schedules:
        for diag in sched.diagnostics:
            work.add(diag.code, diag.severity, diag.message, "", schedule=sched)
        if not sched.enabled and options.disabled == "skip":
            work.add(
                "SCHEDULE_DISABLED",
                Severity.INFO,
                f"schedule {sched.name!r} is disabled and left out",
                "",
                schedule=sched,
            )
            continue
        if sched.start is None:
            continue  # CATALOG_NULL_START already says pgAgent never runs it
        if sched.end is not None and sched.end < now:
            work.add(
                "SCHEDULE_ENDED",
                Severity.INFO,
                f"schedule {sched.name!r} ended on {sched.end:%Y-%m-%d %H:%M} UTC; not migrated",
                "",
                schedule=sched,
            )
            continue
        if sched.start.date() > LAST_START:
            work.add(
                "SCHEDULE_START_OUT_OF_RANGE",
                Severity.ERROR,
                f"schedule {sched.name!r} starts on {sched.start:%Y-%m-%d}, too close to the year "
                f"10000 for pgbridge to analyse its next {DEFAULT_DAYS} days (the last start it "
                f"can is {LAST_START})",
                "schedule the job by hand closer to that date",
                schedule=sched,
            )
            continue
        since = proof_start(sched.start, options, today)
        result = _translate(
            relevant(sched, since), target.cron_target(), agent.timezone, options.mode, body, since
        )
        for f in result.findings:
            work.add(f.code, f.severity, f.message, f.remedy, schedule=sched)
        if sched.start > now:
            work.add(
                "SCHEDULE_STARTS_LATER",
                Severity.WARNING,
                f"schedule {sched.name!r} starts on {sched.start:%Y-%m-%d %H:%M} UTC; a pg_cron "
                "job fires from the moment it is active",
                "create the pg_cron job inactive and activate it on that date "
                "(cron.alter_job(jobid, active := true))",
                schedule=sched,
            )
        if any(f.code == NEVER_FIRES for f in result.findings) or not result.expressions:
            continue
        if not sched.enabled:
            work.add(
                "SCHEDULE_DISABLED",
                Severity.INFO,
                f"schedule {sched.name!r} is disabled; its pg_cron job is created inactive",
                "",
                schedule=sched,
            )
        out += [(e, sched.enabled, sched.id) for e in result.expressions]
    return _union(work, out, target, agent.timezone, options, body, today)


def _union(
    work: JobWork,
    found: list[tuple[str, bool, int]],
    target: Target,
    zone: str,
    options: PlanOptions,
    body: Body,
    today: dt.date,
) -> list[tuple[str, bool, int]]:
    """Several enabled schedules whose union is fewer expressions (``0 5,6 * * *`` for 05:00 and
    06:00) become those expressions, when that union is exact; otherwise they stay apart."""
    ids = sorted({i for _, _, i in found})
    if len(ids) < 2 or not all(active for _, active, _ in found):
        return found
    by_id = {s.id: s for s in work.job.schedules}
    starts = [by_id[i].start for i in ids]
    if any(start is None or start.date() > today for start in starts):
        return found
    schedules = tuple(relevant(by_id[i], today) for i in ids)
    cron, separate = target.cron_target(), len({e for e, _, _ in found})
    entries = encoded_entries(schedules, target=cron, agent_zone=zone, mode=options.mode,
                              since=today)  # fmt: skip
    if len(entries) >= separate:
        return found  # the union's entries are no fewer: not worth its proof
    union = _translate(schedules, cron, zone, options.mode, body, today)
    if not union.exact or len(union.expressions) >= separate:
        return found
    return [(e, True, i) for e in union.expressions for i in ids]


def proof_start(start: dt.datetime, options: PlanOptions, today: dt.date) -> dt.date:
    """Where a schedule's proof starts: ``--since``, else today or the schedule's later start
    (before it pgAgent runs nothing: SCHEDULE_STARTS_LATER says so)."""
    return max(today, start.date()) if options.since is None else options.since


@lru_cache(maxsize=65536)
def relevant(sched: Schedule, since: dt.date) -> AgentSchedule:
    """The schedule as it matters from ``since`` on: a start before then changes nothing, and
    time-only exceptions that remove whole hour or minute columns are taken out of the fields."""
    agent = fold_time_exceptions(as_agent(sched))
    if agent.start is not None and agent.start.date() <= since:
        agent = replace(agent, start=None)
    return agent


@lru_cache(maxsize=65536)
def _translate(
    agent: AgentSchedule | tuple[AgentSchedule, ...],
    target: CronTarget,
    zone: str,
    mode: Mode,
    body: Body,
    since: dt.date,
) -> CronTranslation:
    """Catalogs repeat the same schedules many times: each distinct one is translated once."""
    return agent_to_cron(
        agent,
        target=target,
        agent_zone=zone,
        mode=mode,
        body=body,
        since=since,
    )


@lru_cache(maxsize=4096)
def cron_comparison(a: str, b: str, cron: CronTarget, today: dt.date) -> Comparison:
    """How the fire times of two pg_cron expressions compare on ``cron`` from ``today``: where they
    meet, where they differ. Expressions have no dates, so the proof horizon (one weekday cycle of
    the target's zone) shows every way they can. Raises ``CronSyntaxError`` for a text pg_cron
    would not read."""
    return compare(
        cron_fireset([parse_cron(a, cron.version)], cron.zone, and_logic=cron.and_logic),
        cron_fireset([parse_cron(b, cron.version)], cron.zone, and_logic=cron.and_logic),
        today,
        DEFAULT_DAYS,
    )
