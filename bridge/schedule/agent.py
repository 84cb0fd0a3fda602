"""pgAgent schedules: the five bitmasks, start/end and exceptions, with pgAgent 4.2's real rule.

Matching follows ``pga_next_schedule`` (pgagent.sql): all-false = any, weekday AND
month-day, "last day" only when it is the only month-day, start/end inclusive to the minute,
exceptions on local wall time, ambiguous wall times at the later instant, gap times skipped.
"Actual" mode adds the bugs that change what really runs (empty schedule every 2 minutes, last
day ignored beside other days, <= 4.0's leap-February skip); "configured" mode is what the user
ticked.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache
from typing import Literal

from bridge import model
from bridge.schedule import findings as F
from bridge.schedule.findings import Finding
from bridge.schedule.fireset import Component, FireSet
from bridge.schedule.masks import (
    ALL_DAYS,
    ALL_HOURS,
    ALL_MINUTES,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    EVEN_MINUTES,
    mask_of,
    values_of,
)
from bridge.schedule.slots import Slot, time_pattern
from bridge.schedule.zones import day_number, minute_number, zone

Mode = Literal["actual", "configured"]
#: Which ``pga_next_schedule`` body decides: 4.2 (minute search start, pgagent d36435f), 4.1
#: (leap-year fix of "last day", 943add8), or the original body up to 4.0.
Body = Literal["4.2", "4.1", "<=4.0"]
Exception_ = tuple["dt.date | None", "dt.time | None"]


def body_of(function_body: str) -> Body:
    """The rule a catalog's ``pga_next_schedule`` fingerprint (``PgAgentCatalog.function_body``,
    from ``fingerprint`` in catalog/pgagent_rows.py) stands for: "4.1" and "<=4.0" as read, 4.2
    for "4.2" and for a body it does not recognise ("unknown"). The planner, its guards and
    ``verify --runs`` all judge by this one answer."""
    if function_body == "4.1":
        return "4.1"
    if function_body == "<=4.0":
        return "<=4.0"
    return "4.2"


@dataclass(frozen=True)
class AgentSchedule:
    """One ``pga_schedule`` row as masks; 0 (all false) means "any", as in pgAgent.

    ``monthdays`` uses bits 1..31; ``last_day`` is array element 32. ``weekdays`` bit 0 = Sunday.
    """

    minutes: int = 0
    hours: int = 0
    weekdays: int = 0
    monthdays: int = 0
    last_day: bool = False
    months: int = 0
    start: dt.datetime | None = None
    end: dt.datetime | None = None
    exceptions: tuple[Exception_, ...] = ()

    @classmethod
    def from_model(cls, schedule: model.Schedule) -> AgentSchedule:
        mask = _flag_mask
        return cls(
            minutes=mask(schedule.minutes, 0),
            hours=mask(schedule.hours, 0),
            weekdays=mask(schedule.weekdays, 0),
            monthdays=mask(schedule.monthdays[:31], 1),
            last_day=bool(schedule.monthdays[31]) if len(schedule.monthdays) > 31 else False,
            months=mask(schedule.months, 1),
            start=schedule.start,
            end=schedule.end,
            exceptions=tuple((e.date, e.time) for e in schedule.exceptions),
        )

    def arrays(self) -> tuple[tuple[bool, ...], ...]:
        """The five pgAgent arrays (minutes, hours, weekdays, monthdays[32], months)."""

        def flags(mask: int, base: int, size: int) -> tuple[bool, ...]:
            return tuple(bool((mask >> (i + base)) & 1) for i in range(size))

        return (
            flags(self.minutes, 0, 60),
            flags(self.hours, 0, 24),
            flags(self.weekdays, 0, 7),
            (*flags(self.monthdays, 1, 31), self.last_day),
            flags(self.months, 1, 12),
        )

    def to_model(self, *, id: int = 0, job_id: int = 0, name: str = "") -> model.Schedule:
        minutes, hours, weekdays, monthdays, months = self.arrays()
        return model.Schedule(
            id=id,
            job_id=job_id,
            name=name,
            description="",
            enabled=True,
            start=self.start,
            end=self.end,
            minutes=minutes,
            hours=hours,
            weekdays=weekdays,
            monthdays=monthdays,
            months=months,
            exceptions=tuple(
                model.ScheduleException(i, d, t) for i, (d, t) in enumerate(self.exceptions)
            ),
        )

    @property
    def is_empty(self) -> bool:
        """Minutes, hours, month-days and months all unset: pgAgent's every-2-minutes quirk."""
        return not (self.minutes or self.hours or self.monthdays or self.last_day or self.months)


@lru_cache(maxsize=1024)
def _flag_mask(flags: tuple[bool, ...], base: int) -> int:
    """The mask of a pgAgent bool[] (element ``i`` is value ``i + base``): catalogs hold a few
    distinct arrays many times over."""
    return mask_of(i + base for i, flag in enumerate(flags) if flag)


