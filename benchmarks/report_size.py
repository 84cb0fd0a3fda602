"""Measurement: how long the default text report of ``plan`` is on a generated catalog (issue 15's
done-when): total lines, lines per decision needed, lines for exact jobs, the widest line.

Run: ``.venv/bin/python benchmarks/report_size.py [jobs] [width]`` (defaults 300 and 100).

The catalog is built in memory (``tests/factories.py``) with the schedule shapes of
``bench_plan.random_schedule``, pgAgent and pg_cron in UTC; a fifth of the schedules skip a holiday,
some vacuum jobs cannot be guarded (VACUUM runs alone: their fire times change), and 2 % of the
steps are shell steps (manual jobs). A
"decision needed" is one finding code of warning or error severity in the codes table.
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.bench_plan import random_schedule
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.planner.build import make_plan
from bridge.planner.target import Target
from bridge.planner.types import Plan, PlanOptions
from bridge.report.layout import TextOptions
from bridge.report.plan import plan_json_text, plan_text
from tests.factories import catalog_of

TODAY = dt.date(2026, 11, 21)
#: A fifth of the schedules skip Christmas (an exception date).
HOLIDAY = dt.date(2026, 12, 25)


def generated_specs(jobs: int, seed: int = 15) -> list[JobSpec]:
    """``jobs`` pgAgent jobs of realistic shapes: 1-5 steps, one or two schedules each."""
    rng = random.Random(seed)
    specs = []
    for j in range(1, jobs + 1):
        kind = rng.choice(["etl", "vacuum", "report"])
        steps = []
        for n in range(rng.choice([1, 2, 3])):
            if kind == "vacuum" and n == 0 and rng.random() < 0.3:  # must run alone: no guard
                steps.append(StepSpec("vacuum", f"VACUUM ANALYZE t{j % 97}", dbname="app"))
            elif rng.random() < 0.02:
                steps.append(StepSpec(f"step {n:02d}", "echo hi", kind="b"))
            else:
                code = f"UPDATE t{j % 97} SET n = n + 1 WHERE id = {n}"
                steps.append(StepSpec(f"step {n:02d}", code, dbname="app"))
        schedules = []
        for k in range(1 if rng.random() < 0.7 else 2):
            minutes, hours, weekdays, monthdays, months = random_schedule(rng)
            schedules.append(
                ScheduleSpec(
                    f"schedule {k}",
                    minutes=frozenset(minutes),
                    hours=frozenset(hours),
                    weekdays=frozenset(weekdays),
                    monthdays=frozenset(monthdays),
                    months=frozenset(months),
                    exceptions=((HOLIDAY, None),) if rng.random() < 0.2 else (),
                )
            )
        specs.append(JobSpec(f"job {j:03d} {kind}", steps, schedules, enabled=rng.random() > 0.05))
    return specs


def generated_plan(jobs: int = 300) -> Plan:
    catalog = catalog_of(*generated_specs(jobs))
    return make_plan(catalog, Target("1.6.7", "UTC", "postgres"), PlanOptions(), today=TODAY)


def main(jobs: int = 300, width: int = 100) -> None:
    plan = generated_plan(jobs)
    c = plan.counts()
    lines = plan_text(plan, TextOptions(width=width)).splitlines()
    decisions = len({f.code for f in plan.all_findings() if f.severity.value != "info"})
    exact_jobs = sum(1 for j in plan.jobs if j.status == "exact")
    deciding = c["manual"] + c["changed"]
    exact_lines = section_lines(lines, "[EXACT]")
    verbose = plan_text(plan, TextOptions(width=width, verbose=True)).splitlines()
    weeks = sum(1 for j in plan.jobs if j.fire_week is not None)
    print(
        f"plan of {c['jobs']} jobs: {c['exact']} exact, {c['changed']} changed, "
        f"{c['manual']} manual, {c['skipped']} skipped; {len(plan.all_findings())} findings, "
        f"JSON {len(plan_json_text(plan))} bytes"
    )
    print(
        f"default text report (width {width}): {len(lines)} lines, {decisions} decisions needed "
        f"({len(lines) / max(decisions, 1):.1f} lines per decision; {deciding} jobs need one, "
        f"{len(lines) / max(deciding, 1):.1f} lines per such job), {exact_lines} lines for "
        f"{exact_jobs} exact jobs, widest line {max(map(len, lines))} columns"
    )
    print(
        f"with -v: {len(verbose)} lines ({section_lines(verbose, '[EXACT]')} for the exact jobs), "
        f"widest {max(map(len, verbose))} columns; {weeks} changed jobs with a calendar"
    )


def section_lines(lines: list[str], header: str) -> int:
    """Lines of the job sections that start with ``header`` (up to the next blank line)."""
    count, inside = 0, False
    for line in lines:
        inside = line.startswith(header) or (inside and bool(line))
        count += inside
    return count


if __name__ == "__main__":
    main(*(int(a) for a in sys.argv[1:3]))
