"""What pgAgent's run log says about a job, as findings with the figures that justify them.

Pure: it reads the aggregates a :class:`~bridge.model.JobHistory` carries (from a live server or a
snapshot) and asks the schedule engine when the schedules fire. The log is evidence, so it replaces
guesses where it has some: ``HISTORY_RUNS_OVERLAP`` supersedes ``JOB_RUNS_CAN_QUEUE``.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace

from bridge.findings import Finding, Severity, status_of
from bridge.model import Job, JobHistory
from bridge.planner.types import JobPlan
from bridge.schedule import FireSet, agent_fireset, compare
from bridge.schedule.agent import as_agent
from bridge.schedule.zones import instant_of, minute_number

#: A job (or a step) failing in at least this share of its runs is ``HISTORY_FAILING``.
FAILING_SHARE = 0.1
#: A run still marked running this many times its usual (95th percentile) duration, and at least
#: :data:`STUCK_FLOOR` long, is stuck.
STUCK_FACTOR = 10
STUCK_FLOOR = dt.timedelta(hours=1)
#: pgAgent's statuses (``pga_joblog.jlgstatus``) in words.
STATUS_WORDS = {
    "s": "succeeded",
    "f": "failed",
    "i": "internal failure",
    "d": "aborted",
    "r": "running",
}


def seconds(value: float | None) -> str:
    """A duration as reports say it: 0.4s, 12s, 3m05s, 2h10m."""
    if value is None:
        return "-"
    if value < 10:
        return f"{value:.1f}s"
    total = round(value)
    if total < 60:
        return f"{total}s"
    if total < 3600:
        return f"{total // 60}m{total % 60:02d}s"
    return f"{total // 3600}h{total % 3600 // 60:02d}m"


def _share(part: int, whole: int) -> str:
    return f"{part} of {whole} ({100 * part / whole:.0f}%)" if whole else str(part)


def history_findings(job: Job, zone: str, days: int) -> list[Finding]:
    """The ``HISTORY_*`` findings of one job (none when its log was not read)."""
    h = job.history
    if h is None:
        return []
    out: list[Finding] = []

    def add(code: str, severity: Severity, message: str, remedy: str, detail: str = "") -> None:
        out.append(Finding(code, severity, message, remedy, job.id, detail=detail))

    if h.over_gap and h.gap_minutes is not None:
        excess = (h.over_gap_max_seconds or 0) - h.gap_minutes * 60
        add(
            "HISTORY_RUNS_OVERLAP",
            Severity.WARNING,
            f"{_share(h.over_gap, h.runs)} runs in the last {days} days lasted longer than the "
            f"{h.gap_minutes} minute(s) between fire times (the longest "
            f"{seconds(h.over_gap_max_seconds)}, {seconds(excess)} over): pgAgent skipped the "
            "occurrences that fell due meanwhile, pg_cron queues them and runs them back to back",
            "guard the command with pg_try_advisory_lock (skip when held), or give the job a "
            "longer interval",
        )
    stuck_for = h.until - h.running_since if h.running_since is not None else None
    usual = dt.timedelta(seconds=STUCK_FACTOR * (h.p95_seconds or 0))
    if stuck_for is not None and stuck_for >= max(usual, STUCK_FLOOR):
        add(
            "HISTORY_STUCK",
            Severity.WARNING,
            f"{h.running} run(s) still marked running, the oldest since "
            f"{h.running_since:%Y-%m-%d %H:%M} UTC ({seconds(stuck_for.total_seconds())}, its "
            f"runs usually take {seconds(h.p95_seconds)} at the 95th percentile): pgAgent is not "
            "running the job now, pg_cron will",
            "find out why the run hangs (pg_stat_activity, the agent's log) before the move; "
            "restarting pgAgent marks such runs aborted",
        )
    elif h.claimed_by_gone_agent:
        add(
            "HISTORY_STUCK",
            Severity.WARNING,
            "the job is claimed (jobagentid) by a pgAgent daemon that is no longer connected: no "
            "agent runs it until one restarts and cleans up, pg_cron will",
            "restart pgAgent (its start-up releases the jobs of dead agents), or expect the job "
            "to start running again under pg_cron",
        )
    failing_steps = [
        s for s in h.steps if s.runs and s.failures and s.failures >= FAILING_SHARE * s.runs
    ]
    if h.runs and (h.failures >= max(1, FAILING_SHARE * h.runs) or failing_steps):
        names = {s.id: s.name for s in job.steps}
        steps = "; ".join(
            f"step {s.step_id} {names.get(s.step_id, '?')!r} failed {_share(s.failures, s.runs)}"
            for s in failing_steps
        )
        detail = "\n".join(
            f"step {s.step_id}, last error: {' '.join(s.last_error.split())}"
            for s in failing_steps
            if s.last_error
        )
        add(
            "HISTORY_FAILING",
            Severity.WARNING,
            f"the job failed {_share(h.failures, h.runs)} runs in the last {days} days"
            + (f" ({steps})" if steps else ""),
            "fix the failing step before the move: pg_cron fails the same way, and reports "
            "only the last message in cron.job_run_details",
            detail=detail,
        )
    if not h.runs and job.enabled:
        count, first_fire = _expected(job, zone, h)
        if first_fire is not None:
            add(
                "HISTORY_NEVER_RAN",
                Severity.INFO,
                f"the schedules fired {count} time(s) in the window (first at "
                f"{first_fire:%Y-%m-%d %H:%M} UTC) but the log has no run: no agent ran it "
                "(agent down, job pinned to a host agent that is gone, a broken schedule)",
                "find out why before the move: under pg_cron the job will start running",
            )
    if h.off_schedule:
        first = ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in h.off_schedule_first)
        add(
            "HISTORY_OFF_SCHEDULE",
            Severity.INFO,
            f"{_share(h.off_schedule, h.runs)} runs started in a minute the schedules do not "
            f"fire at (first: {first} UTC): a manual 'run now', an agent catching up after "
            "downtime, or a schedule changed in the window; pg_cron runs only on schedule",
            "nothing, if those runs were manual; trigger them by hand after the move",
        )
    return out


def _expected(job: Job, zone: str, h: JobHistory) -> tuple[int, dt.datetime | None]:
    """How many times the job's enabled schedules fired in the window (after it was created),
    and the first: counted by the engine's comparison, never by listing the instants (an
    every-minute job fires 129,600 times in 90 days)."""
    schedules = tuple(s for s in job.schedules if s.enabled)
    if not schedules:
        return 0, None
    start = max(h.since, job.created) if job.created is not None else h.since
    if start >= h.until:
        return 0, None
    first_day = start.date()
    days = (h.until.date() - first_day).days + 1
    fires = _between(agent_fireset(tuple(map(as_agent, schedules)), zone), start, h.until)
    met = compare(fires, replace(fires, components=()), first_day, days)
    return met.left_total, met.first_left_only


def _between(fires: FireSet, start: dt.datetime, until: dt.datetime) -> FireSet:
    """``fires`` limited to the instants in ``[start, until)``: each component's validity window
    (epoch minutes, inclusive) narrowed to the whole minutes in that range."""
    first = minute_number(start)
    if instant_of(first) < start:
        first += 1
    last = minute_number(until)
    if instant_of(last) >= until:
        last -= 1
    comps = []
    for comp in fires.components:
        lo = first if comp.start is None else max(comp.start, first)
        hi = last if comp.end is None else min(comp.end, last)
        if lo <= hi:
            comps.append(replace(comp, start=lo, end=hi))
    return replace(fires, components=tuple(comps))


def with_history(plan: JobPlan, job: Job, zone: str, days: int) -> JobPlan:
    """``plan`` with the job's history and its findings (the status follows the one rule)."""
    found = history_findings(job, zone, days)
    if job.history is None:
        return plan
    findings = list(plan.findings)
    if any(f.code == "HISTORY_RUNS_OVERLAP" for f in found):
        findings = [f for f in findings if f.code != "JOB_RUNS_CAN_QUEUE"]
    findings += found
    status = plan.status
    if plan.status in ("exact", "changed"):
        status = status_of(findings, True)
    return replace(plan, findings=tuple(findings), history=job.history, status=status)