def as_agent(schedule: AgentSchedule | model.Schedule) -> AgentSchedule:
    """The engine's form of a schedule; a catalog schedule's is made once (a plan asks for it
    when it translates, unites, describes, guards and checks the run log)."""
    if isinstance(schedule, AgentSchedule):
        return schedule
    start, end = schedule.start, schedule.end
    return _agent_of(schedule, start and start.tzinfo, end and end.tzinfo)


@lru_cache(maxsize=65536)
def _agent_of(schedule: model.Schedule, *zones: dt.tzinfo | None) -> AgentSchedule:
    """``zones`` (the start's and the end's) are part of the key: datetimes of one instant in
    other offsets are equal, but a description writes each in its own."""
    return AgentSchedule.from_model(schedule)


def without_dates(schedule: AgentSchedule) -> AgentSchedule:
    """The schedule without its start, end and exceptions: what cron fields can say (built
    positionally; a translation that explains a difference and a guard's superset both ask)."""
    if schedule.start is None and schedule.end is None and not schedule.exceptions:
        return schedule
    return AgentSchedule(
        schedule.minutes,
        schedule.hours,
        schedule.weekdays,
        schedule.monthdays,
        schedule.last_day,
        schedule.months,
    )


def effective_slot(schedule: AgentSchedule, mode: Mode = "actual") -> Slot:
    """The slot pgAgent fires (``actual``) or the user ticked (``configured``)."""
    minutes = schedule.minutes or ALL_MINUTES
    if schedule.is_empty and mode == "actual":
        minutes = EVEN_MINUTES
    days, last = schedule.monthdays, schedule.last_day
    if not days and not last:
        days = ALL_DAYS
    elif days and last and mode == "actual":
        last = False
    return Slot(  # positional: the engine makes this slot several times per proof
        minutes,
        schedule.hours or ALL_HOURS,
        schedule.months or ALL_MONTHS,
        days,
        last,
        schedule.weekdays or ALL_WEEKDAYS,
    )


def _time_minute(value: dt.time) -> int | None:
    """Wall minute of an exception time; a time with seconds never matches a candidate."""
    if value.second or value.microsecond:
        return None
    return value.hour * 60 + value.minute


def agent_fireset(
    schedules: AgentSchedule | model.Schedule | tuple[AgentSchedule | model.Schedule, ...],
    zone_name: str,
    *,
    mode: Mode = "actual",
    body: Body = "4.2",
) -> FireSet:
    """The instants one job's schedules fire at in zone ``zone_name`` (one run per minute)."""
    items = schedules if isinstance(schedules, tuple) else (schedules,)
    comps = []
    for item in items:
        schedule = as_agent(item)
        slot = effective_slot(schedule, mode)
        time_exc = 0
        by_day: dict[int, int] = {}
        for day, time in schedule.exceptions:
            minute = None if time is None else _time_minute(time)
            if time is not None and minute is None:
                continue
            if day is None and minute is not None:
                time_exc |= 1 << minute
            elif day is not None:
                mask = (1 << 1440) - 1 if minute is None else 1 << minute
                by_day[day_number(day)] = by_day.get(day_number(day), 0) | mask
        comps.append(
            Component(
                slots=(slot,),
                time_exceptions=time_exc,
                date_exceptions=tuple(sorted(by_day.items())),
                start=None if schedule.start is None else minute_number(schedule.start),
                end=None if schedule.end is None else _end_minute(schedule.end),
                skip_leap_feb_last=(
                    mode == "actual" and body == "<=4.0" and slot.last and not slot.days
                ),
            )
        )
    return FireSet(zone=zone_name, components=tuple(comps), later_only=True)


def _end_minute(end: dt.datetime) -> int:
    """Last epoch minute not after ``end`` (the end is inclusive)."""
    return minute_number(end)


def agent_fires_at(
    schedule: AgentSchedule | model.Schedule,
    instant: dt.datetime,
    zone_name: str,
    *,
    mode: Mode = "actual",
    body: Body = "4.2",
) -> bool:
    """Does the schedule fire at ``instant``'s minute? A direct, per-instant statement of the
    rule, independent of the analytic engine (which the tests check against it)."""
    schedule = as_agent(schedule)
    tz = zone(zone_name)
    instant = instant.replace(second=0, microsecond=0)
    local = instant.astimezone(tz)
    wall = local.replace(tzinfo=None)
    # an ambiguous wall time fires only at its later instant
    if local.fold == 0 and wall.replace(fold=1).replace(tzinfo=tz).utcoffset() != local.utcoffset():
        return False
    if schedule.start is not None and instant < schedule.start.replace(second=0, microsecond=0):
        return False
    if schedule.end is not None and instant > schedule.end:
        return False
    slot = effective_slot(schedule, mode)
    if not ((slot.minutes >> wall.minute) & 1 and (slot.hours >> wall.hour) & 1):
        return False
    if not ((slot.months >> wall.month) & 1 and (slot.weekdays >> (wall.isoweekday() % 7)) & 1):
        return False
    is_last = (wall.date() + dt.timedelta(days=1)).day == 1
    if (
        mode == "actual"
        and body == "<=4.0"
        and slot.last
        and not slot.days
        and (wall.month, wall.day) == (2, 29)
    ):
        is_last = False
    if not ((slot.days >> wall.day) & 1 or (slot.last and is_last)):
        return False
    for day, time in schedule.exceptions:
        if time is not None and (time.second or time.microsecond):
            continue
        if (
            (day is None or day == wall.date())
            and (time is None or (time.hour, time.minute) == (wall.hour, wall.minute))
            and (day is not None or time is not None)
        ):
            return False
    return True


