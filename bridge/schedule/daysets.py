"""Day bitsets over a horizon: bit ``i`` stands for day ``first + i``.

A slot's matching days depend only on (month, day of month, weekday, is-last-day), so with one
bitset per value the days of a slot over the whole horizon are a few big-int ORs and ANDs.
"""

from __future__ import annotations

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


def _bits(indices: list[int], count: int) -> int:
    """The set of ``indices`` (all below ``count``) as an int bitset, built in linear time."""
    buf = bytearray((count + 7) // 8)
    for i in indices:
        buf[i >> 3] |= 1 << (i & 7)
    return int.from_bytes(buf, "little")


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
    by_month: list[list[int]] = [[] for _ in range(13)]
    by_dom: list[list[int]] = [[] for _ in range(32)]
    by_dow: list[list[int]] = [[] for _ in range(7)]
    last: list[int] = []
    leap: list[int] = []
    one = dt.timedelta(days=1)
    d = date_of(first)
    for i in range(count):
        nxt = d + one
        by_month[d.month].append(i)
        by_dom[d.day].append(i)
        by_dow[d.isoweekday() % 7].append(i)
        if nxt.day == 1:
            last.append(i)
            if d.month == 2 and d.day == 29:
                leap.append(i)
        d = nxt
    return DayTable(
        first,
        count,
        tuple(_bits(x, count) for x in by_month),
        tuple(_bits(x, count) for x in by_dom),
        tuple(_bits(x, count) for x in by_dow),
        _bits(last, count),
        _bits(leap, count),
    )
