"""``verify --runs``: did pg_cron run what it took over? Its run log against the schedules.

For each pg_cron job pgbridge put in charge (ledger state ``migrated``), the fire instants of its
schedule since it took over (or ``--since``) are computed by the schedule engine on the target's
rules (release, ``cron.timezone``, the DOM/DOW switch) and compared with ``cron.job_run_details``
(pg_cron 1.3+, written when ``cron.log_run`` is on): missed fire times, runs at no fire time, failed
runs with their messages, and durations beside pgAgent's own history (over the runs that neither
failed nor were a guard's skip). A guard's skipped runs are
runs of the superset schedule pg_cron has, so they are never "extra"; pg_cron logs them as
'failed' (the guard raises: pg_cron keeps a command's own words only for errors), and they are
counted as skipped, not failed, by the guard's message.

Evidence can be missing, and the report says so instead of calling every fire time missed:
``cron.log_run`` off (pg_cron records nothing), details purged (nothing is kept from before the
oldest row), or a job too young to have fired yet.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Sequence

from bridge.apply import ledger
from bridge.apply.results import FailedRun, RunCheck
from bridge.apply.session import Run
from bridge.findings import Finding, Severity
from bridge.model import PgAgentCatalog
from bridge.pg.conninfo import redact_text
from bridge.planner.guard import SKIP_MESSAGE
from bridge.planner.target import Target
from bridge.progress import tracked
from bridge.schedule import CronSyntaxError, cron_fireset, fire_instants, parse_cron

#: A run that starts this long after a fire time is that fire's run (the scheduler wakes once a
#: minute; a busy server starts late), and fire times this close to now are not judged yet.
LATE = dt.timedelta(minutes=2)
#: How many missed, extra and failed runs a check names.
FIRST = 3
#: pg_cron's durations are "slower" past this multiple of pgAgent's 95th percentile.
SLOWER = 2.0

_RUNS = """
SELECT d.jobid, d.start_time, d.end_time, d.status, left(coalesce(d.return_message, ''), 500)
  FROM cron.job_run_details d
  JOIN unnest(%(ids)s::int8[], %(since)s::timestamptz[]) AS w(jobid, since) ON w.jobid = d.jobid
 WHERE d.start_time >= w.since AND d.start_time < %(until)s
 ORDER BY d.jobid, d.start_time
"""

_EVIDENCE = """
SELECT now(), current_setting('cron.log_run', true),
       (SELECT min(start_time) FROM cron.job_run_details)
