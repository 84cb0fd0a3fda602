"""Measurement: the share of random pgAgent schedules that plan exact on pg_cron 1.4 (GMT), with
and without guards (issue 13's done-when).

Run: ``.venv/bin/python benchmarks/guard_share.py [count]``.

Schedules come from the schedule benchmark's generator, with exceptions (a third), start/end
windows (a sixth) and pgAgent zones UTC (half), America/New_York (a third) and Europe/Berlin.
Each is decided as the planner does (``bridge.planner.guarded``): the plain translation (time-only
exceptions folded), else one superset entry proved to cover pgAgent's fire times plus a guard;
the findings a guard answers are dropped, any other warning or error keeps it from "exact".
Steps are taken to be wrappable. Schedules pgAgent itself cannot evaluate (its search loops
forever, raises for short months, or never fires) are counted apart, as the issue asks.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.bench_schedule import random_schedule
from bridge.planner.guarded import RESOLVED
from bridge.schedule import AgentSchedule, CronTarget, agent_to_cron
from bridge.schedule import findings as F
from bridge.schedule.guard import fold_time_exceptions, superset

SINCE = dt.date(2026, 12, 1)
TARGET = CronTarget.of("1.4.2")
UNEVALUABLE = {F.EXCEPTIONS_LOOP_FOREVER, F.NEVER_FIRES, F.SHORT_MONTH_ERROR}


def catalog_schedule(rng: random.Random) -> tuple[AgentSchedule, str]:
    agent = random_schedule(rng)
    if rng.random() < 1 / 3:
        days = [SINCE + dt.timedelta(days=rng.randrange(800)) for _ in range(rng.randint(1, 4))]
        exc: list[tuple[dt.date | None, dt.time | None]] = [(d, None) for d in days]
        if rng.random() < 0.3:
            exc.append((None, dt.time(rng.randrange(24), rng.choice((0, 30)))))
        agent = replace(agent, exceptions=tuple(exc))
    if rng.random() < 1 / 6:
        start = dt.datetime.combine(SINCE + dt.timedelta(days=rng.randrange(90)), dt.time(8),
                                    dt.timezone.utc)  # fmt: skip
        agent = replace(agent, start=start, end=start + dt.timedelta(days=rng.randrange(30, 900)))
    zone = rng.choices(("UTC", "America/New_York", "Europe/Berlin"), (3, 2, 1))[0]
    return agent, zone


def main(count: int = 1000) -> None:
    rng = random.Random(13)
    tally: Counter[str] = Counter()
    reasons: Counter[str] = Counter()
    t0 = time.perf_counter()
    for _ in range(count):
        agent, zone = catalog_schedule(rng)
        folded = fold_time_exceptions(agent)
        plain = agent_to_cron(folded, target=TARGET, agent_zone=zone, since=SINCE)
        codes = {f.code for f in plain.findings}
        if codes & UNEVALUABLE:
            tally["pgAgent cannot evaluate"] += 1
            continue
        tally["evaluable"] += 1
        tally["exact without guards"] += plain.exact
        if plain.exact:
            tally["exact"] += 1
            continue
        left = {f.code for f in plain.findings if f.severity != "info" and f.code not in RESOLVED}
        found = superset([folded], target=TARGET, agent_zone=zone, since=SINCE)
        if not found.covered:
            reasons["no proved superset"] += 1
        elif left:
            reasons.update(sorted(left))
        else:
            tally["exact"] += 1
    took = time.perf_counter() - t0
    evaluable = tally["evaluable"]
    print(f"schedules: {count} (pg_cron 1.4.2, GMT); pgAgent cannot evaluate "
          f"{tally['pgAgent cannot evaluate']}; evaluable {evaluable}")  # fmt: skip
    print(f"exact without guards: {tally['exact without guards']} "
          f"({tally['exact without guards'] / evaluable:.1%})")  # fmt: skip
    print(f"exact with guards:    {tally['exact']} ({tally['exact'] / evaluable:.1%})")
    for reason, n in reasons.most_common():
        print(f"  not exact: {n:4d} {reason}")
    print(f"time: {took:.1f} s (machine shared with other sessions)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 1000)
