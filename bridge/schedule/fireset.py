"""Sets of fire instants described analytically, and their exact comparison over a horizon.

A :class:`FireSet` is a union of slots evaluated in a zone with a scheduler's DST rule. Days on
which both zones keep one offset all day (almost all of them) are compared as day bitsets per class
of wall minutes; the handful of days near a DST transition, an exception, a start or an end are
evaluated minute-exactly from the zone's offset periods. Nothing loops over minutes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from bridge.schedule.daysets import DayTable, day_table
from bridge.schedule.masks import lowest, span
from bridge.schedule.slots import DAY_MINUTES, FULL_DAY, Slot, time_pattern
from bridge.schedule.zones import Timeline, date_of, day_number, instant_of, timeline

DAY = DAY_MINUTES
_MARGIN = 4  # days evaluated beyond each end of the horizon


@dataclass(frozen=True)
class Component:
    """Slots sharing exceptions and a validity window (one pgAgent schedule, or cron entries)."""

    slots: tuple[Slot, ...]
    #: wall minutes of every day that never fire (pgAgent exceptions with no date)
    time_exceptions: int = 0
    #: (local day number, wall minutes that do not fire that day)
    date_exceptions: tuple[tuple[int, int], ...] = ()
    #: first and last epoch minute that may fire (inclusive), None = unbounded
    start: int | None = None
    end: int | None = None
    #: pgAgent <= 4.0 never fires "last day" on 29 February
    skip_leap_feb_last: bool = False


@dataclass(frozen=True)
class FireSet:
    """Instants at which a scheduler fires, in zone ``zone``.

    ``later_only``: an ambiguous wall time fires once, at the later instant (pgAgent); otherwise at
    both (pg_cron). ``last_by_24h``: "last day" means "24 hours later is the 1st" (pg_cron's
    ``$``). ``shift``: minutes added to every instant (pg_cron 1.6.0-1.6.1 read tomorrow's date).
    """

    zone: str
    components: tuple[Component, ...]
    later_only: bool
    last_by_24h: bool = False
    shift: int = 0


@dataclass(frozen=True)
class Comparison:
    """Outcome of comparing two fire sets over ``[since, until)``."""

    since: dt.datetime
    until: dt.datetime
    left_total: int
    right_total: int
    left_only: int
    right_only: int
    first_left_only: dt.datetime | None
    first_right_only: dt.datetime | None
    left_only_sample: tuple[dt.datetime, ...] = field(default=())
    #: fire times in both sets, and the first of them
    both: int = 0
    first_both: dt.datetime | None = None

    @property
    def equal(self) -> bool:
        return self.left_only == 0 and self.right_only == 0


def _shift(bits: int, by: int) -> int:
    return bits << by if by >= 0 else bits >> -by


def _bit_span(first: int, stop: int) -> int:
    return span(first, stop - 1) if stop > first else 0


class _Side:
    """A fire set prepared for one horizon: its timeline, special days and regular pairs."""

    def __init__(self, fires: FireSet, table: DayTable) -> None:
        self.fires = fires
        self.table = table
        stop = table.first + table.count
        self.timeline: Timeline = timeline(fires.zone, table.first, stop)
        special = 0
        # "24 hours later" (pg_cron's `$`, the 1.6.0 shift) also reaches the day before a change
        reach = (
            1
            if fires.shift
            or (fires.last_by_24h and any(s.last for c in fires.components for s in c.slots))
            else 0
        )
        for day in self.timeline.transition_days():
            for near in range(day - reach, day + reach + 1):
                if table.first <= near < stop:
                    special |= 1 << (near - table.first)
        for comp in fires.components:
            for day, _ in comp.date_exceptions:
                if table.first <= day < stop:
                    special |= 1 << (day - table.first)
            for edge in (comp.start, comp.end):
                if edge is not None:
                    day = self.local_day(edge)
                    for near in (day - 1, day, day + 1):
                        if table.first <= near < stop:
                            special |= 1 << (near - table.first)
        self.special_local = special
        self.shifts = sorted({fires.shift - offset for offset in self.timeline.offsets})

    def local_day(self, minute: int) -> int:
        return (minute + self.timeline.offset_at(minute)) // DAY

    def special_utc(self) -> int:
        out = 0
        for s in self.shifts:
            q = s // DAY
            out |= _shift(self.special_local, q) | _shift(self.special_local, q + 1)
        return out & self.table.all

    def allowed_days(self, comp: Component) -> int:
        """Local days strictly inside the component's validity window."""
        first, stop = 0, self.table.count
        if comp.start is not None:
            first = max(first, self.local_day(comp.start) - self.table.first + 1)
        if comp.end is not None:
            stop = min(stop, self.local_day(comp.end) - self.table.first)
        return _bit_span(first, stop)

    def pairs(self, regular_utc: int) -> list[tuple[int, int]]:
        """(UTC day bitset, wall-minute pattern of the UTC day) for the regular days."""
        table = self.table
        out: list[tuple[int, int]] = []
        by_offset: dict[int, int] = {}  # the days of all periods with one offset, together
        for d0, d1, offset in self.timeline.uniform_days(self.fires.later_only):
            by_offset[offset] = by_offset.get(offset, 0) | _bit_span(
                max(d0, table.first) - table.first,
                min(d1, table.first + table.count) - table.first,
            )
        uniform = [(bits, offset) for offset, bits in by_offset.items()]
        for comp in self.fires.components:
            allowed = self.allowed_days(comp) & ~self.special_local
            for slot in comp.slots:
                days = table.slot_days(slot, skip_leap_feb_last=comp.skip_leap_feb_last) & allowed
                if not days:
                    continue
                pattern = time_pattern(slot.minutes, slot.hours) & ~comp.time_exceptions
                if not pattern:
                    continue
                for bits, offset in uniform:
                    local = days & bits
                    if not local:
                        continue
                    q, r = divmod(self.fires.shift - offset, DAY)
                    low = (pattern << r) & FULL_DAY
                    high = pattern >> (DAY - r) if r else 0
                    if low:
                        out.append((_shift(local, q) & regular_utc, low))
                    if high:
                        out.append((_shift(local, q + 1) & regular_utc, high))
        return [(d, p) for d, p in out if d]

    def day_pattern(self, comp: Component, day: int, last: bool | None) -> int:
        pattern = 0
        for slot in comp.slots:
            if self.table.day_matches(slot, day, last=last):
                if (
                    comp.skip_leap_feb_last
                    and slot.last
                    and not (slot.days >> 29) & 1
                    and date_of(day).month == 2
                    and date_of(day).day == 29
                ):
                    continue
                pattern |= time_pattern(slot.minutes, slot.hours)
        pattern &= ~comp.time_exceptions
        for exc_day, mask in comp.date_exceptions:
            if exc_day == day:
                pattern &= ~mask
        return pattern

    def pieces(
        self, day: int, first: int, stop: int, offset: int
    ) -> Iterator[tuple[int, int, bool]]:
        """Split wall minutes ``[first, stop)`` of ``day`` by whether 24 hours later is the 1st."""
        base = day * DAY - offset
        cur, end = base + first, base + stop
        while cur < end:
            later = cur + DAY
            later_offset = self.timeline.offset_at(later)
            later_day = (later + later_offset) // DAY
            boundary = (later_day + 1) * DAY - later_offset
            change = self.timeline.next_change(later)
            if change is not None:
                boundary = min(boundary, change)
            piece_end = min(end, boundary - DAY)
            yield cur - base, piece_end - base, date_of(later_day).day == 1
            cur = piece_end

    def window(self, w0: int, w1: int) -> int:
        """Fire instants in epoch minutes ``[w0, w1)`` as bits relative to ``w0``."""
        out = 0
        fires = self.fires
        needs_pieces = fires.last_by_24h and any(s.last for c in fires.components for s in c.slots)
        # local day D reaches instants D * DAY + minute + shift, with shift in self.shifts
        first_day = (w0 - max(self.shifts)) // DAY
        for day in range(first_day, (w1 - min(self.shifts) - 1) // DAY + 1):
            segments = self.timeline.segments(day, fires.later_only)
            for comp in fires.components:
                parts: list[tuple[int, int, int, bool | None]]
                if needs_pieces:
                    parts = [
                        (a, b, o, last)
                        for first, stop, o in segments
                        for a, b, last in self.pieces(day, first, stop, o)
                    ]
                else:
                    parts = [(a, b, o, None) for a, b, o in segments]
                cache: dict[bool | None, int] = {}
                bits = 0
                for a, b, o, last in parts:
                    if last not in cache:
                        cache[last] = self.day_pattern(comp, day, last)
                    part = cache[last] & _bit_span(a, b)
                    if part:
                        bits |= _shift(part, day * DAY - o + fires.shift - w0)
                lo = 0 if comp.start is None else max(0, comp.start - w0)
                hi = w1 - w0 if comp.end is None else min(w1 - w0, comp.end - w0 + 1)
                out |= bits & _bit_span(lo, hi)
        return out & _bit_span(0, w1 - w0)


def _runs(bits: int) -> Iterator[tuple[int, int]]:
    """Maximal runs ``[a, b)`` of set bits."""
    while bits:
        a = lowest(bits)
        b = lowest(~(bits >> a)) + a
        yield a, b
        bits &= ~_bit_span(a, b)


def _low(bits: int) -> int | None:
    return lowest(bits) if bits else None


_KEY_MARGIN = 3  # days each side of a run whose calendar and clock changes decide its instants


def _run_key(sides: tuple[_Side, _Side], w0: int, w1: int) -> tuple[object, ...] | None:
    """What the instants of both sides in ``[w0, w1)`` depend on, relative to ``w0``; None when a
    dated feature (exception, start, end) is near, which only that run has."""
    lo, hi = w0 - _KEY_MARGIN * DAY, w1 + _KEY_MARGIN * DAY
    first_day, stop_day = lo // DAY, hi // DAY + 1
    for side in sides:
        for comp in side.fires.components:
            if any(first_day <= d < stop_day for d, _ in comp.date_exceptions):
                return None
            if any(e is not None and lo <= e < hi for e in (comp.start, comp.end)):
                return None
    active = tuple(
        (comp.start is None or comp.start < lo, comp.end is None or comp.end >= hi)
        for side in sides
        for comp in side.fires.components
    )
    calendar = tuple(
        (d.month, d.day, d.weekday(), d.year % 4 == 0 and (d.year % 100 != 0 or d.year % 400 == 0))
        for d in map(date_of, range(first_day, stop_day))
    )
    clocks = tuple(
        (
            side.timeline.offset_at(lo),
            *[(p.start - w0, p.offset) for p in side.timeline.changes_in(lo, hi)],
        )
        for side in sides
    )
    return (w1 - w0, active, calendar, clocks)


def compare(left: FireSet, right: FireSet, since: dt.date, days: int) -> Comparison:
    """Compare the instants of ``left`` and ``right`` in UTC days ``[since, since + days)``."""
    h0 = day_number(since)
    table = day_table(h0 - _MARGIN, days + 2 * _MARGIN)
    sides = (_Side(left, table), _Side(right, table))
    horizon = _bit_span(_MARGIN, _MARGIN + days)
    special = (sides[0].special_utc() | sides[1].special_utc()) & horizon
    regular = horizon & ~special
    pairs = (sides[0].pairs(regular), sides[1].pairs(regular))

    totals = [0, 0]
    only = [0, 0, 0]  # left only, right only, both
    firsts: list[int | None] = [None, None, None]

    def note(which: int, minute: int) -> None:
        current = firsts[which]
        if current is None or minute < current:
            firsts[which] = minute

    # regular days: classes of wall minutes that every pattern either contains or misses
    classes = [p for _, p in pairs[0] + pairs[1]]
    union = 0
    for p in classes:
        union |= p
    parts = [union] if union else []
    for p in classes:
        parts = [x for c in parts for x in (c & p, c & ~p) if x]
    utc0 = table.first
    for cls in parts:
        rep = lowest(cls)
        size = cls.bit_count()
        days_of = [0, 0]
        for k in (0, 1):
            for bits, p in pairs[k]:
                if (p >> rep) & 1:
                    days_of[k] |= bits
        for k in (0, 1):
            totals[k] += days_of[k].bit_count() * size
            diff = days_of[k] & ~days_of[1 - k]
            if diff:
                only[k] += diff.bit_count() * size
                note(k, (utc0 + lowest(diff)) * DAY + rep)
        shared = days_of[0] & days_of[1]
        if shared:
            only[2] += shared.bit_count() * size
            note(2, (utc0 + lowest(shared)) * DAY + rep)
    # special days, minute-exactly; a run of DST days that looks like one already compared (same
    # calendar and same clock changes around it, no dated feature near) gives the same counts
    seen: dict[tuple[object, ...], tuple[tuple[int, int, int | None], ...]] = {}
    for a, b in _runs(special):
        w0, w1 = (utc0 + a) * DAY, (utc0 + b) * DAY
        key = _run_key(sides, w0, w1)
        counted = seen.get(key) if key is not None else None
        if counted is None:
            got = (sides[0].window(w0, w1), sides[1].window(w0, w1))
            parts3 = (got[0] & ~got[1], got[1] & ~got[0], got[0] & got[1])
            counted = tuple(
                (total, bits.bit_count(), _low(bits))
                for total, bits in zip(
                    (got[0].bit_count(), got[1].bit_count(), 0), parts3, strict=True
                )
            )
            if key is not None:
                seen[key] = counted
        for k, (total, count, low) in enumerate(counted):
            if k < 2:
                totals[k] += total
            if count:
                only[k] += count
                assert low is not None
                note(k, w0 + low)
    return Comparison(
        since=instant_of(h0 * DAY),
        until=instant_of((h0 + days) * DAY),
        left_total=totals[0],
        right_total=totals[1],
        left_only=only[0],
        right_only=only[1],
        first_left_only=None if firsts[0] is None else instant_of(firsts[0]),
        first_right_only=None if firsts[1] is None else instant_of(firsts[1]),
        both=only[2],
        first_both=None if firsts[2] is None else instant_of(firsts[2]),
    )


def fire_instants(fires: FireSet, since: dt.date, days: int) -> list[dt.datetime]:
    """Every instant of ``fires`` in UTC days ``[since, since + days)`` (for previews and tests)."""
    w0 = day_number(since) * DAY
    table = day_table(day_number(since) - _MARGIN, days + 2 * _MARGIN)
    bits = _Side(fires, table).window(w0, w0 + days * DAY)
    out = []
    while bits:
        low = lowest(bits)
        out.append(instant_of(w0 + low))
        bits &= bits - 1
    return out
