"""Benchmark: translate and verify 10,000 random pgAgent schedules over the 28-year proof horizon.

Run: ``.venv/bin/python benchmarks/bench_schedule.py [count]``.

Each schedule is translated to pg_cron (``agent_to_cron``, which already proves its result with
the equivalence checker) and then verified again on its own (``check_equivalence``), both over
the proof horizon from 2024-01-01 (28 years, the calendar's weekday cycle). Two thirds run UTC -> pg_cron 1.4.2 (GMT); one third run in
Europe/Berlin with ``cron.timezone = 'Europe/Berlin'`` on 1.6.7, so DST days are exercised.

croniter baseline: enumerating the same fire times with croniter's iterator costs one
``get_next`` per fire time. We time ``get_next`` on a sample of the translated entries (up to
2,000 steps each), take the mean cost per step, and multiply by the exact number of fire times
of all 10,000 schedules (which the checker reports). Enumerating every schedule fully would take
hours; the extrapolation is stated as such.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import Counter
from pathlib import Path

from croniter import croniter

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from bridge.schedule import (
    AgentSchedule,
    CronTarget,
    agent_to_cron,
    check_equivalence,
)

SINCE = dt.date(2024, 1, 1)
UNTIL = dt.datetime(2028, 1, 1, tzinfo=dt.timezone.utc)
TARGETS = (
    ("UTC", CronTarget.of("1.4.2")),
    ("Europe/Berlin", CronTarget.of("1.6.7", "Europe/Berlin")),
)


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


class PgCronIter(croniter):  # type: ignore[misc]
    def __init__(self, *args: object, **kwargs: object) -> None:
        kwargs["implement_cron_bug"] = True
        super().__init__(*args, **kwargs)


def main(count: int = 10_000) -> None:
    rng = random.Random(20240101)
    schedules = [random_schedule(rng) for _ in range(count)]
    jobs = [(s, *TARGETS[0 if i % 3 else 1]) for i, s in enumerate(schedules)]

    t0 = time.perf_counter()
    translations = [
        agent_to_cron(s, target=target, agent_zone=zone, since=SINCE) for s, zone, target in jobs
    ]
    t1 = time.perf_counter()
    checks = [
        check_equivalence(s, tr.expressions, target=target, agent_zone=zone, since=SINCE)
        for (s, zone, target), tr in zip(jobs, translations, strict=True)
    ]
    t2 = time.perf_counter()

    exact = sum(tr.exact for tr in translations)
    fires = sum(c.cron_fires for c in checks)
    print(f"schedules:                 {count}")
    print(f"translate (incl. proof):   {t1 - t0:7.2f} s  ({(t1 - t0) / count * 1e6:6.0f} us each)")
    print(f"verify again:              {t2 - t1:7.2f} s  ({(t2 - t1) / count * 1e6:6.0f} us each)")
    print(f"total:                     {t2 - t0:7.2f} s")
    print(f"exact translations:        {exact} ({exact / count:.1%})")
    print(f"pg_cron fire times proved: {fires:,} over the proof horizon")
    reasons = Counter(
        f.code for tr in translations if not tr.exact for f in tr.findings if f.severity.rank
    )
    print("findings of inexact ones:  " + ", ".join(f"{c} {n}" for c, n in reasons.most_common()))

    # croniter: cost per enumerated fire time, on a sample
    steps = 0
    spent = 0.0
    sample = [tr for tr in translations[:100] if tr.expressions]
    start = dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc)
    for tr in sample:
        for expr in tr.expressions:
            if "$" in expr:
                continue
            it = PgCronIter(expr, start)
            a = time.perf_counter()
            n = 0
            while n < 2000 and it.get_next(dt.datetime) < UNTIL:
                n += 1
            spent += time.perf_counter() - a
            steps += n + 1
    per_step = spent / steps
    estimate = per_step * fires
    print(
        f"croniter get_next:         {per_step * 1e6:7.1f} us per fire time (sample of {steps:,})"
    )
    print(
        f"croniter, extrapolated:    {estimate:9.0f} s to enumerate the same {fires:,} fire times"
    )
    print(f"speed-up (total vs croniter): {estimate / (t2 - t0):,.0f}x")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
