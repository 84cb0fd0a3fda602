"""The schedule side of a guard: one cron entry that fires at least whenever pgAgent does.

A guarded pg_cron job runs its command at every fire time of a *superset* entry, and the command
first asks pgAgent's own rule (its SQL form is built in :mod:`bridge.planner.guard`) whether the
current minute is a fire time. The job's fire set is then ``entry AND guard``. The guard is
pgAgent's rule itself, so that set equals pgAgent's exactly when the entry covers every pgAgent
fire time; this module builds the entry and proves the cover with the analytic engine.

The cover is proved on the schedules' *fields* (no start, end or exception: those only remove fire
times, and the guard applies them), over one weekday cycle of the calendar (28 years, which holds
every combination of weekday, month-day, leap year and rule-based DST date); fields have no dates,
so the proof holds for all time. One entry, not a union: pg_cron runs each of its jobs separately,
so a minute two entries shared would run twice.

Also here: folding time-only exceptions that remove whole hour or minute columns into the fields,
which keeps such schedules exact without any guard (``0 * * * *`` except 12:00 is
``0 0-11,13-23 * * *``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace

from bridge.schedule.agent import AgentSchedule, Mode, agent_fireset, effective_slot, without_dates
from bridge.schedule.cron import CronSyntaxError, cron_fireset, parse_cron
from bridge.schedule.equivalence import DEFAULT_DAYS
from bridge.schedule.fireset import Comparison, compare
from bridge.schedule.masks import (
    ALL_DAYS,
    ALL_HOURS,
    ALL_MINUTES,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    span,
    values_of,
)
from bridge.schedule.ranges import cron_field
from bridge.schedule.slots import Slot, shift_slot
from bridge.schedule.translate import offset_gaps
from bridge.schedule.versions import CronTarget

#: Month-days a "last day" can fall on.
LAST_DAYS = span(28, 31)


@dataclass(frozen=True)
class Superset:
    """A cron entry for a guarded job and the proof that it covers pgAgent's fire times."""

    expression: str | None
    #: every fire time of the schedules' fields is a fire time of the entry, for all time
    covered: bool
    #: pgAgent's fields (left) against the entry (right) over the proof horizon
    comparison: Comparison | None

    def runs_per_year(self) -> tuple[float, float]:
        """(entry fire times, pgAgent field fire times) per year: what a superset costs."""
        if self.comparison is None:
            return 0.0, 0.0
        years = (self.comparison.until - self.comparison.since).days / 365.25
        return self.comparison.right_total / years, self.comparison.left_total / years


def fold_time_exceptions(agent: AgentSchedule) -> AgentSchedule:
    """The same schedule, with time-only exceptions that remove a whole minute column (that minute
    in every selected hour) or a whole hour row taken out of the fields instead.

    Exact by construction: a time-only exception skips that wall time on every day, so removing
    every excepted combination of a column removes the same fire times. The empty schedule
    (pgAgent's every-2-minutes quirk) is left alone: filling its fields would change what it does.
    """
    if agent.is_empty or not agent.exceptions:
        return agent
    excepted: set[tuple[int, int]] = set()
    for day, time in agent.exceptions:
        if day is None and time is not None and not (time.second or time.microsecond):
            excepted.add((time.hour, time.minute))
    if not excepted:
        return agent
    minutes = agent.minutes or ALL_MINUTES
    hours = agent.hours or ALL_HOURS
    changed = True
    while changed:
        changed = False
        minute_values = values_of(minutes)  # once per pass, not per hour: the hours loop keeps it
        for hour in values_of(hours):
            if all((hour, m) in excepted for m in minute_values):
                hours &= ~(1 << hour)
                changed = True
        hour_values = values_of(hours)
        for minute in minute_values:
            if all((h, minute) in excepted for h in hour_values):
                minutes &= ~(1 << minute)
                changed = True
    if not minutes or not hours:
        return agent  # nothing left: EXCEPTIONS_LOOP_FOREVER says so; keep what the user wrote
    if minutes == (agent.minutes or ALL_MINUTES) and hours == (agent.hours or ALL_HOURS):
        return agent
    kept = tuple(
        (day, time)
        for day, time in agent.exceptions
        if not (
            day is None
            and time is not None
            and not (time.second or time.microsecond)
            and not ((minutes >> time.minute) & 1 and (hours >> time.hour) & 1)
        )
    )
    return replace(
        agent,
        minutes=0 if minutes == ALL_MINUTES else minutes,
        hours=0 if hours == ALL_HOURS else hours,
        exceptions=kept,
    )


