"""Schedules in plain English ("every 15 minutes from 09:00 to 17:45 on Monday to Friday").

Descriptions say what the user configured, plus a note wherever pgAgent really does something
else, so an inventory can be read without knowing pgAgent's bitmask conventions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from functools import lru_cache

from bridge import model
from bridge.schedule.agent import AgentSchedule, as_agent
from bridge.schedule.masks import ALL_HOURS, ALL_MINUTES, values_of
from bridge.schedule.ranges import cover

WEEKDAY_NAMES = ("Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def _join(parts: Sequence[str]) -> str:
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _run_words(first: int, last: int, step: int, name: Callable[[int], str]) -> list[str]:
    """One run of :func:`bridge.schedule.ranges.cover` in words."""
    if first == last:
        return [name(first)]
    if step == 1:
        return [f"{name(first)} to {name(last)}"]
    values = range(first, last + 1, step)
    if len(values) <= 3:
        return [name(v) for v in values]
    return [f"{name(first)} to {name(last)} every {step}"]


def words(mask: int, name: Callable[[int], str] = str) -> str:
    """The values of ``mask`` as words: "1 to 5", "Monday, Wednesday and Friday"."""
    return _join([w for run in cover(values_of(mask)) for w in _run_words(*run, name)])


@lru_cache(maxsize=4096)
def _times(minutes: int, hours: int) -> str:
    minute_list, hour_list = values_of(minutes), values_of(hours)
    hour_runs = cover(hour_list)
    if minutes == ALL_MINUTES:
        if hours == ALL_HOURS:
            return "every minute"
        if len(hour_runs) == 1 and hour_runs[0][2] == 1:
            return f"every minute from {hour_list[0]:02d}:00 to {hour_list[-1]:02d}:59"
        return f"every minute during hour(s) {words(hours)}"
    if len(minute_list) * len(hour_list) <= 4:
        return "at " + _join([f"{h:02d}:{m:02d}" for h in hour_list for m in minute_list])
    minute_runs = cover(minute_list)
    if len(minute_runs) == 1 and minute_runs[0][2] > 1 and len(minute_list) > 2:
        first, last, step = minute_runs[0]
        if first < step and last + step >= 60:
            every = f"every {step} minutes"
            if first:
                every += f" (at minute {first} past)"
            if hours == ALL_HOURS:
                return every
            if len(hour_runs) == 1 and hour_runs[0][2] == 1:
                return (
                    f"{every} from {hour_list[0]:02d}:{first:02d} to {hour_list[-1]:02d}:{last:02d}"
                )
            return f"{every} during hour(s) {words(hours)}"
    plural = "s" if len(minute_list) > 1 else ""
    text = f"at minute{plural} {words(minutes)} past "
    if hours == ALL_HOURS:
        return text + "every hour"
    return text + f"hour{'s' if len(hour_list) > 1 else ''} {words(hours)}"


def _days(schedule: AgentSchedule) -> str:
    weekdays = words(schedule.weekdays, WEEKDAY_NAMES.__getitem__) if schedule.weekdays else ""
    month_days = ""
    if schedule.monthdays:
        month_days = f"on day{'s' if schedule.monthdays.bit_count() > 1 else ''} " + words(
            schedule.monthdays
        )
        month_days += " of the month"
        if schedule.last_day:
            month_days += " (the 'last day' flag is also set, and pgAgent ignores it)"
    elif schedule.last_day:
        month_days = "on the last day of the month"
    if month_days and weekdays:
        return f"{month_days} when it is a {weekdays}"
    if month_days:
        return month_days
    return f"on {weekdays}" if weekdays else ""


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%d %H:%M %Z").strip()


def _exception(day: dt.date | None, time: dt.time | None) -> str:
    if day is not None and time is not None:
        return f"{day.isoformat()} {time:%H:%M}"
    if day is not None:
        return f"{day.isoformat()} (all day)"
    if time is not None:
        return f"{time:%H:%M} (every day)"
    return "nothing"


def describe_agent_schedule(schedule: model.Schedule | AgentSchedule) -> str:
    """A pgAgent schedule as one English sentence fragment (without a trailing period)."""
    agent = as_agent(schedule)
    if agent.is_empty:
        text = "every 2 minutes (nothing selected: pgAgent's empty-schedule behaviour)"
    else:
        text = _times(agent.minutes or ALL_MINUTES, agent.hours or ALL_HOURS)
    parts = [text]
    days = _days(agent)
    if days:
        parts.append(days)
    if agent.months:
        parts.append("in " + words(agent.months, lambda m: MONTH_NAMES[m - 1]))
    if agent.start is not None:
        parts.append(f"from {_stamp(agent.start)}")
    if agent.end is not None:
        parts.append(f"until {_stamp(agent.end)}")
    if agent.exceptions:
        shown = [_exception(d, t) for d, t in agent.exceptions[:3]]
        more = len(agent.exceptions) - len(shown)
        parts.append("except " + _join(shown + ([f"{more} more"] if more else [])))
    if isinstance(schedule, model.Schedule) and not schedule.enabled:
        parts.append("(disabled)")
    return " ".join(parts)
