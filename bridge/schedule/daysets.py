"""Day bitsets over a horizon: bit ``i`` stands for day ``first + i``.

A slot's matching days depend only on (month, day of month, weekday, is-last-day), so with one
bitset per value the days of a slot over the whole horizon are a few big-int ORs and ANDs.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property, lru_cache

from bridge.schedule.masks import ALL_DAYS, ALL_MONTHS, ALL_WEEKDAYS, values_of
from bridge.schedule.slots import Slot
from bridge.schedule.zones import EPOCH_ORDINAL, date_of

_MEMO_SIZE = 4096


@dataclass(frozen=True, eq=False)
class DayTable:
    """Per-value day bitsets for days ``[first, first + count)``.

    Compared and hashed by identity: :func:`day_table` returns one object per horizon. The days
    of a slot are remembered by its day fields alone (they recur across schedules whose times
    differ, and in both sides of a proof, in the proof made again).
    """

    first: int
    count: int
    by_month: tuple[int, ...]  # index 1..12
    by_dom: tuple[int, ...]  # index 1..31
    by_dow: tuple[int, ...]  # index 0..6, 0 = Sunday
    last: int  # last day of its month
    leap_feb_last: int  # 29 February
    _memo: dict[tuple[int, int, bool, int, bool, int], int] = field(
        default_factory=dict, init=False, repr=False
    )

    @cached_property
    def all(self) -> int:
        return (1 << self.count) - 1

    def slot_days(self, slot: Slot, *, skip_leap_feb_last: bool = False, later: int = 1) -> int:
        """Days on which ``slot`` fires. "Last day" means the day ``later`` days on is the 1st
        (1: the month's last day; pg_cron's ``$`` next to a clock change may look 0 or 2 on)."""
        if slot.empty:
            return 0
        key = (slot.months, slot.days, slot.last, slot.weekdays, skip_leap_feb_last, later)
        days = self._memo.get(key)
        if days is None:
            if len(self._memo) >= _MEMO_SIZE:
                self._memo.clear()
            days = self._memo[key] = self._slot_days(*key)
        return days

    def _slot_days(
        self,
        months_mask: int,
        days_mask: int,
        last_day: bool,
        weekdays_mask: int,
        skip_leap_feb_last: bool,
        later: int,
    ) -> int:
        """:meth:`slot_days` of a slot that is not empty, from its day fields."""
        months = self.all if months_mask == ALL_MONTHS else _union(self.by_month, months_mask)
        weekdays = self.all if weekdays_mask == ALL_WEEKDAYS else _union(self.by_dow, weekdays_mask)
        if days_mask == ALL_DAYS:
            days = self.all
        else:
            days = _union(self.by_dom, days_mask)
            if last_day:
                last = self.last if later == 1 else self.firsts_after(later)
                days |= last & ~self.leap_feb_last if skip_leap_feb_last else last
        return months & weekdays & days

    def firsts_after(self, later: int) -> int:
        """Days ``d`` such that day ``d + later`` is the 1st of a month."""
        firsts = self.by_dom[1]
        return (firsts >> later if later >= 0 else firsts << -later) & self.all

    def day_matches(self, slot: Slot, day: int, *, last: bool | None = None) -> bool:
        """Does ``slot`` match local ``day``? ``last`` overrides the is-last-day test."""
        if slot.empty:
            return False
        d = date_of(day)
        if not (slot.months >> d.month) & 1 or not (slot.weekdays >> (d.isoweekday() % 7)) & 1:
            return False
        if (slot.days >> d.day) & 1:
            return True
        if not slot.last:
            return False
        return (date_of(day + 1).day == 1) if last is None else last


def _union(table: tuple[int, ...], mask: int) -> int:
    out = 0
    for value in values_of(mask):
        out |= table[value]
    return out


def _bits_of(values: bytes, value: int) -> int:
    """The days whose entry in ``values`` (one byte a day, day 0 first) is ``value``, as a
    bitset: the bytes mapped to binary digits, read as one number (C loops, no loop per day)."""
    digits = bytearray(b"0" * 256)
    digits[value] = 49  # "1"
    return int(values.translate(digits)[::-1], 2) if values else 0


#: Day tables are cut from wider ones aligned on blocks of this many days, so horizons that start
#: or end on other days (each schedule's own dated features) share the work.
_BLOCK = 4096
_FIRST_DAY = dt.date.min.toordinal() - EPOCH_ORDINAL
_LAST_DAY = dt.date.max.toordinal() - EPOCH_ORDINAL


@lru_cache(maxsize=256)
def day_table(first: int, count: int) -> DayTable:
    # within the calendar: the table also reads the day after its last one
    lo = max(first - first % _BLOCK, _FIRST_DAY)
    hi = min(first + count + (-(first + count)) % _BLOCK, _LAST_DAY)
    base = _built(lo, hi - lo)
    shift, keep = first - lo, (1 << count) - 1

    def cut(v: int) -> int:
        return (v >> shift) & keep

    return DayTable(
        first,
        count,
        tuple(cut(v) for v in base.by_month),
        tuple(cut(v) for v in base.by_dom),
        tuple(cut(v) for v in base.by_dow),
        cut(base.last),
        cut(base.leap_feb_last),
    )


@lru_cache(maxsize=16)
def _built(first: int, count: int) -> DayTable:
    """The table of days ``[first, first + count)``, from each day's month and day of month, laid
    out a month at a time (and one day more: the last day of a month is the day before a 1st)."""
    months, doms = bytearray(), bytearray()
    d = date_of(first)
    year, month, day = d.year, d.month, d.day
    while len(doms) <= count:
        length = calendar.monthrange(year, month)[1] - day + 1
        months += bytes((month,)) * length
        doms += bytes(range(day, day + length))
        day, month = 1, month % 12 + 1
        if month == 1:
            year += 1
    month_of, dom_of = bytes(months[:count]), bytes(doms[:count])
    by_month = tuple(_bits_of(month_of, m) if m else 0 for m in range(13))
    by_dom = tuple(_bits_of(dom_of, v) if v else 0 for v in range(32))
    # weekday of day i: (weekday of day 0 + i) mod 7 (0 = Sunday)
    week = bytes(range(7)) * (count // 7 + 2)
    shift = d.isoweekday() % 7
    dow_of = week[shift : shift + count]
    last = _bits_of(bytes(doms[1 : count + 1]), 1)
    return DayTable(
        first,
        count,
        by_month,
        by_dom,
        tuple(_bits_of(dow_of, w) for w in range(7)),
        last,
        by_month[2] & by_dom[29],
    )
