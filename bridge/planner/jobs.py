"""One pgAgent job -> its plan: status, pg_cron jobs (named), and the findings about timing and roles."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import replace
from functools import lru_cache

from bridge.findings import Severity, status_of
from bridge.model import Catalog, Job, Schedule
from bridge.naming import catalog_tag, job_name
from bridge.planner.expressions import (
    cron_comparison,
    proof_start,
    relevant,
    schedule_expressions,
)
from bridge.planner.guarded import guard_job
from bridge.planner.steps import step_commands
from bridge.planner.target import Target
from bridge.planner.types import CronJobPlan, JobPlan, PlanOptions, ScheduleNote, StepNote
from bridge.planner.work import JobWork
from bridge.schedule import (
    CronSyntaxError,
    CronTarget,
    agent_fireset,
    body_of,
    cron_fireset,
    describe_agent_schedule,
    parse_cron,
)
from bridge.schedule.cron import may_meet
from bridge.schedule.equivalence import DEFAULT_DAYS, proof_days
from bridge.schedule.preview import FireWeek, first_differing_week
from bridge.schedule.slots import shortest_gap


def plan_job(
    job: Job, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> JobPlan:
    """The plan for one pgAgent job."""
    notes = tuple(
        ScheduleNote(s.id, s.name, describe_agent_schedule(s), s.enabled, s.description)
        for s in job.schedules
    )
    steps = tuple(StepNote(s.id, s.name, s.description) for s in job.steps if s.description)
    planned = _plan_job(job, catalog, target, options, today)
    return replace(
        planned,
        schedules=notes,
        comment=job.description,
        steps=steps,
        fire_week=_fire_week(planned, job, catalog, target, options, today),
    )


def _fire_week(
    planned: JobPlan,
    job: Job,
    catalog: Catalog,
    target: Target,
    options: PlanOptions,
    today: dt.date,
) -> FireWeek | None:
    """For a changed job (unguarded: a guard decides pgAgent's rule inside), the first week its
    migrated schedules and its pg_cron jobs fire differently, from the same fire sets the proofs
    compare (issue 15)."""
    if planned.status != "changed" or not planned.cron_jobs or planned.cron_jobs[0].guard:
        return None
    assert catalog.pgagent is not None
    agent = catalog.pgagent
    ids = {i for c in planned.cron_jobs for i in c.schedule_ids}
    # Schedules are proved from their own start (``proof_start``); those sharing one (all of a
    # union, or every schedule already started) are proved together.
    groups: dict[dt.date, list[Schedule]] = {}
    for s in job.schedules:
        if s.id in ids and s.start is not None:
            groups.setdefault(proof_start(s.start, options, today), []).append(s)
    cron = target.cron_target()
    body = body_of(agent.function_body)
    weeks: list[FireWeek] = []
    for since, members in groups.items():
        mine = {s.id for s in members}
        exprs = sorted({c.schedule for c in planned.cron_jobs if mine & set(c.schedule_ids)})
        try:
            entries = [parse_cron(e, cron.version) for e in exprs]
        except CronSyntaxError:
            return None
        schedules = tuple(relevant(s, since) for s in members)
        agent_fires = agent_fireset(schedules, agent.timezone, mode=options.mode, body=body)
        cron_fires = cron_fireset(entries, cron.zone, and_logic=cron.and_logic)
        days = proof_days(schedules, since)
        week = first_differing_week(agent_fires, cron_fires, since, days, agent.timezone)
        weeks += [week] if week is not None else []
    return min(weeks, key=lambda w: w.first_difference, default=None)


def _plan_job(
    job: Job, catalog: Catalog, target: Target, options: PlanOptions, today: dt.date
) -> JobPlan:
    work = JobWork(job)
    for diag in job.diagnostics:
        work.add(diag.code, diag.severity, diag.message, "")
    for step in job.steps:
        for diag in step.diagnostics:
            if diag.code != "STEP_EMPTY_CODE":  # STEP_EMPTY says it with the consequence
                work.add(diag.code, diag.severity, diag.message, "", step=step)
    if not job.enabled:
        if options.disabled == "skip":
            work.add("JOB_DISABLED", Severity.INFO, "the job is disabled and left out", "")
            return JobPlan(job.id, job.name, job.enabled, "skipped", (), tuple(work.findings))
        work.add(
            "JOB_DISABLED",
            Severity.INFO,
            "the job is disabled; its pg_cron jobs are created inactive",
            "activate them with cron.alter_job when the time comes",
        )
    if job.host_agent:
        work.add(
            "JOB_HOST_PINNED",
            Severity.WARNING,
            f"the job runs only on the agent of host {job.host_agent!r}; pg_cron runs on the "
            "primary server itself",
            "make sure the job does not depend on that host",
        )
    if job.running:
        work.add(
            "JOB_RUNNING",
            Severity.INFO,
            f"pgAgent has claimed the job (agent {job.agent_id}): it is running now, or stuck",
            "let it finish before the cutover",
        )
    made = step_commands(work, target, options, catalog)
    mark = len(work.findings)
    expressions = schedule_expressions(work, catalog, target, options, today)
    guarded = guard_job(work, mark, made, expressions, catalog, target, options, today)
    if guarded is not None:
        made = [guarded.command]
        expressions = [(guarded.expression, True, i) for i in guarded.schedule_ids]
    if made is None:
        return JobPlan(job.id, job.name, job.enabled, "manual", (), tuple(work.findings))
    commands = made
    if not commands:
        if job.steps and all(not s.enabled for s in job.steps):  # no steps: JOB_NO_STEPS
            work.add(
                "JOB_NOTHING_TO_RUN",
                Severity.INFO,
                "the job has no enabled step; pgAgent ran it as an empty success",
                "",
            )
        return JobPlan(
            job.id, job.name, job.enabled, status_of(work.findings, False), (), tuple(work.findings)
        )
    # One pg_cron job per distinct expression (a minute fires once, as in pgAgent); a suffix only
    # when the job needs more than one.
    by_expr: dict[str, tuple[bool, list[int]]] = {}
    for expr, active, sched_id in expressions:
        was_active, ids = by_expr.get(expr, (False, []))
        by_expr[expr] = (was_active or active, [*ids, sched_id])
    items = [
        (expr, active, ids, cmd) for expr, (active, ids) in by_expr.items() for cmd in commands
    ]
    per_key: dict[int, int] = {}
    for _, _, ids, _ in items:
        per_key[ids[0]] = per_key.get(ids[0], 0) + 1
    seen: dict[int, int] = {}
    cron_jobs: list[CronJobPlan] = []
    assert catalog.pgagent is not None
    tag = catalog_tag(catalog.pgagent.identity)
    for expr, active, ids, command in items:
        key = ids[0]
        seen[key] = seen.get(key, 0) + 1
        if len(items) == 1:
            name = job_name(job.id, job.name, catalog=tag)
        else:
            part = seen[key] if per_key[key] > 1 else None
            name = job_name(job.id, job.name, catalog=tag, schedule_id=key, part=part)
        cron_jobs.append(
            CronJobPlan(
                name=name,
                schedule=expr,
                command=command.text,
                database=command.database,
                username=command.username,
                active=active and job.enabled,
                schedule_ids=tuple(ids),
                step_ids=command.step_ids,
                wrapped=command.wrapped,
                guard=None if guarded is None else guarded.guard,
            )
        )
    if not cron_jobs:
        work.add(
            "JOB_NOT_SCHEDULED",
            Severity.INFO,
            "the job has no schedule: pgAgent never runs it, and no pg_cron job is created"
            if not job.schedules
            else f"none of its {len(job.schedules)} schedule(s) gives a pg_cron job (the "
            "schedule findings say why), so nothing is created",
            "give the job a schedule in pgAgent first if it should run",
        )
    _timing_findings(work, cron_jobs, target, today)
    _role_findings(work, cron_jobs, target, options)
    if (
        target.database
        and any(c.database != target.database for c in cron_jobs)
        and not target.has_function("cron.schedule_in_database")
    ):
        work.add(
            "TARGET_NO_SCHEDULE_IN_DATABASE",
            Severity.ERROR,
            f"{target.api()} has no cron.schedule_in_database (1.4+) for jobs in other databases",
            "ALTER EXTENSION pg_cron UPDATE (its library has cron.schedule_in_database)"
            if target.outdated_sql()
            else "upgrade pg_cron, or insert into cron.job as a superuser",
        )
    return JobPlan(
        job.id, job.name, job.enabled, status_of(work.findings, bool(cron_jobs)), tuple(cron_jobs),
        tuple(work.findings),
    )  # fmt: skip


#: Fire times this close (minutes) let a run outlast the interval: pg_cron then queues the next.
QUEUE_GAP = 60


def _timing_findings(
    work: JobWork, cron_jobs: Sequence[CronJobPlan], target: Target, today: dt.date
) -> None:
    """Where pg_cron's independent, queueing runs can differ from pgAgent's one run at a time:
    several pg_cron jobs that fire at one instant (computed, not assumed), and fire times so
    close that a long run makes pg_cron queue the next one."""
    active = sorted({c.schedule for c in cron_jobs if c.active})
    cron = target.cron_target()
    gap = _shortest_gap(tuple(active), cron)
    if gap is not None and gap <= QUEUE_GAP:
        work.add(
            "JOB_RUNS_CAN_QUEUE",
            Severity.INFO,
            f"its fire times come as little as {gap} minute(s) apart: a run that takes longer "
            "makes pg_cron queue the next one and start it as soon as the last ends, where "
            "pgAgent skipped the occurrences that fell due",
            "guard the command with pg_try_advisory_lock (skip when held) if queued runs hurt",
        )
    first: dt.datetime | None = None
    count = 0
    for i, a in enumerate(active):
        for b in active[i + 1 :]:
            if not may_meet(parse_cron(a, cron.version), parse_cron(b, cron.version)):
                continue
            met = cron_comparison(a, b, cron, today)
            count += met.both
            if met.first_both is not None and (first is None or met.first_both < first):
                first = met.first_both
    if first is not None:
        work.add(
            "JOB_SEVERAL_CRON_JOBS",
            Severity.WARNING,
            f"the job becomes {len(active)} active pg_cron jobs whose schedules meet {count} "
            f"time(s) in {DEFAULT_DAYS // 365} years (first at {first:%Y-%m-%d %H:%M} UTC): pg_cron "
            "runs the job once per pg_cron job there, pgAgent ran it once",
            "guard the command with pg_try_advisory_lock if a second run in the same minute "
            "matters, or change a schedule so they never meet",
        )


@lru_cache(maxsize=4096)
def _shortest_gap(expressions: tuple[str, ...], cron: CronTarget) -> int | None:
    """Fewest minutes between fire times of the union of ``expressions`` (cached: catalogs
    repeat the same schedules in many jobs)."""
    parsed = [parse_cron(e, cron.version) for e in expressions]
    return shortest_gap([x for p in parsed for x in p.slots(and_logic=cron.and_logic)])


def _role_findings(
    work: JobWork, cron_jobs: Sequence[CronJobPlan], target: Target, options: PlanOptions
) -> None:
    roles = sorted({c.username for c in cron_jobs if c.username})
    for role in roles:
        # cron.schedule_in_database with any username needs superuser, even one's own (#390)
        other = "" if role == target.applier else "; that role needs LOGIN and CONNECT"
        if target.applier_superuser:
            work.add(
                "ROLE_RUN_AS",
                Severity.INFO,
                f"the pg_cron job runs as {role!r}; the applier {target.applier!r} is a superuser, "
                f"as scheduling with a username requires (pg_cron #390){other}",
                "" if not other else f"make sure {role!r} may log in and connect",
            )
            continue
        work.add(
            "ROLE_NEEDS_SUPERUSER",
            Severity.WARNING,
            f"the pg_cron job runs as {role!r}: scheduling with a username needs superuser "
            f"(pg_cron #390){other}",
            "apply the plan as a superuser, or leave the username out (no --run-as, no user in "
            "the step's connection string)",
        )
    if not roles:
        work.add(
            "ROLE_APPLIER",
            Severity.INFO,
            "pgAgent ran the SQL as the agent's login role; the pg_cron job runs as the role that "
            f"applies the plan ({target.applier or 'unknown until applied'})",
            "use --run-as to choose the role",
        )
