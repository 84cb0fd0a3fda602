"""Time zones as piecewise-constant UTC offsets over a window of days, in whole minutes.

The checker needs "which local days have one offset all day" and "how does this transition day
map wall minutes to instants"; both come from the list of offset periods, computed once per zone
and window from :mod:`zoneinfo` (so the tz database is the one Python ships or the system has).
"""

from __future__ import annotations

import bisect
import datetime as dt
from dataclasses import dataclass
from functools import cached_property, lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bridge.schedule.tzif import transitions

DAY = 1440
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.timezone.utc)
EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


def day_number(day: dt.date) -> int:
    """Days since 1970-01-01."""
    return day.toordinal() - EPOCH_ORDINAL


def date_of(day: int) -> dt.date:
    return dt.date.fromordinal(day + EPOCH_ORDINAL)


def minute_number(instant: dt.datetime) -> int:
    """Whole minutes since the epoch (floor), for an aware datetime."""
    if instant.tzinfo is None:
        raise ValueError("naive datetime: an instant needs a time zone")
    return int((instant - EPOCH).total_seconds() // 60)


def instant_of(minute: int) -> dt.datetime:
    return EPOCH + dt.timedelta(minutes=minute)


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (PostgreSQL's TimeZone names), or ValueError."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc


@dataclass(frozen=True)
class Period:
    """UTC minutes ``[start, end)`` during which the zone's offset is ``offset`` minutes."""

    start: int
    end: int
    offset: int


@dataclass(frozen=True, eq=False)
class Timeline:
    """A zone's offset periods covering a window (offsets outside it are extrapolated).

    Compared and hashed by identity: :func:`timeline` returns one object per zone and window.
    """

    name: str
    periods: tuple[Period, ...]

    @cached_property
    def starts(self) -> list[int]:
        return [p.start for p in self.periods]

    @property
    def fixed(self) -> bool:
        return len(self.periods) == 1

    @cached_property
    def offsets(self) -> frozenset[int]:
        return frozenset(p.offset for p in self.periods)

    def offset_at(self, minute: int) -> int:
        return self.periods[max(0, bisect.bisect_right(self.starts, minute) - 1)].offset

    def next_change(self, minute: int) -> int | None:
        """The first transition instant after ``minute``, if any in the window."""
        for period in self.periods[1:]:
            if period.start > minute:
                return period.start
        return None

    def _compute_wall_ranges(self, later_only: bool) -> list[tuple[int, int, int]]:
        out = []
        for i, period in enumerate(self.periods):
            end = period.end + period.offset
            if later_only and i + 1 < len(self.periods):
                # an ambiguous wall time belongs to the later period only (PostgreSQL's rule)
                end = min(end, period.end + self.periods[i + 1].offset)
            first = period.start + period.offset if i else -(10**12)
            last = end if i + 1 < len(self.periods) else 10**12
            out.append((first, last, period.offset))
        return out

    def segments(self, day: int, later_only: bool) -> list[tuple[int, int, int]]:
        """``(first, stop, offset)``: wall minutes of local ``day`` (0..1440) and their offset.

        Wall minutes in a spring-forward gap are in no segment; those of a fall-back overlap are in
        two (or, with ``later_only``, only in the later one).
        """
        return _segments(self, day, later_only)

    def uniform_days(self, later_only: bool) -> list[tuple[int, int, int]]:
        """``(first_day, stop_day, offset)``: local days entirely inside one period and touched
        by no other (a clock set back from or to midnight repeats the last hour of the day before
        or the first of the day, which then has two offsets although one period's wall range
        covers it whole)."""
        ranges, reach, floor = _wall_ranges(self, later_only)
        out = []
        for i, (first, last, offset) in enumerate(ranges):
            lo, hi = -(-first // DAY), last // DAY
            if i:
                lo = max(lo, -(-reach[i - 1] // DAY))
            if i + 1 < len(ranges):
                hi = min(hi, floor[i + 1] // DAY)
            out.append((lo, hi, offset))
        return out


@lru_cache(maxsize=1024)
def _wall_ranges(
    timeline: Timeline, later_only: bool
) -> tuple[tuple[tuple[int, int, int], ...], list[int], list[int]]:
    """The timeline's wall ranges ``(first, last, offset)``, once per timeline, the running
    maximum of their ``last`` and the minimum of ``first`` from each range on: a day's lookup
    skips the ranges before the first whose running maximum passes the day's start (they all end
    by then) and from the first whose later minimum reaches the day's end (they all begin after
    it), exactly, whatever the order of the ranges."""
    ranges = tuple(timeline._compute_wall_ranges(later_only))
    reach, top = [], -(10**13)
    for _, last, _ in ranges:
        top = max(top, last)
        reach.append(top)
    floor, low = [0] * len(ranges), 10**13
    for i in range(len(ranges) - 1, -1, -1):
        low = min(low, ranges[i][0])
        floor[i] = low
    return ranges, reach, floor


@lru_cache(maxsize=4096)
def _segments(timeline: Timeline, day: int, later_only: bool) -> list[tuple[int, int, int]]:
    lo, hi = day * DAY, day * DAY + DAY
    ranges, reach, floor = _wall_ranges(timeline, later_only)
    out = []
    for first, last, offset in ranges[
        bisect.bisect_right(reach, lo) : bisect.bisect_left(floor, hi)
    ]:
        a, b = max(first, lo), min(last, hi)
        if a < b:
            out.append((a - lo, b - lo, offset))
    return out


def _offset(tz: ZoneInfo, minute: int) -> int:
    offset = (EPOCH + dt.timedelta(minutes=minute)).astimezone(tz).utcoffset()
    assert offset is not None
    return int(offset.total_seconds() // 60)


@lru_cache(maxsize=4096)
def _changes(name: str, first: int, stop: int) -> tuple[tuple[int, int], ...]:
    """``(instant, new offset)`` of every change of zone ``name`` in epoch minutes ``(first, stop]``.

    The zone is probed at each instant its TZif file says the offset may change (its table, then
    its rule for later years: :mod:`bridge.schedule.tzif`), so no change is missed however close
    to another (a fixed-offset zone, such as UTC or Etc/GMT+5, lists none); a transition inside
    a minute takes effect at the next whole minute, which lies in ``(first, stop]`` as the
    transition's second does.
    """
    tz = zone(name)
    out: list[tuple[int, int]] = []
    current = _offset(tz, first)
    for seconds in transitions(name).candidates(first * 60, stop * 60):
        minute = -(-seconds // 60)
        offset = _offset(tz, minute)
        if offset != current:
            out.append((minute, offset))
            current = offset
    return tuple(out)


_BLOCK = 366 * DAY  # changes are looked up in fixed blocks, cached, whatever the window


def _margins(first_day: int, stop_day: int) -> tuple[int, int]:
    """The UTC minutes a timeline of local days ``[first_day, stop_day)`` covers: three days
    more either side (wider than any UTC offset, so every local day of the window is inside)."""
    return (first_day - 3) * DAY, (stop_day + 3) * DAY


@lru_cache(maxsize=256)
def timeline(name: str, first_day: int, stop_day: int) -> Timeline:
    """Offset periods of zone ``name`` for local days ``[first_day, stop_day)`` (plus margins)."""
    lo, hi = _margins(first_day, stop_day)
    changes = [
        change
        for block in range(lo // _BLOCK, (hi - 1) // _BLOCK + 1)
        for change in _changes(name, block * _BLOCK, (block + 1) * _BLOCK)
        if lo < change[0] < hi
    ]
    periods: list[Period] = []
    start, current = lo, _offset(zone(name), lo)
    for instant, offset in changes:
        periods.append(Period(start, instant, current))
        start, current = instant, offset
    periods.append(Period(start, hi, current))
    return Timeline(name, tuple(periods))


#: Proof windows are widened to multiples of this many days, so horizons that end on other days
#: (each schedule's own dated features) share one timeline, one day table and what is cached on
#: them; what lies outside a proof's own window is cut off or masked.
_ALIGN = 1024
_FIRST = dt.date.min.toordinal() - EPOCH_ORDINAL + 8
_LAST = dt.date.max.toordinal() - EPOCH_ORDINAL - 8


def widen(first_day: int, stop_day: int) -> tuple[int, int]:
    """Days ``[first_day, stop_day)`` widened to ``_ALIGN`` boundaries, staying far enough inside
    the calendar for a timeline's margins (never narrower than asked)."""
    lo = min(first_day, max(first_day - first_day % _ALIGN, _FIRST))
    hi = max(stop_day, min(stop_day + (-stop_day) % _ALIGN, _LAST))
    return lo, hi


def fixed_over(name: str, first_day: int, stop_day: int) -> bool:
    """Whether zone ``name`` keeps one offset over local days ``[first_day, stop_day)`` (with
    :func:`timeline`'s margins): ``timeline(name, first_day, stop_day).fixed``, read from the
    widened window's timeline (shared) instead of making one for this window."""
    lo, hi = _margins(first_day, stop_day)
    starts = timeline(name, *widen(first_day, stop_day)).starts
    return bisect.bisect_right(starts, lo) == bisect.bisect_left(starts, hi)


#: Larger than any difference of two UTC offsets, in minutes (a bisection key).
MAX_GAP = 10**6


@lru_cache(maxsize=1024)
def offset_steps(
    source: str, target: str, first_day: int, stop_day: int
) -> tuple[tuple[int, int], ...]:
    """``(instant, target offset - source offset)`` at the start of the window of local days
    ``[first_day, stop_day)`` (with :func:`timeline`'s margins) and at each change of either
    zone inside it, in order: the difference holds from each instant to the next.

    Cut from the steps of the widened window (:func:`widen`), which other windows share: the
    difference at the window's start is the one of the last step at or before it."""
    lo, hi = _margins(first_day, stop_day)
    steps = _wide_steps(source, target, *widen(first_day, stop_day))
    at = bisect.bisect_right(steps, (lo, MAX_GAP))
    return ((lo, steps[at - 1][1]), *steps[at : bisect.bisect_left(steps, (hi, -MAX_GAP))])


@lru_cache(maxsize=256)
def _wide_steps(
    source: str, target: str, first_day: int, stop_day: int
) -> tuple[tuple[int, int], ...]:
    """:func:`offset_steps` of a widened window, from the two zones' timelines of it."""
    lo, hi = _margins(first_day, stop_day)
    a, b = (
        timeline(source, first_day, stop_day).periods,
        timeline(target, first_day, stop_day).periods,
    )
    edges = sorted({lo} | {p.start for p in (*a, *b) if lo < p.start < hi})
    out: list[tuple[int, int]] = []
    i = j = 0
    for edge in edges:  # both period lists are in order: walk them once
        while i + 1 < len(a) and a[i + 1].start <= edge:
            i += 1
        while j + 1 < len(b) and b[j + 1].start <= edge:
            j += 1
        out.append((edge, b[j].offset - a[i].offset))
    return tuple(out)