def _union(slots: Sequence[Slot], loose_days: bool) -> Slot:
    """One slot holding every slot: the product of the fields' unions ("last day" counted as the
    days it can be). ``loose_days``: any day, for shifts the day fields cannot follow."""
    minutes = hours = months = days = weekdays = 0
    for slot in slots:
        minutes |= slot.minutes
        hours |= slot.hours
        months |= slot.months
        days |= slot.days | (LAST_DAYS if slot.last else 0)
        weekdays |= slot.weekdays
    if loose_days:
        return Slot(minutes=minutes, hours=hours)
    if days & ALL_DAYS == ALL_DAYS:
        return Slot(minutes=minutes, hours=hours, months=months, weekdays=weekdays)
    # month-days restricted: the weekday field stays `*`, so pg_cron's OR never applies
    return Slot(minutes=minutes, hours=hours, months=months, days=days & ALL_DAYS)


def _expression(slot: Slot) -> str:
    dom = "*" if slot.days == ALL_DAYS else cron_field(slot.days, 1, 31, star=False)
    dow = "*" if slot.weekdays == ALL_WEEKDAYS else cron_field(slot.weekdays, 0, 6, star=False)
    month = cron_field(slot.months & ALL_MONTHS, 1, 12)
    return f"{cron_field(slot.minutes, 0, 59)} {cron_field(slot.hours, 0, 23)} {dom} {month} {dow}"


def superset(
    agents: Sequence[AgentSchedule],
    *,
    target: CronTarget,
    agent_zone: str,
    mode: Mode = "actual",
    since: dt.date,
    days: int = DEFAULT_DAYS,
) -> Superset:
    """One entry that fires whenever the schedules' fields do, in ``target``'s zone, proved.

    Times are shifted by every offset difference the two zones have (New York's 09:30 is 13:30 or
    14:30 GMT); the day fields follow when the proof shows they can, else any day is taken."""
    bare = tuple(without_dates(a) for a in agents)
    slots = [effective_slot(a, mode) for a in bare]
    slots = [s for s in slots if not s.empty]
    if not slots:
        return Superset(None, False, None)
    gaps = (0,) if agent_zone == target.zone else offset_gaps(agent_zone, target.zone, since, days)
    shifted = [x for s in slots for gap in gaps for x in shift_slot(s, gap)]
    left = agent_fireset(bare, agent_zone, mode=mode)
    tried: set[str] = set()
    result = Superset(None, False, None)
    # 1.6.0-1.6.1 read the date of 24 hours later (#288): only entries with no day restriction
    for loose in (True,) if target.version.date_fields_from_tomorrow else (False, True):
        if loose:
            # times alone (any day): a shift across a month end can leave a day-shifted slot empty
            # (made only here: most schedules are covered without it)
            anyday = [
                x for s in slots for gap in gaps for x in shift_slot(Slot(s.minutes, s.hours), gap)
            ]
            expr = _expression(_union(anyday, True))
        else:
            union = _union(shifted, False)
            if union.empty:  # every day-shifted slot left empty by a month end: any day only
                continue
            expr = _expression(union)
        if expr in tried:
            continue
        tried.add(expr)
        try:
            parsed = parse_cron(expr, target.version)
        except CronSyntaxError:  # pragma: no cover - only valid fields are written
            continue
        if parsed.kind != "cron":
            return Superset(None, False, None)  # 1.5.0 reads it as seconds (#239)
        right = cron_fireset([parsed], target.zone, and_logic=target.and_logic)
        comparison = compare(left, right, since, days)
        result = Superset(expr, comparison.left_only == 0, comparison)
        if result.covered:
            return result
    return result
