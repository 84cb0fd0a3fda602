"""``verify --runs``: did pg_cron run what it took over? Its run log against the schedules.

For each pg_cron job pgbridge put in charge (ledger state ``migrated``), the fire instants of its
schedule since it took over (or ``--since``) are computed by the schedule engine on the target's
rules (release, ``cron.timezone``, the DOM/DOW switch) and compared with ``cron.job_run_details``
(pg_cron 1.3+, written when ``cron.log_run`` is on): missed fire times, runs at no fire time, failed
runs with their messages, and durations beside pgAgent's own history (over the runs that neither
failed nor were a guard's skip).

A guarded job (issue 13) is judged against pgAgent's own rule, not its superset entry: its
expected fire instants are the fire times of the pgAgent schedules the plan was built from (the
definition kept in the ledger, else pgAgent's catalog as it is now), in the zone and mode it was
planned with (the ledger's context) and the ``pga_next_schedule`` body pgAgent's catalog has (the
ledger does not record one; ``body_of``), whether or not the entry still fires there (the
evidence says when it does not: a changed ``cron.timezone``). pg_cron logs a
guard's skip as 'failed' (the guard raises: pg_cron keeps a command's own words only for
errors), told by its message; the guard judged the minute the run started in, so each run is
judged by that minute: a skip at no pgAgent fire time is the superset's, as planned (counted as
skipped, never extra or failed); a skip at a pgAgent fire time is a run the guard wrongly
withheld (``VERIFY_RUNS_GUARD_SKIPPED_FIRE``: a guard bug, a changed zone, a changed catalog);
a run that went ahead at a minute pgAgent would not fire is extra.

Evidence can be missing, and the report says so instead of calling every fire time missed:
``cron.log_run`` off (pg_cron records nothing), details purged (nothing is kept from before the
oldest row), or a job too young to have fired yet; nothing is called missed then. Windows start
at the first whole minute at or after the take-over and are cut in UTC.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from bridge.apply import ledger
from bridge.apply.results import FailedRun, RunCheck
from bridge.apply.session import Run
from bridge.findings import Finding, Severity
from bridge.model import Job, PgAgentCatalog, Schedule
from bridge.pg.conninfo import redact_text
from bridge.planner.guard import SKIP_MESSAGE, guard_words
from bridge.planner.target import Target
from bridge.progress import tracked
from bridge.schedule import (
    Body,
    CronSyntaxError,
    CronTarget,
    Mode,
    agent_fireset,
    body_of,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from bridge.serialize import from_jsonable

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


def minute_of(start: dt.datetime) -> dt.datetime:
    """The minute (UTC) a run started in: the one its guard judged (``date_trunc('minute',
    now())`` in planner/wrapper.py)."""
    return start.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)


@dataclass(frozen=True)
class GuardedRuns:
    """A guarded job's runs judged by pgAgent's fire times, minute by minute."""

    #: Fire times with no run at all (neither one that went ahead nor a skip).
    missed: list[dt.datetime]
    #: Runs that went ahead at a minute that is no fire time, or a second time in one.
    extra: list[dt.datetime]
    #: Skips at minutes that are no fire time: the superset's, as planned.
    skipped: int
    #: The minutes of skips at fire times: runs the guard withheld from pgAgent's rule.
    skipped_fire: list[dt.datetime]


def judge_guarded(
    expected: Sequence[dt.datetime], runs: Sequence[tuple[dt.datetime, bool]]
) -> GuardedRuns:
    """Each run (its start, and whether it was the guard's skip) by the minute it started in,
    against the fire times ``expected``. No lateness is allowed for, unlike :func:`compare_runs`:
    a run that pg_cron started a minute late was judged by its guard for that later minute, so
    a fire time it leaves unrun is missed. All lists sorted."""
    fires = set(expected)
    ran: set[dt.datetime] = set()
    extra: list[dt.datetime] = []
    skipped_fire: list[dt.datetime] = []
    skipped = 0
    for start, skip in sorted(runs):
        minute = minute_of(start)
        if skip and minute in fires:
            skipped_fire.append(minute)
        elif skip:
            skipped += 1
        elif minute in fires and minute not in ran:
            ran.add(minute)
        else:
            extra.append(start)
    missed = sorted(fires - ran - set(skipped_fire))
    return GuardedRuns(missed, extra, skipped, skipped_fire)


@dataclass(frozen=True)
class AgentRule:
    """The pgAgent schedules a guarded job's guard stands for, as the plan saw them."""

    schedules: tuple[Schedule, ...]
    zone: str
    mode: Mode
    #: "ledger" or "catalog" (``RunCheck.guard_rule``).
    source: str
    #: What stood in for a plan context the ledger lacks (an older ledger) or this release
    #: cannot read (``ledger.PlannedAs.guess``); empty when the rule is the recorded one.
    guess: str = ""

    @property
    def guessed(self) -> bool:
        return bool(self.guess)


def agent_rule(
    job: ledger.LedgerJob,
    recorded: Mapping[int, Any],
    context: dict[str, Any] | None,
    agent: PgAgentCatalog,
) -> AgentRule | None:
    """The guarded ``job``'s pgAgent schedules: from its definition in the ledger (``recorded``:
    what the plan was built from), else from the live catalog; the zone and mode from the
    recorded context. None when neither holds the job. pgAgent fires only enabled schedules
    with a start (pga_next_schedule), among those the pg_cron job stands for."""
    planned = ledger.planned_as(context, agent.timezone)
    found: Job | None = None
    source = "ledger"
    if job.pgagent_job_id in recorded:
        try:
            found = from_jsonable(Job, recorded[job.pgagent_job_id])
        except (ValueError, TypeError):
            found = None  # a definition this release cannot read
    if found is None:
        source = "catalog"
        found = next((j for j in agent.jobs if j.id == job.pgagent_job_id), None)
    if found is None:
        return None
    ids = set(job.schedule_ids)
    schedules = tuple(
        s for s in found.schedules if s.id in ids and s.enabled and s.start is not None
    )
    return AgentRule(schedules, planned.zone, planned.options.mode, source, planned.guess)


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


def first_minute(t: dt.datetime) -> dt.datetime:
    """The first whole minute at or after ``t`` (UTC): a take-over is rarely on a minute, and a
    window cut inside one would judge a fire time whose run may have been pgAgent's."""
    t = t.astimezone(dt.timezone.utc)
    whole = t.replace(second=0, microsecond=0)
    return whole if whole == t else whole + dt.timedelta(minutes=1)


def check_runs(
    run: Run,
    agent: PgAgentCatalog,
    target: Target,
    since: dt.datetime | None = None,
) -> tuple[list[RunCheck], list[Finding]]:
    """Every migrated pg_cron job's runs against its schedule (two reads of pg_cron's side, and
    one of the guarded jobs' definitions in the ledger). psycopg returns timestamptz in the
    session's TimeZone: every instant is turned to UTC here, at the edge, so windows are cut in
    UTC days and reports print UTC (as bridge/catalog/history.py does)."""
    known, sources = ledger.read(run.target, run.source_id, definitions=False)
    took_over = ledger.taken_over(run.target, run.source_id)
    row = run.target.execute(_EVIDENCE).fetchone()
    assert row is not None
    now, log_run, oldest = _utc(row[0]), row[1], _utc_or_none(row[2])
    jobs = [j for j in known if j.jobname in took_over]
    starts = {
        j.jobname: _utc(since)
        if since is not None
        else judged_from(_took_utc(took_over[j.jobname]))
        for j in jobs
    }
    params = {
        "ids": [j.jobid for j in jobs],
        "since": [starts[j.jobname] for j in jobs],
        "until": now,  # runs up to now: a fire just before ``until`` may start after it
    }
    logged: dict[int, list[_Row]] = defaultdict(list)
    if jobs and log_run != "off":
        for jobid, start, end, status, message in run.target.execute(_RUNS, params):
            logged[jobid].append((_utc(start), _utc_or_none(end), status, message))
    guarded = sorted({j.pgagent_job_id for j in jobs if guard_words(j.command) is not None})
    recorded = ledger.definitions(run.target, run.source_id, guarded)
    run.target.rollback()
    contexts = {s.pgagent_job_id: s.context for s in sources}
    cron = target.cron_target()
    body = body_of(agent.function_body)
    checks: list[RunCheck] = []
    found: list[Finding] = []
    for job in tracked(run.tracker, "checking runs", jobs, len(jobs), "jobs"):
        rule: AgentRule | None = None
        guard_rule = ""
        if guard_words(job.command) is not None:
            rule = agent_rule(job, recorded, contexts.get(job.pgagent_job_id), agent)
            guard_rule = "unavailable" if rule is None else rule.source
        check = judge_job(
            job,
            Window(starts[job.jobname], now, log_run, oldest),
            logged.get(job.jobid, []),
            cron,
            rule,
            guard_rule,
            body,
            _history(agent, job.pgagent_job_id),
        )
        checks.append(check)
        found += run_findings(check)
    return checks, found


@dataclass(frozen=True)
class Window:
    """What pg_cron's side says about the time judged: all instants UTC."""

    #: The first instant judged (the take-over's, or ``--since``).
    begin: dt.datetime
    #: The server's now().
    now: dt.datetime
    #: ``cron.log_run`` (None where the setting is unknown).
    log_run: str | None
    #: The oldest start in cron.job_run_details (None: it is empty).
    oldest: dt.datetime | None


def judge_job(
    job: ledger.LedgerJob,
    window: Window,
    logged: Sequence[_Row],
    cron: CronTarget,
    rule: AgentRule | None,
    guard_rule: str,
    body: Body,
    history: tuple[float | None, float | None],
) -> RunCheck:
    """One job's logged runs (UTC starts) against its fire times in ``window``: pure."""
    log_run, oldest = window.log_run, _utc_or_none(window.oldest)
    begin = _utc(window.begin)
    until = _utc(window.now) - LATE
    logged = [(_utc(r[0]), _utc_or_none(r[1]), r[2], r[3]) for r in logged]
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
    begin = first_minute(begin)
    try:
        schedule = parse_cron(job.schedule, cron.version)
    except CronSyntaxError:
        schedule = None
    expected: list[dt.datetime] = []
    uncovered: list[dt.datetime] = []
    if not job.planned_active:
        evidence = evidence or "inactive (as planned): no run is expected"
    elif schedule is None or schedule.kind != "cron":
        evidence = evidence or f"schedule {job.schedule!r} is not compared fire by fire"
    elif begin < until:
        fires = cron_fireset([schedule], cron.zone, and_logic=cron.and_logic)
        days = (until.date() - begin.date()).days + 1
        expected = [t for t in fire_instants(fires, begin.date(), days) if begin <= t < until]
        if rule is not None:  # pgAgent's own fire times, as planned, whatever the entry does
            entry = set(expected)
            agent_fires = agent_fireset(rule.schedules, rule.zone, mode=rule.mode, body=body)
            expected = [
                t for t in fire_instants(agent_fires, begin.date(), days) if begin <= t < until
            ]
            uncovered = [t for t in expected if t not in entry]
    rows = [r for r in logged if r[0] >= begin]
    if not expected and not evidence:
        evidence = (
            f"too young: no fire time between {begin:%Y-%m-%d %H:%M} UTC and "
            f"{until:%Y-%m-%d %H:%M} UTC"
        )
    notes = [_rule_note(guard_rule, job.pgagent_job_id)]
    if uncovered:
        notes.append(
            f"{_UNCOVERED_NOTE} {job.schedule!r} no longer fires at {len(uncovered)} of "
            f"pgAgent's fire times (first: {_when(uncovered[:FIRST])}): a changed "
            "cron.timezone or entry"
        )
    if rule is not None and rule.guessed:
        notes.append(f"{GUESSED_NOTE}: judged with {rule.guess}")
    for note in notes:
        if note:
            evidence = f"{evidence}; {note}" if evidence else note
    judged = not (log_run == "off" or oldest is None)
    missed: list[dt.datetime] = []
    extra: list[dt.datetime] = []
    skipped_fire: list[dt.datetime] = []
    if rule is None:
        if judged:
            missed, extra = compare_runs(expected, [r[0] for r in rows])
        later = {t for t in extra if t >= until}  # runs of fire times not judged yet
        extra = [t for t in extra if t < until]
        rows = [r for r in rows if r[0] not in later and (judged or r[0] < until)]
        skipped = sum(1 for r in rows if _skip(r))
    else:
        rows = [r for r in rows if minute_of(r[0]) < until]  # later minutes: not judged yet
        skipped = sum(1 for r in rows if _skip(r))
        if judged:  # no log: nothing may be called missed
            verdict = judge_guarded(expected, [(r[0], _skip(r)) for r in rows])
            missed, extra, skipped = verdict.missed, verdict.extra, verdict.skipped
            skipped_fire = verdict.skipped_fire
    failures = [FailedRun(r[0], redact_text(r[3])) for r in rows if _failed(r)]
    median, p95, longest = run_durations(rows)
    return RunCheck(
        pgagent_job_id=job.pgagent_job_id,
        cron_job=job.jobname,
        jobid=job.jobid,
        schedule=job.schedule,
        since=begin,
        until=until,
        expected=len(expected),
        ran=sum(1 for r in rows if not _skip(r)),
        missed=len(missed),
        missed_first=tuple(missed[:FIRST]),
        extra=len(extra),
        extra_first=tuple(extra[:FIRST]),
        failed=len(failures),
        failures=tuple(failures[-FIRST:]),
        skipped=skipped,
        skipped_fire=len(skipped_fire),
        skipped_fire_first=tuple(skipped_fire[:FIRST]),
        median_seconds=median,
        p95_seconds=p95,
        max_seconds=longest,
        pgagent_median_seconds=history[0],
        pgagent_p95_seconds=history[1],
        evidence=evidence,
        guard_rule=guard_rule,
    )


def _utc(t: dt.datetime) -> dt.datetime:
    return t.astimezone(dt.timezone.utc)


def _utc_or_none(t: dt.datetime | None) -> dt.datetime | None:
    return None if t is None else _utc(t)


def _took_utc(took: ledger.TakeOver) -> ledger.TakeOver:
    return replace(took, at=_utc(took.at))


_Row = tuple[dt.datetime, dt.datetime | None, str, str]


def _skip(row: _Row) -> bool:
    return row[2] == "failed" and guard_skipped(row[3])


def _failed(row: _Row) -> bool:
    return row[2] == "failed" and not guard_skipped(row[3])


#: Evidence notes that leave a check complete but say where a guarded job's rule came from.
_CATALOG_NOTE = "judged by pgAgent's catalog as it is now"
_NO_RULE_NOTE = "the guard's skips are counted, not judged"
_UNCOVERED_NOTE = "the pg_cron entry"
#: An old ledger's job without its plan context: its rule is a guess.
#: The start of the evidence note of a rule that is partly a guess (what stood in follows).
GUESSED_NOTE = "plan context not recorded or not readable"


def _guess_note(evidence: str) -> str:
    """The evidence's note on a guessed rule, what stood in included ("" when there is none)."""
    at = evidence.find(GUESSED_NOTE)
    return "" if at < 0 else evidence[at:].split("; ", 1)[0]


def _rule_note(guard_rule: str, job_id: int) -> str:
    """What the evidence says when a guarded job's rule is not the ledger's definitions."""
    if guard_rule == "catalog":
        return (
            f"{_CATALOG_NOTE}: the ledger holds no readable definition of pgAgent job {job_id} "
            "(the schedules the plan was built from)"
        )
    if guard_rule == "unavailable":
        return (
            f"{_NO_RULE_NOTE}: neither the ledger nor pgAgent's catalog holds pgAgent job {job_id}"
        )
    return ""


def _history(agent: PgAgentCatalog, job_id: int) -> tuple[float | None, float | None]:
    for job in agent.jobs:
        if job.id == job_id and job.history is not None:
            return job.history.median_seconds, job.history.p95_seconds
    return None, None


def _when(instants: Sequence[dt.datetime]) -> str:
    return ", ".join(f"{t:%Y-%m-%d %H:%M}" for t in instants) + " UTC"


def _evidence_finding(c: RunCheck, name: str) -> Finding:
    """What the evidence note means, with the remedy that fits its cause."""
    lead = c.evidence.split("; ", 1)[0]
    if c.guard_rule == "unavailable":
        return Finding(
            "VERIFY_RUNS_NO_EVIDENCE",
            Severity.WARNING,
            f"pg_cron job {name}: {c.evidence}",
            "the pgAgent job is gone from both pgAgent's catalog and the ledger: judge the "
            "guard's skips by hand against its old schedules, or migrate it again from a catalog "
            "or snapshot that holds it so the ledger records its definition",
            c.pgagent_job_id,
        )
    if lead.startswith(("too young", "cron.job_run_details starts", "inactive")):
        return Finding(
            "VERIFY_RUNS_PARTIAL",
            Severity.INFO,
            f"pg_cron job {name}: {c.evidence}",
            "run verify --runs again later",
            c.pgagent_job_id,
        )
    if lead.startswith((_CATALOG_NOTE, _UNCOVERED_NOTE, GUESSED_NOTE)):
        return Finding(
            "VERIFY_RUNS_PARTIAL",
            Severity.INFO,
            f"pg_cron job {name}: {c.evidence}",
            "run migrate --apply again (--force for an edited command) so the ledger records "
            "the job's definition and plan context and the entry covers pgAgent's fire times",
            c.pgagent_job_id,
        )
    return Finding(
        "VERIFY_RUNS_NO_EVIDENCE",
        Severity.WARNING,
        f"pg_cron job {name}: {c.evidence}",
        "turn cron.log_run on (a server restart) and keep cron.job_run_details long enough to "
        "verify",
        c.pgagent_job_id,
    )


def _extra_finding(c: RunCheck, name: str, window: str, judged_by: str | None) -> Finding:
    """VERIFY_RUNS_EXTRA: by pgAgent's fire times for a guarded job, else by the entry's."""
    if judged_by is not None:
        message = (
            f"pg_cron job {name} ran the steps {c.extra} time(s) {window} at minutes that are "
            f"no pgAgent fire time by {judged_by} (first: {_when(c.extra_first)}): its guard let "
            "them through, or they ran twice in a minute"
        )
        remedy = (
            "compare the guard in the job's command with pgAgent's schedules and zone; "
            "migrate --apply again (--force for an edited command) to rebuild it"
        )
    else:
        message = (
            f"pg_cron job {name} ran {c.extra} time(s) at no fire time of {c.schedule!r} "
            f"{window} (first: {_when(c.extra_first)}): started by hand, or queued behind a run "
            "that outlasted the interval"
        )
        remedy = "guard long commands with pg_try_advisory_lock if queued runs hurt"
    return Finding("VERIFY_RUNS_EXTRA", Severity.WARNING, message, remedy, c.pgagent_job_id)


def run_findings(c: RunCheck) -> list[Finding]:
    """The findings of one check: missed and failed runs, and a guard's skips at pgAgent fire
    times, are errors (verify exits 1)."""
    out: list[Finding] = []
    name = repr(c.cron_job)
    window = f"since {c.since:%Y-%m-%d %H:%M} UTC"
    if c.evidence:
        out.append(_evidence_finding(c, name))
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
    judged_by = {
        "ledger": "the pgAgent schedules the plan was built from (the ledger)",
        "catalog": "pgAgent's catalog as it is now (the ledger holds no definition)",
    }.get(c.guard_rule)
    if c.skipped_fire:
        guessed = _guess_note(c.evidence)
        out.append(
            Finding(
                "VERIFY_RUNS_GUARD_SKIPPED_FIRE",
                Severity.WARNING if guessed else Severity.ERROR,
                f"pg_cron job {name}: its guard skipped {c.skipped_fire} run(s) {window} at "
                f"minutes that are pgAgent fire times (first: {_when(c.skipped_fire_first)}), "
                f"by {judged_by}: pgAgent would have run the steps there, pg_cron did not"
                + (f" ({guessed})" if guessed else ""),
                "compare the guard in the job's command with pgAgent's schedules and zone (a "
                "hand edit, a changed TimeZone or catalog, or a guard bug); run verify for drift "
                "and migrate --apply again (--force for an edited command) to rebuild the guard; "
                "run the missed work by hand if it matters",
                c.pgagent_job_id,
            )
        )
    if c.extra:
        out.append(_extra_finding(c, name, window, judged_by))
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
