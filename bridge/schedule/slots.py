"""The engine's common currency: a :class:`Slot` is one product of times and days.

pgAgent schedules and pg_cron expressions both become unions of slots, so translation, zone shifts
and the equivalence checker work on one shape. Every mask is explicit (a full mask means "any"),
unlike pgAgent's arrays where all-false means "any".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache
from operator import attrgetter

from bridge.schedule.masks import (
    ALL_DAYS,
    ALL_HOURS,
    ALL_MINUTES,
    ALL_MONTHS,
    ALL_WEEKDAYS,
    span,
    values_of,
)


@dataclass(frozen=True)
class Slot:
    """Fires at every (hour, minute) of ``hours`` x ``minutes`` on each matching day.

    A day matches when its month is in ``months``, its weekday (0 = Sunday) in ``weekdays``, and
    its day of month is in ``days`` (bits 1..31) or it is the month's last day and ``last`` is set.
    """

    minutes: int = ALL_MINUTES
    hours: int = ALL_HOURS
    months: int = ALL_MONTHS
    days: int = ALL_DAYS
    last: bool = False
    weekdays: int = ALL_WEEKDAYS

    @property
    def empty(self) -> bool:
        """True when no day or no time can match."""
        return not (self.minutes and self.hours and self.months and self.weekdays) or (
            not self.days and not self.last
        )

    @property
    def any_day(self) -> bool:
        return self.days == ALL_DAYS and self.months == ALL_MONTHS and self.weekdays == ALL_WEEKDAYS


def _rotate(mask: int, by: int, lo: int, size: int) -> int:
    """Move every value v of ``mask`` to ``lo + (v - lo + by) mod size``."""
    out = 0
    for value in values_of(mask):
        out |= 1 << (lo + (value - lo + by) % size)
    return out


def shift_days(slot: Slot, by: int) -> Slot:
    """The slot for days moved ``by`` (-1, 0 or +1) days: exact for weekdays, approximate for
    month-days and months across month ends (the equivalence checker measures the difference)."""
    if by == 0:
        return slot
    weekdays = _rotate(slot.weekdays, by, 0, 7)
    if slot.days == ALL_DAYS and slot.months == ALL_MONTHS:
        return replace(slot, weekdays=weekdays)
    if by > 0 and slot.last and not slot.days:
        # the day after a last day is the 1st of the next month: exact
        return replace(
            slot, weekdays=weekdays, last=False, days=1 << 1, months=_rotate(slot.months, 1, 1, 12)
        )
    if by < 0 and slot.days == 1 << 1 and not slot.last:
        # the day before the 1st is the last day of the previous month: exact
        return replace(
            slot, weekdays=weekdays, days=0, last=True, months=_rotate(slot.months, -1, 1, 12)
        )
    days = slot.days
    days = (days << 1) & ALL_DAYS if by > 0 else (days >> 1) & ALL_DAYS
    last = slot.last
    if by > 0 and slot.last:
        days |= 1 << 1  # the day after the last day is the 1st (of the next month)
        last = False
    if by < 0 and slot.days & (1 << 1):
        last = True
    return replace(slot, weekdays=weekdays, days=days, last=last)


def shift_slot(slot: Slot, delta: int) -> list[Slot]:
    """The slots that fire at wall time + ``delta`` minutes whenever ``slot`` fires.

    Minutes that carry into the next hour and hours that cross midnight form separate slots.
    """
    return [slot] if delta == 0 else list(_shifted(slot, delta))


@lru_cache(maxsize=8192)
def _shifted(slot: Slot, delta: int) -> tuple[Slot, ...]:
    """:func:`shift_slot`, remembered: a job's slots are shifted by the same zone differences
    for its translation and for its guard's superset."""
    hour_shift, minute_shift = divmod(delta, 60)
    out: list[Slot] = []
    carry_groups = (
        (0, ((slot.minutes << minute_shift) & ALL_MINUTES)),
        (1, (slot.minutes >> (60 - minute_shift)) if minute_shift else 0),
    )
    for carry, minutes in carry_groups:
        if not minutes:
            continue
        by_day: dict[int, int] = {}
        for hour in values_of(slot.hours):
            day, new_hour = divmod(hour + hour_shift + carry, 24)
            by_day[day] = by_day.get(day, 0) | (1 << new_hour)
        for day, hours in sorted(by_day.items()):
            out.append(replace(shift_days(slot, day), minutes=minutes, hours=hours))
    return tuple(merge_slots(out))


_FIELDS = ("minutes", "hours", "weekdays", "months", "days", "last")
#: per mergeable field, the other fields (the key of slots that differ only in it)
_OTHERS = {f: attrgetter(*(g for g in _FIELDS if g != f)) for f in _FIELDS[:-1]}
#: per mergeable field, the slot with that field replaced (``dataclasses.replace`` is slower)
_WITH: dict[str, Callable[[Slot, int], Slot]] = {
    "minutes": lambda s, v: Slot(v, s.hours, s.months, s.days, s.last, s.weekdays),
    "hours": lambda s, v: Slot(s.minutes, v, s.months, s.days, s.last, s.weekdays),
    "weekdays": lambda s, v: Slot(s.minutes, s.hours, s.months, s.days, s.last, v),
    "months": lambda s, v: Slot(s.minutes, s.hours, v, s.days, s.last, s.weekdays),
    "days": lambda s, v: Slot(s.minutes, s.hours, s.months, v, s.last, s.weekdays),
}


def _merge_on(slots: list[Slot], field: str) -> list[Slot]:
    """Join slots that are equal except in ``field`` (a union of one field is exact then)."""
    others, value, with_ = _OTHERS[field], attrgetter(field), _WITH[field]
    merged: dict[tuple[object, ...], Slot] = {}
    for slot in slots:
        key = others(slot)
        seen = merged.get(key)
        merged[key] = slot if seen is None else with_(seen, value(seen) | value(slot))
    return list(merged.values())


def merge_slots(slots: list[Slot]) -> list[Slot]:
    """Fewer slots with the same union: join slots that differ in a single field, until none do."""
    out = [s for s in slots if not s.empty]
    while len(out) > 1:
        before = len(out)
        for field in _FIELDS[:-1]:
            out = _merge_on(out, field)
        if len(out) == before:
            break
    return out


@lru_cache(maxsize=16384)
def time_pattern(minutes: int, hours: int) -> int:
    """1440-bit mask of the day's wall minutes ``60 * hour + minute`` for the product."""
    pattern = 0
    for hour in values_of(hours & ALL_HOURS):
        pattern |= minutes << (60 * hour)
    return pattern


DAY_MINUTES = 1440
FULL_DAY = span(0, DAY_MINUTES - 1)


def shortest_gap(slots: tuple[Slot, ...] | list[Slot]) -> int | None:
    """Fewest wall minutes between two fire times of the union of ``slots``, None if it never
    fires. A lower bound: times of slots that never share a day count as if they did, and the
    last time of a day is taken to be followed by the first time of the next."""
    pattern = 0
    for slot in slots:
        if not slot.empty:
            pattern |= time_pattern(slot.minutes, slot.hours)
    if not pattern:
        return None
    # the runs of zeros between the day's fire minutes, read from its bit string (one C-level
    # split, not a loop over up to 1,440 set bits); the runs before the first and after the
    # last join across midnight
    zeros = f"{pattern:0{DAY_MINUTES}b}".split("1")
    inside = min(map(len, zeros[1:-1]), default=DAY_MINUTES)
    return min(inside, len(zeros[0]) + len(zeros[-1])) + 1