#: Shortest length of each month (February 28), and the longest.
_SHORTEST = (0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)
_LONGEST = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def short_month_traps(schedule: AgentSchedule) -> list[str]:
    """Dates pgAgent's next-run search would build that do not exist (``pga_next_schedule``
    casts the text ``Y-M-D H:M`` it assembles to timestamptz, which raises for them).

    Two paths of ``pga_next_schedule`` assemble a date without checking it exists: the search in
    a selected month finds any selected day (Apr 31); and once the current day is past every
    selected day, it wraps to the lowest selected day of the *next calendar month*, selected or
    not (days {29, 30} in January wrap to Feb 29). A selected "last day" (element 32) is always
    found first, so it prevents the wrap.
    """
    days = values_of(schedule.monthdays)
    if not days:
        return []
    months = values_of(schedule.months or ALL_MONTHS)
    out: list[str] = []
    for month in months:
        for day in days:
            if day > _SHORTEST[month]:
                out.append(f"day {day} in month {month}")
    low, high = min(days), max(days)
    if low > 28 and not schedule.last_day:
        for month in months:
            following = month % 12 + 1
            if high < _LONGEST[month] and low > _SHORTEST[following]:
                out.append(f"day {low} in month {following} (stepping on from month {month})")
    return sorted(set(out), key=out.index)


def agent_findings(
    schedule: AgentSchedule | model.Schedule, *, body: Body = "4.2"
) -> list[Finding]:
    """pgAgent bugs and traps this schedule runs into (``pga_next_schedule`` in pgagent.sql;
    the empty schedule is pgagent #37)."""
    schedule = as_agent(schedule)
    out: list[Finding] = []
    if schedule.is_empty:
        out.append(
            F.warning(
                F.EMPTY_EVERY_2_MIN,
                "no minute, hour, month-day or month is selected: pgAgent runs this schedule "
                "every other minute (pgagent #37) of the selected weekdays (of every day when "
                "none is)",
                "translated as every 2 minutes (*/2) by default; the phase of pgAgent's runs "
                "depends on when each run ended. Use configured mode for every minute, or fix "
                "the schedule if the empty Repeat tab was an accident",
            )
        )
    if schedule.last_day and schedule.monthdays:
        days = ", ".join(str(d) for d in values_of(schedule.monthdays))
        out.append(
            F.warning(
                F.LAST_DAY_IGNORED,
                f"'last day' is selected together with day(s) {days}: pgAgent silently ignores "
                "the last-day flag then, and runs only on the listed days",
                "translated without the last day by default (what ran before runs after); "
                "configured mode adds the last day as its own pg_cron entry",
            )
        )
    short = short_month_traps(schedule)
    if short:
        out.append(
            F.warning(  # pgAgent fails; pg_cron runs what was configured where the day exists
                F.SHORT_MONTH_ERROR,
                f"pgAgent would build {', '.join(short)}: it raises 'date/time field value out "
                "of range' when its next-run search reaches a month without the day (also when "
                "it steps from a selected month into an unselected short one), so saving fails "
                "or the job stays claimed (stuck) after a run",
                "pg_cron simply skips months without that day; the translation keeps the days "
                "in the months that have them",
            )
        )
    minutes = schedule.minutes or ALL_MINUTES
    if body == "4.2" and minutes.bit_count() > 1 and not schedule.is_empty:
        out.append(
            F.info(
                F.MINUTE_SKIP_4_2,
                "pgAgent 4.2 can skip the early minutes of this schedule after a long run, an "
                "edit or a restart (its minute search starts at the current minute once a larger "
                "unit has advanced)",
                "pg_cron fires every listed minute; nothing to do unless jobs relied on the skip",
            )
        )
    feb = (schedule.months or ALL_MONTHS) & (1 << 2)
    if body == "<=4.0" and schedule.last_day and not schedule.monthdays and feb:
        out.append(
            F.warning(
                F.LEAP_FEB_LAST_DAY_SKIPPED,
                "pgAgent 4.0 and older skip the 'last day' run of February in leap years",
                "pg_cron runs on 29 February as well; translated as the last day of every month",
            )
        )
    slot = effective_slot(schedule, "actual")
    if not slot.empty and not schedule.end:
        excepted = 0
        for when, time in schedule.exceptions:
            if when is None and time is not None and not (time.second or time.microsecond):
                excepted |= 1 << (time.hour * 60 + time.minute)
        if time_pattern(slot.minutes, slot.hours) & ~excepted == 0:
            out.append(
                F.error(
                    F.EXCEPTIONS_LOOP_FOREVER,
                    "the exceptions remove every time of day this schedule fires at: pgAgent's "
                    "next-run search never ends, so saving it or ending a run hangs",
                    "the schedule never fires; migrate it as inactive or drop it",
                )
            )
    return out