"""


def guard_skipped(message: str) -> bool:
    """Is this 'failed' run's message a pgbridge guard's skip (``ERROR:  <SKIP_MESSAGE>: ...``)?"""
    first = message.split("\n", 1)[0]
    return first.removeprefix("ERROR:").lstrip().startswith(SKIP_MESSAGE + ":")


def percentile_cont(fraction: float, values: Sequence[float]) -> float | None:
    """PostgreSQL's ``percentile_cont``: linear interpolation between the two sorted values around
    position ``fraction * (n - 1)`` (percentile_cont_final_common and float8_lerp in PostgreSQL's
    orderedsetaggs.c and float.c); None for no values, as the aggregate gives NULL."""
    ordered = sorted(values)
    if not ordered:
        return None
    position = fraction * (len(ordered) - 1)
    low, high = math.floor(position), math.ceil(position)
    if low == high:
        return ordered[low]
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def run_durations(
    rows: Sequence[tuple[dt.datetime, dt.datetime | None, str, str]],
) -> tuple[float | None, float | None, float | None]:
    """(median, 95th percentile, longest) in seconds of the runs that ended and neither failed nor
    were a guard's skip (logged as 'failed' too): near-zero skips would pull a guarded job's
    figures down and hide a slower pg_cron (issue 14)."""
    seconds = [
        (end - start).total_seconds()
        for start, end, status, _ in rows
        if end is not None and status != "failed"
    ]
    if not seconds:
        return None, None, None
    return percentile_cont(0.5, seconds), percentile_cont(0.95, seconds), max(seconds)


def compare_runs(
    expected: Sequence[dt.datetime], starts: Sequence[dt.datetime]
) -> tuple[list[dt.datetime], list[dt.datetime]]:
    """(missed fire times, extra runs): each run is matched to the latest unmatched fire time at
    most :data:`LATE` before it; both lists sorted."""
    fires = sorted(expected)
    taken = [False] * len(fires)
    extra = []
    for start in sorted(starts):
        i = bisect.bisect_right(fires, start) - 1
        while i >= 0 and start - fires[i] < LATE and taken[i]:
            i -= 1
        if i >= 0 and start - fires[i] < LATE:
            taken[i] = True
        else:
            extra.append(start)
    return [f for f, t in zip(fires, taken, strict=True) if not t], extra


def judged_from(took: ledger.TakeOver) -> dt.datetime:
    """The first instant whose fire times are pg_cron's alone, from the ledger's take-over.

    An exact take-over (a cross-database switch's instant, recorded inside the quiet window with
    no minute boundary before its commits) is judged strictly after it: one microsecond later,
    the resolution of timestamptz. Otherwise the time is its transaction's start and the switch
    committed later (one transaction, not placed in a window), so the fire times of the next
    :data:`LATE` are not judged: each may have been pgAgent's or pg_cron's."""
    if took.exact:
        return took.at + dt.timedelta(microseconds=1)
    return took.at + LATE


def check_runs(
    run: Run,
    agent: PgAgentCatalog,
    target: Target,
    since: dt.datetime | None = None,
) -> tuple[list[RunCheck], list[Finding]]:
    """Every migrated pg_cron job's runs against its schedule (two reads of pg_cron's side)."""
    known, _ = ledger.read(run.target, run.source_id, definitions=False)
    took_over = ledger.taken_over(run.target, run.source_id)
    row = run.target.execute(_EVIDENCE).fetchone()
    assert row is not None
    now, log_run, oldest = row
    until = now - LATE
    jobs = [j for j in known if j.jobname in took_over]
    starts = {j.jobname: since or judged_from(took_over[j.jobname]) for j in jobs}
    params = {
        "ids": [j.jobid for j in jobs],
        "since": [starts[j.jobname] for j in jobs],
        "until": now,  # runs up to now: a fire just before ``until`` may start after it
    }
    logged: dict[int, list[tuple[dt.datetime, dt.datetime | None, str, str]]] = defaultdict(list)
    if jobs and log_run != "off":
        for jobid, start, end, status, message in run.target.execute(_RUNS, params):
            logged[jobid].append((start, end, status, message))
    run.target.rollback()
    cron = target.cron_target()
    checks: list[RunCheck] = []
    found: list[Finding] = []
    for job in tracked(run.tracker, "checking runs", jobs, len(jobs), "jobs"):
        begin = starts[job.jobname]
        evidence = ""
        if log_run == "off":
            evidence = "cron.log_run is off: pg_cron records no runs"
        elif oldest is None or oldest > begin + LATE:
            evidence = (
                "cron.job_run_details holds no run at all: purged, or pg_cron has not run anything"
                if oldest is None
                else f"cron.job_run_details starts at {oldest:%Y-%m-%d %H:%M} UTC: older details "
                "were purged; compared from there"
            )
            if oldest is not None:
                begin = oldest
        try:
            schedule = parse_cron(job.schedule, cron.version)
        except CronSyntaxError:
            schedule = None
        expected: list[dt.datetime] = []
        if not job.planned_active:
            evidence = evidence or "inactive (as planned): no run is expected"
        elif schedule is None or schedule.kind != "cron":
            evidence = evidence or f"schedule {job.schedule!r} is not compared fire by fire"
        elif begin < until:
            fires = cron_fireset([schedule], cron.zone, and_logic=cron.and_logic)
            days = (until.date() - begin.date()).days + 1
            expected = [t for t in fire_instants(fires, begin.date(), days) if begin <= t < until]
        rows = [r for r in logged.get(job.jobid, []) if r[0] >= begin]
        if not expected and not evidence:
            evidence = (
                f"too young: no fire time between {begin:%Y-%m-%d %H:%M} UTC and "
                f"{until:%Y-%m-%d %H:%M} UTC"
            )
        judged = not (log_run == "off" or oldest is None)
        missed, extra = compare_runs(expected, [r[0] for r in rows]) if judged else ([], [])
        later = {t for t in extra if t >= until}  # runs of fire times not judged yet
        extra = [t for t in extra if t < until]
        rows = [r for r in rows if r[0] not in later and (judged or r[0] < until)]
        skipped = sum(1 for _, _, st, m in rows if st == "failed" and guard_skipped(m))
        failures = [
            FailedRun(s, redact_text(m))
            for s, _, st, m in rows
            if st == "failed" and not guard_skipped(m)
        ]
        median, p95, longest = run_durations(rows)
        history = _history(agent, job.pgagent_job_id)
        check = RunCheck(
            pgagent_job_id=job.pgagent_job_id,
            cron_job=job.jobname,
            jobid=job.jobid,
            schedule=job.schedule,
            since=begin,
            until=until,
            expected=len(expected),
            ran=len(rows),
            missed=len(missed),
            missed_first=tuple(missed[:FIRST]),
            extra=len(extra),
            extra_first=tuple(extra[:FIRST]),
            failed=len(failures),
            failures=tuple(failures[-FIRST:]),
            skipped=skipped,
            median_seconds=median,
            p95_seconds=p95,
            max_seconds=longest,
            pgagent_median_seconds=history[0],
            pgagent_p95_seconds=history[1],
            evidence=evidence,
        )
        checks.append(check)
        found += run_findings(check)
    return checks, found


def _history(agent: PgAgentCatalog, job_id: int) -> tuple[float | None, float | None]:
    for job in agent.jobs:
        if job.id == job_id and job.history is not None:
            return job.history.median_seconds, job.history.p95_seconds
    return None, None


def _when(instants: Sequence[dt.datetime]) -> str:
    return ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in instants) + " UTC"


def run_findings(c: RunCheck) -> list[Finding]:
    """The findings of one check: missed and failed runs are errors (verify exits 1)."""
    out: list[Finding] = []
    name = repr(c.cron_job)
    window = f"since {c.since:%Y-%m-%d %H:%M} UTC"
    if c.evidence:
        partial = c.evidence.startswith(("too young", "cron.job_run_details starts", "inactive"))
        out.append(
            Finding(
                "VERIFY_RUNS_PARTIAL" if partial else "VERIFY_RUNS_NO_EVIDENCE",
                Severity.INFO if partial else Severity.WARNING,
                f"pg_cron job {name}: {c.evidence}",
                "run verify --runs again later"
                if partial
                else "turn cron.log_run on (a server restart) and keep cron.job_run_details long "
                "enough to verify",
                c.pgagent_job_id,
            )
        )
    if c.missed:
        out.append(
            Finding(
                "VERIFY_RUNS_MISSED",
                Severity.ERROR,
                f"pg_cron job {name} should have run {c.expected} time(s) {window} and missed "
                f"{c.missed} (first: {_when(c.missed_first)})",
                "check that pg_cron's scheduler runs (cron.database_name, the server log) and "
                "that the job is active",
                c.pgagent_job_id,
            )
        )
    if c.failed:
        last = c.failures[-1]
        out.append(
            Finding(
                "VERIFY_RUNS_FAILED",
                Severity.ERROR,
                f"pg_cron job {name}: {c.failed} of {c.ran} run(s) {window} failed (last at "
                f"{last.start:%Y-%m-%d %H:%M} UTC: {' '.join(last.message.split())})",
                "fix the command; cron.job_run_details keeps each failed run's message",
                c.pgagent_job_id,
                detail="\n".join(f"{f.start.isoformat()}: {f.message}" for f in c.failures),
            )
        )
    if c.extra:
        out.append(
            Finding(
                "VERIFY_RUNS_EXTRA",
                Severity.WARNING,
                f"pg_cron job {name} ran {c.extra} time(s) at no fire time of {c.schedule!r} "
                f"{window} (first: {_when(c.extra_first)}): started by hand, or queued behind a "
                "run that outlasted the interval",
                "guard long commands with pg_try_advisory_lock if queued runs hurt",
                c.pgagent_job_id,
            )
        )
    if (
        c.p95_seconds is not None
        and c.pgagent_p95_seconds is not None
        and c.p95_seconds > max(1.0, SLOWER * c.pgagent_p95_seconds)
    ):
        out.append(
            Finding(
                "VERIFY_RUNS_SLOWER",
                Severity.INFO,
                f"pg_cron job {name} takes {c.p95_seconds:.1f}s at the 95th percentile, pgAgent "
                f"took {c.pgagent_p95_seconds:.1f}s",
                "compare the runs' plans and locks; pg_cron runs the command in its own session",
                c.pgagent_job_id,
            )
        )
    return out
