"""Benchmark: translate and prove 10,000 random pgAgent schedules over the 28-year proof horizon.

Run: ``.venv/bin/python benchmarks/bench_schedule.py [count] [workers]`` (defaults: 10,000 and 2,
the two cores the target is stated for; ``workers`` 1 runs in this process).

Each schedule is translated to pg_cron (``agent_to_cron``, which proves its result with the
equivalence checker) and then proved again on its own (``check_equivalence``), both over the proof
horizon from 2024-01-01 (28 years, the calendar's weekday cycle). The targets: UTC -> pg_cron
1.4.2 (GMT), Europe/Berlin with ``cron.timezone = 'Europe/Berlin'`` on 1.6.7 (DST days), and
America/New_York -> pg_cron 1.4.2 (GMT: a DST zone against GMT). Guarded cases (issue 13): a
third of the schedules carry dated exceptions (some also a time-only one) and a sixth a start/end
window; with "last day" on 1.4 and weekday AND month-day from the generator, these are what cron
alone cannot say. A schedule whose plain translation is not exact is decided as the planner does
(``bridge.planner.guarded``): one superset entry proved to cover pgAgent's fire times for all time
(``superset``) and the guard's SQL built (``make_guard``); it counts as guarded-exact when the
findings left are only those a guard answers. Wall time and CPU time (``time.process_time`` of
every process) are both printed: the machine may be shared, and CPU time is what the work costs.

croniter, side by side: on a sample of schedules, croniter enumerates the fire times of the same
pg_cron entries (``get_next`` with pg_cron's day rule, ``$`` read as croniter's ``L``) over a
stated span, and our engine enumerates the same entries' fire times over the same span
(``fire_instants``) and proves the whole schedule over the span and over the full horizon. All
of it is measured in this run; nothing is extrapolated. The span is shorter than the horizon
because croniter needs one ``get_next`` per fire time (hundreds of millions over 28 years).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from zoneinfo import ZoneInfo

from croniter import croniter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bridge.planner.guard import make_guard
from bridge.planner.guarded import RESOLVED
from bridge.schedule import (
    AgentSchedule,
    CronTarget,
    agent_fires_at,
    agent_to_cron,
    check_equivalence,
    cron_fireset,
    fire_instants,
    parse_cron,
)
from bridge.schedule.equivalence import proof_days
from bridge.schedule.guard import fold_time_exceptions, superset

SINCE = dt.date(2024, 1, 1)
TARGETS = (
    ("UTC", CronTarget.of("1.4.2")),
    ("Europe/Berlin", CronTarget.of("1.6.7", "Europe/Berlin")),
    ("America/New_York", CronTarget.of("1.4.2")),
)
TARGET_SHARE = (3, 1, 2)  # UTC half, Berlin a sixth, New York a third
TARGET_SECONDS = 3.0
SAMPLE = 120  # schedules enumerated with croniter
SPAN_DAYS = 7  # of the croniter comparison (no DST change in Berlin: croniter's DST rule differs)

Job = tuple[AgentSchedule, str, CronTarget]
#: per schedule: pg_cron entries, exact, guarded, finding codes (of inexact ones), fire times proved
Outcome = tuple[tuple[str, ...], bool, bool, tuple[str, ...], int]

_JOBS: list[Job] = []  # set before the worker processes fork


def random_schedule(rng: random.Random) -> AgentSchedule:
    def mask(lo: int, hi: int, p: float, empty: float) -> int:
        if rng.random() < empty:
            return 0
        bits = sum(1 << v for v in range(lo, hi + 1) if rng.random() < p)
        return bits or 1 << rng.randint(lo, hi)

    return AgentSchedule(
        minutes=mask(0, 59, rng.choice((0.02, 0.1, 0.3)), 0.05),
        hours=mask(0, 23, rng.choice((0.05, 0.2, 0.5)), 0.3),
        weekdays=mask(0, 6, 0.5, 0.6),
        monthdays=mask(1, 31, rng.choice((0.03, 0.2)), 0.7),
        last_day=rng.random() < 0.1,
        months=mask(1, 12, 0.5, 0.8),
    )


def with_guarded_features(
    rng: random.Random, agent: AgentSchedule, since: dt.date
) -> AgentSchedule:
    """The schedule with what cron cannot say added: dated exceptions (a third; some also a
    time-only one) and a start/end window (a sixth), dated from ``since``."""
    if rng.random() < 1 / 3:
        days = [since + dt.timedelta(days=rng.randrange(800)) for _ in range(rng.randint(1, 4))]
        exc: list[tuple[dt.date | None, dt.time | None]] = [(d, None) for d in days]
        if rng.random() < 0.3:
            exc.append((None, dt.time(rng.randrange(24), rng.choice((0, 30)))))
        agent = replace(agent, exceptions=tuple(exc))
    if rng.random() < 1 / 6:
        start = dt.datetime.combine(since + dt.timedelta(days=rng.randrange(90)), dt.time(8),
                                    dt.timezone.utc)  # fmt: skip
        agent = replace(agent, start=start, end=start + dt.timedelta(days=rng.randrange(30, 900)))
    return agent


def prove(job: Job) -> Outcome:
    """Translate and prove one schedule; when cron alone is not exact, the guard the planner
    would use (a proved superset entry and the guard's SQL)."""
    schedule, zone, target = job
    folded = fold_time_exceptions(schedule)
    tr = agent_to_cron(folded, target=target, agent_zone=zone, since=SINCE)
    codes = tuple(f.code for f in tr.findings if f.severity.rank)
    if not tr.exact and codes and any(c in RESOLVED for c in codes):
        found = superset([folded], target=target, agent_zone=zone, since=SINCE)
        if found.covered and found.expression and found.comparison:
            make_guard([folded], zone, found.expression)
            left = tuple(c for c in codes if c not in RESOLVED)
            return (found.expression,), not left, True, left, found.comparison.right_total
    check = check_equivalence(folded, tr.expressions, target=target, agent_zone=zone, since=SINCE)
    return tr.expressions, tr.exact, False, () if tr.exact else codes, check.cron_fires


def _chunk(bounds: tuple[int, int]) -> tuple[list[Outcome], float]:
    cpu = time.process_time()
    out = [prove(job) for job in _JOBS[bounds[0] : bounds[1]]]
    return out, time.process_time() - cpu


def run_all(jobs: list[Job], workers: int) -> tuple[list[Outcome], float, float]:
    """Outcomes of every job, wall seconds and CPU seconds (all processes)."""
    _JOBS[:] = jobs
    wall, cpu = time.perf_counter(), time.process_time()
    # load the zones' offset periods once, before forking: per target zone, the job whose proof
    # reaches furthest (a start, an end or an exception date lengthens its horizon)
    for zone_name in {zone_name for _, zone_name, _ in jobs}:
        prove(max((j for j in jobs if j[1] == zone_name), key=lambda j: proof_days([j[0]], SINCE)))
    child_cpu = 0.0  # CPU time of the worker processes (this one's is counted below)
    if workers == 1:
        out, _ = _chunk((0, len(jobs)))
    else:
        step = 250
        bounds = [(i, min(i + step, len(jobs))) for i in range(0, len(jobs), step)]
        with multiprocessing.get_context("fork").Pool(workers) as pool:
            parts = pool.map(_chunk, bounds, chunksize=1)
        out = [o for part, _ in parts for o in part]
        child_cpu = sum(c for _, c in parts)
    return out, time.perf_counter() - wall, time.process_time() - cpu + child_cpu


class PgCronIter(croniter):  # type: ignore[misc]
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["implement_cron_bug"] = True
        super().__init__(*args, **kwargs)


def _proof(job: Job, exprs: tuple[str, ...], guarded: bool, days: int | None) -> None:
    schedule, zone, target = job
    span = {} if days is None else {"days": days}
    folded = fold_time_exceptions(schedule)
    if guarded:
        superset([folded], target=target, agent_zone=zone, since=SINCE, **span)
    else:
        check_equivalence(folded, exprs, target=target, agent_zone=zone, since=SINCE, **span)


def croniter_side_by_side(jobs: list[Job], outcomes: list[Outcome]) -> None:
    sample = [(job, o[0], o[2]) for job, o in zip(jobs, outcomes, strict=True) if o[0]][:SAMPLE]
    start = dt.datetime(SINCE.year, SINCE.month, SINCE.day, tzinfo=dt.timezone.utc)
    stop = start + dt.timedelta(days=SPAN_DAYS)
    # croniter: every fire time of the pg_cron entries, one get_next each, in pg_cron's zone;
    # for a guarded job also pgAgent's rule at each (agent_fires_at): the guard's verdict
    t0 = time.process_time()
    by_croniter = kept = 0
    for (schedule, zone, target), exprs, guarded in sample:
        times: set[dt.datetime] = set()
        before = (start - dt.timedelta(minutes=1)).astimezone(ZoneInfo(target.zone))
        for expr in exprs:  # get_next is strictly after its start: begin a minute early
            it = PgCronIter(expr.replace("$", "L"), before)
            while (nxt := it.get_next(dt.datetime)) < stop:
                times.add(nxt)
        by_croniter += len(times)
        if guarded:
            kept += sum(agent_fires_at(schedule, t, zone) for t in times)
    t1 = time.process_time()
    # our engine: the same entries' fire times over the same span
    ours = 0
    for (_, _, target), exprs, _ in sample:
        parsed = [parse_cron(e, target.version) for e in exprs]
        fires = cron_fireset(parsed, target.zone, and_logic=target.and_logic)
        ours += len(fire_instants(fires, SINCE, SPAN_DAYS))
    t2 = time.process_time()
    for job, exprs, guarded in sample:  # the proof, both sides, same span
        _proof(job, exprs, guarded, SPAN_DAYS)
    t3 = time.process_time()
    for job, exprs, guarded in sample:  # the proof over the whole horizon
        _proof(job, exprs, guarded, None)
    t4 = time.process_time()
    n = len(sample)
    n_guarded = sum(g for _, _, g in sample)
    print(
        f"croniter side by side, measured: {n} schedules' pg_cron entries ({n_guarded} guarded), "
        f"{SINCE} + {SPAN_DAYS} days (CPU s)"
    )
    print(
        f"  croniter get_next:         {t1 - t0:7.3f} s  ({by_croniter:,} fire times; guarded "
        f"jobs' kept by pgAgent's rule: {kept:,})"
    )
    print(
        f"  pgbridge fire_instants:    {t2 - t1:7.3f} s  ({ours:,} fire times, "
        f"{'same count' if ours == by_croniter else 'COUNTS DIFFER'})"
    )
    print(f"  pgbridge proof, same span: {t3 - t2:7.3f} s  (pgAgent's and pg_cron's fire times)")
    print(f"  pgbridge proof, 28 years:  {t4 - t3:7.3f} s  (the full horizon, same schedules)")


def main(count: int = 10_000, workers: int = 2) -> None:
    rng = random.Random(20240101)
    jobs = [
        (with_guarded_features(rng, random_schedule(rng), SINCE), *target)
        for target in rng.choices(TARGETS, TARGET_SHARE, k=count)
    ]
    outcomes, wall, cpu = run_all(jobs, workers)
    exact = sum(o[1] for o in outcomes)
    guarded = sum(o[1] and o[2] for o in outcomes)
    fires = sum(o[4] for o in outcomes)
    print(
        f"schedules:                 {count} (translated, then proved again), {workers} worker(s)"
    )
    print(
        f"translate + prove:         {wall:7.2f} s wall, {cpu:6.2f} s CPU "
        f"({cpu / count * 1e6:4.0f} us CPU each)"
    )
    met = "met" if wall < TARGET_SECONDS else "NOT met"
    print(f"target:                    under {TARGET_SECONDS:.0f} s on two cores: {met}")
    print(
        f"exact:                     {exact} ({exact / count:.1%}), of them {guarded} guarded "
        f"({guarded / count:.1%})"
    )
    print(f"pg_cron fire times proved: {fires:,} over the proof horizon")
    reasons = Counter(code for o in outcomes if not o[1] for code in o[3])
    print("findings of inexact ones:  " + ", ".join(f"{c} {n}" for c, n in reasons.most_common()))
    croniter_side_by_side(jobs, outcomes)


if __name__ == "__main__":
    main(
        int(sys.argv[1]) if len(sys.argv) > 1 else 10_000,
        int(sys.argv[2]) if len(sys.argv) > 2 else 2,
    )
