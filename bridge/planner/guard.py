"""A guard: pgAgent's rule for one job as a SQL boolean expression in ``$1``, the minute being run.

The expression is true exactly when ``pga_next_schedule`` (pgagent.sql) would return that minute
for one of the job's schedules: all matching is on the wall time in pgAgent's zone
(``$1 AT TIME ZONE zone``), an all-false array means any value, weekday AND month-day, "last day"
(element 32) only when it is the only month-day (``actual`` mode), start and end inclusive to the
minute, exceptions on the local date and time. A wall time that occurs twice (DST fall-back) fires
only at its later instant, which is the instant PostgreSQL gives the wall time back
(``timestamp AT TIME ZONE``): so ``(wall AT TIME ZONE zone) = $1`` keeps exactly that one. A wall
time that does not exist is never a minute of ``$1``, as pgAgent never runs it either.

Evaluating it reads no table, so a skipped run costs one expression. Tools and tests can
``PREPARE g(timestamptz) AS SELECT (<sql>)`` and ask any instant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bridge.pg.quoting import literal
from bridge.schedule import AgentSchedule, Body, Mode, effective_slot
from bridge.schedule.describe import describe_agent_schedule
from bridge.schedule.masks import (
    ALL_DAYS,
    ALL_HOURS,
    ALL_MINUTES,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    values_of,
)

#: The first line of every guarded command's block: how pgbridge (and the export) recognise one.
GUARD_MARK = "-- pgbridge guard"
#: How a run the guard skipped starts its message in ``cron.job_run_details.return_message``.
SKIP_MESSAGE = "pgbridge guard skipped this run"

_FULL = {
    "minute": (ALL_MINUTES, 0, 59),
    "hour": (ALL_HOURS, 0, 23),
    "dow": (ALL_WEEKDAYS, 0, 6),
    "day": (ALL_DAYS, 1, 31),
    "month": (ALL_MONTHS, 1, 12),
}


def guard_words(command: str) -> str | None:
    """The guard's description when ``command`` is a pgbridge-guarded block, else None."""
    head, _, rest = command.partition("\n")
    if not (head.startswith("DO $") and head.endswith("$") and rest.startswith(GUARD_MARK)):
        return None
    return rest.partition("\n")[0][len(GUARD_MARK) :].lstrip(": ")


@dataclass(frozen=True)
class Guard:
    """A job's guard: ``sql`` (boolean, in ``$1``) and the same rule in plain words."""

    sql: str
    description: str


@lru_cache(maxsize=4096)
def _field(part: str, mask: int, wall: str) -> str | None:
    """``date_part(part, wall)`` in the mask's values (None when the mask is every value);
    remembered: a job's hours, months and weekdays recur across jobs of one zone."""
    full, _, _ = _FULL[part]
    mask &= full
    if mask == full:
        return None
    outside = full & ~mask
    value = f"date_part('{part}', {wall})::int"
    # the shorter list, chosen by counting bits: only that one is made
    if outside.bit_count() < mask.bit_count():
        return f"{value} NOT IN ({', '.join(map(str, values_of(outside)))})"
    return f"{value} IN ({', '.join(map(str, values_of(mask)))})"


def _stamp(value: dt.datetime) -> str:
    return f"timestamptz '{value.astimezone(dt.timezone.utc):%Y-%m-%d %H:%M:%S}+00'"


def schedule_sql(
    agent: AgentSchedule, wall: str, *, mode: Mode = "actual", body: Body = "4.2"
) -> str:
    """One schedule's rule on the wall time ``wall`` (its start and end on ``$1``)."""
    slot = effective_slot(agent, mode)
    parts = [
        p
        for p in (
            _field("minute", slot.minutes, wall),
            _field("hour", slot.hours, wall),
            _field("month", slot.months, wall),
            _field("dow", slot.weekdays, wall),
        )
        if p is not None
    ]
    last = f"date_part('day', {wall} + interval '1 day') = 1"
    if mode == "actual" and body == "<=4.0":  # 3.4 and 4.0 never fire "last day" on 29 February
        last += f" AND to_char({wall}, 'MM-DD') <> '02-29'"
    if slot.days == ALL_DAYS:
        pass
    elif slot.days and slot.last:
        parts.append(f"({_field('day', slot.days, wall)} OR {last})")
    elif slot.last:
        parts.append(last)
    else:
        days = _field("day", slot.days, wall)
        if days is not None:
            parts.append(days)
    if agent.start is not None:  # inclusive at minute granularity
        parts.append(f"$1 >= {_stamp(agent.start.replace(second=0, microsecond=0))}")
    if agent.end is not None:  # inclusive
        parts.append(f"$1 <= {_stamp(agent.end)}")
    dates: list[str] = []
    times: list[str] = []
    for day, time in dict.fromkeys(agent.exceptions):
        if time is not None and (time.second or time.microsecond):
            continue  # candidates have :00 seconds; such an exception never matches
        if day is not None and time is not None:
            parts.append(
                f"({wall}::date, {wall}::time) <> (date '{day.isoformat()}', time '{time:%H:%M}')"
            )
        elif day is not None:
            dates.append(f"date '{day.isoformat()}'")
        elif time is not None:
            times.append(f"time '{time:%H:%M}'")
    if dates:
        parts.append(f"{wall}::date NOT IN ({', '.join(dates)})")
    if times:
        parts.append(f"{wall}::time NOT IN ({', '.join(times)})")
    return " AND ".join(parts) if parts else "true"


def guard_sql(
    agents: Sequence[AgentSchedule], zone: str, *, mode: Mode = "actual", body: Body = "4.2"
) -> str:
    """The job's rule: one of its schedules fires at ``$1`` (the minute), in pgAgent's ``zone``."""
    wall = f"($1 AT TIME ZONE {literal(zone)})"
    rules = [schedule_sql(a, wall, mode=mode, body=body) for a in agents]
    either = rules[0] if len(rules) == 1 else " OR ".join(f"({r})" for r in rules)
    # the later instant of a repeated wall time only (pga_next_schedule works on wall time)
    return f"({wall} AT TIME ZONE {literal(zone)}) = $1 AND ({either})"


def describe_guard(agents: Sequence[AgentSchedule], zone: str, entry: str) -> str:
    """The guard in plain words."""
    rules = "; or ".join(describe_agent_schedule(a) for a in agents)
    return (
        f"runs the steps only at pgAgent's fire times in {zone} ({rules}); pg_cron starts the "
        f"command on {entry} and the guard skips the other minutes"
    )


def make_guard(
    agents: Sequence[AgentSchedule],
    zone: str,
    entry: str,
    *,
    mode: Mode = "actual",
    body: Body = "4.2",
) -> Guard:
    return Guard(guard_sql(agents, zone, mode=mode, body=body), describe_guard(agents, zone, entry))
