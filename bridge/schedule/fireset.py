"""Sets of fire instants described analytically, and their exact comparison over a horizon.

A :class:`FireSet` is a union of slots evaluated in a zone with a scheduler's DST rule. Local days
are grouped by how their wall minutes become instants (one offset all day; the zone's spring-forward
day; its fall-back day; for pg_cron's ``$``, the day whose "24 hours later" crosses a change): the
group is a property of the zone, computed once per horizon, and every day of a group maps a slot's
wall minutes to instants the same way. So each side is a short list of (UTC day bitset, minute
pattern) pairs over the whole horizon, compared per class of UTC minutes with big-int day bitsets,
DST days included. Only the days next to a dated feature (an exception, a start, an end), which no
other day shares, are evaluated minute-exactly from the zone's offset periods. Nothing loops over
minutes, nor over the days of the horizon.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache

from bridge.schedule.daysets import DayTable, day_table
from bridge.schedule.masks import lowest, span
from bridge.schedule.slots import DAY_MINUTES, FULL_DAY, Slot, time_pattern
from bridge.schedule.zones import Timeline, date_of, day_number, instant_of, timeline, widen

DAY = DAY_MINUTES
_MARGIN = 4  # days evaluated beyond each end of the horizon


def _proof_table(first: int, count: int) -> DayTable:
    """A day table covering days ``[first, first + count)``, widened (:func:`widen`) so that
    proofs of other horizons share it, its timelines and their cached day shapes and slot days."""
    lo, hi = widen(first, first + count)
    return day_table(lo, hi - lo)


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


#: How one local day's wall minutes become instants: pieces ``(first, stop, offset, later)``, wall
#: minutes ``[first, stop)`` at UTC offset ``offset`` whose "24 hours later" is on local day + later.
Shape = tuple[tuple[int, int, int, int], ...]


def _pieces(
    tl: Timeline, day: int, first: int, stop: int, offset: int
) -> Iterator[tuple[int, int, int]]:
    """Split wall minutes ``[first, stop)`` of ``day`` by the local day 24 hours later (pg_cron's
    ``$`` asks whether that day is the 1st): ``(first, stop, later day - day)``."""
    base = day * DAY - offset
    cur, end = base + first, base + stop
    while cur < end:
        later = cur + DAY
        later_offset = tl.offset_at(later)
        later_day = (later + later_offset) // DAY
        boundary = (later_day + 1) * DAY - later_offset
        change = tl.next_change(later)
        if change is not None:
            boundary = min(boundary, change)
        piece_end = min(end, boundary - DAY)
        yield cur - base, piece_end - base, later_day - day
        cur = piece_end


def _shape(tl: Timeline, day: int, later_only: bool, by_24h: bool) -> Shape:
    segments = tl.segments(day, later_only)
    if not by_24h:
        return tuple((a, b, offset, 1) for a, b, offset in segments)
    return tuple(
        (a, b, offset, later)
        for first, stop, offset in segments
        for a, b, later in _pieces(tl, day, first, stop, offset)
    )


@lru_cache(maxsize=256)
def _day_shapes(
    tl: Timeline, first: int, count: int, later_only: bool, by_24h: bool
) -> tuple[tuple[Shape, int], ...]:
    """Local days ``[first, first + count)`` grouped by shape, as (shape, day bits from ``first``).

    A property of the zone and the horizon, not of a schedule: computed once. Days inside one
    offset period (with ``by_24h``: and the next day too) share the plain shape; only the few days
    next to a clock change are looked at one by one.
    """
    stop = first + count
    groups: dict[Shape, int] = {}
    plain = 0
    for d0, d1, offset in tl.uniform_days(later_only):
        a, b = max(d0, first), min(d1 - 1 if by_24h else d1, stop)
        if a < b:
            bits = _bit_span(a - first, b - first)
            key: Shape = ((0, DAY, offset, 1),)
            groups[key] = groups.get(key, 0) | bits
            plain |= bits
    rest = _bit_span(0, count) & ~plain
    while rest:
        i = lowest(rest)
        rest &= rest - 1
        key = _shape(tl, first + i, later_only, by_24h)
        groups[key] = groups.get(key, 0) | (1 << i)
    return tuple(groups.items())


@lru_cache(maxsize=256)
def _pieces_plan(
    tl: Timeline, first: int, count: int, later_only: bool, by_24h: bool, shift: int
) -> tuple[tuple[int, int, int | None, int, int], ...]:
    """:func:`_day_shapes` flattened for :meth:`_Side.pairs`, once per zone and horizon: per piece
    of a shape, (its days' bits, the "24 hours later" day offset, its wall minutes as a mask or
    None for the whole day, and the UTC day and minute its wall minute 0 moves to: ``divmod(shift
    - offset, DAY)``)."""
    return tuple(
        (bits, later, None if stop - a == DAY else _bit_span(a, stop), *divmod(shift - offset, DAY))
        for shape, bits in _day_shapes(tl, first, count, later_only, by_24h)
        for a, stop, offset, later in shape
    )


@lru_cache(maxsize=256)
def _shifts(tl: Timeline, shift: int) -> tuple[int, ...]:
    """Minutes from a local day's wall minute to its instant, per offset of the zone, ascending
    (once per timeline and shift)."""
    return tuple(sorted({shift - offset for offset in tl.offsets}))


class _Side:
    """A fire set prepared for one horizon: its timeline, its dated days, its (days, minutes)
    pairs."""

    def __init__(self, fires: FireSet, table: DayTable) -> None:
        self.fires = fires
        self.table = table
        stop = table.first + table.count
        self.timeline: Timeline = timeline(fires.zone, table.first, stop)
        special = 0
        #: whether a component has a date exception, a start or an end (else its instants on
        #: every day are those of :meth:`pairs`)
        self.dated = False
        for comp in fires.components:
            if comp.date_exceptions or comp.start is not None or comp.end is not None:
                self.dated = True
            for day, _ in comp.date_exceptions:
                if table.first <= day < stop:
                    special |= 1 << (day - table.first)
            for edge in (comp.start, comp.end):
                if edge is not None:
                    day = self.local_day(edge)
                    for near in (day - 1, day, day + 1):
                        if table.first <= near < stop:
                            special |= 1 << (near - table.first)
        #: local days next to a dated feature: only these are evaluated minute-exactly
        self.special_local = special
        self.shifts = _shifts(self.timeline, fires.shift)

    def local_day(self, minute: int) -> int:
        return (minute + self.timeline.offset_at(minute)) // DAY

    def special_utc(self) -> int:
        if not self.special_local:
            return 0
        out = 0
        for s in self.shifts:
            q = s // DAY
            out |= _shift(self.special_local, q) | _shift(self.special_local, q + 1)
        return out & self.table.all

    def allowed_days(self, comp: Component) -> int:
        """Local days strictly inside the component's validity window."""
        if comp.start is None and comp.end is None:
            return self.table.all
        first, stop = 0, self.table.count
        if comp.start is not None:
            first = max(first, self.local_day(comp.start) - self.table.first + 1)
        if comp.end is not None:
            stop = min(stop, self.local_day(comp.end) - self.table.first)
        return _bit_span(first, stop)

    def pairs(self) -> dict[int, int]:
        """Wall-minute pattern of a UTC day -> the UTC days of the table on which exactly it
        fires, DST days included. Date exceptions are not applied: a local day next to a dated
        feature reaches only UTC days of :meth:`special_utc`, which a comparison takes out of its
        regular days (and evaluates minute-exactly), so the pairs do not depend on them."""
        table, fires = self.table, self.fires
        utc_days = table.all
        out: dict[int, int] = {}
        for comp in fires.components:
            allowed = self.allowed_days(comp)
            if not allowed:
                continue
            for slot in comp.slots:
                pattern = time_pattern(slot.minutes, slot.hours) & ~comp.time_exceptions
                if slot.empty or not pattern:
                    continue
                by_24h = fires.last_by_24h and slot.last
                plan = _pieces_plan(
                    self.timeline, table.first, table.count, fires.later_only, by_24h, fires.shift
                )
                by_later: dict[int, int] = {}
                for bits, later, wall, q, r in plan:
                    days_of = by_later.get(later)
                    if days_of is None:
                        days_of = by_later[later] = allowed & table.slot_days(
                            slot, skip_leap_feb_last=comp.skip_leap_feb_last, later=later
                        )
                    local = days_of & bits
                    piece = pattern if wall is None else pattern & wall
                    if not local or not piece:
                        continue
                    low = (piece << r) & FULL_DAY
                    if low:
                        days = _shift(local, q) & utc_days
                        if days:
                            out[low] = out.get(low, 0) | days
                    if r:
                        high = piece >> (DAY - r)
                        if high:
                            days = _shift(local, q + 1) & utc_days
                            if days:
                                out[high] = out.get(high, 0) | days
        return out

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

    def window(self, w0: int, w1: int) -> int:
        """Fire instants in epoch minutes ``[w0, w1)`` as bits relative to ``w0``, evaluated
        day by day (the days next to dated features, previews, and the tests' slow oracle)."""
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
                        (a, b, o, date_of(day + later).day == 1)
                        for first, stop, o in segments
                        for a, b, later in _pieces(self.timeline, day, first, stop, o)
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


#: Recent :meth:`_Side.pairs` results by (fire set, day table), over every UTC day of the table:
#: a translation compares one side several times (pg_cron's entries against the schedule, then
#: against its fields alone to explain a difference; the fields again for a guard's superset; the
#: proof made again by ``check_equivalence``), with other regular days each time (the other side's
#: dated days, another horizon on the same table), so the days are cut per comparison. Fire sets
#: are immutable values and tables are one object per horizon, so an equal key has equal pairs.
#: The dicts are shared: never changed once made.
_PAIRS: dict[tuple[FireSet, DayTable], dict[int, int]] = {}
_PAIRS_SIZE = 256


def _undated(fires: FireSet) -> FireSet:
    """``fires`` without its date exceptions, which :meth:`_Side.pairs` does not read: a
    schedule's pairs are then shared with its fields' (a translation's explanation, a guard)."""
    for comp in fires.components:
        if comp.date_exceptions:
            break
    else:
        return fires
    comps = tuple(  # positional: dataclasses.replace is slower
        Component(c.slots, c.time_exceptions, (), c.start, c.end, c.skip_leap_feb_last)
        for c in fires.components
    )
    return FireSet(fires.zone, comps, fires.later_only, fires.last_by_24h, fires.shift)


def _pairs(side: _Side) -> dict[int, int]:
    """:meth:`_Side.pairs`, remembered (shared: never change it)."""
    key = (_undated(side.fires), side.table)
    got = _PAIRS.get(key)
    if got is None:
        if len(_PAIRS) >= _PAIRS_SIZE:
            _PAIRS.clear()
        got = _PAIRS[key] = side.pairs()
    return got


def _cut(pairs: dict[int, int], days: int) -> dict[int, int]:
    """The pairs on ``days`` only (patterns left with no day dropped)."""
    return {pattern: cut for pattern, bits in pairs.items() if (cut := bits & days)}


def _pairs_window(pairs: dict[int, int], a: int, b: int) -> int:
    """Instants of UTC days ``[a, b)`` of the table as bits from day ``a``'s first minute, from
    the pairs: :meth:`_Side.window` for a side with no dated feature, without its day loop."""
    out = 0
    run = _bit_span(0, b - a)
    for pattern, bits in pairs.items():
        days = (bits >> a) & run
        while days:
            i = lowest(days)
            days &= days - 1
            out |= pattern << (i * DAY)
    return out


def _runs(bits: int) -> Iterator[tuple[int, int]]:
    """Maximal runs ``[a, b)`` of set bits."""
    while bits:
        a = lowest(bits)
        b = lowest(~(bits >> a)) + a
        yield a, b
        bits &= ~_bit_span(a, b)


class _Tally:
    """Totals, one-side-only and shared counts, and the first instant of each."""

    def __init__(self) -> None:
        self.totals = [0, 0]
        self.only = [0, 0, 0]  # left only, right only, both
        self.firsts: list[int | None] = [None, None, None]

    def add(self, which: int, count: int, first: int) -> None:
        self.only[which] += count
        current = self.firsts[which]
        if current is None or first < current:
            self.firsts[which] = first

    def bits(self, left: int, right: int, origin: int, stride: int = 1, size: int = 1) -> None:
        """Add, for each set bit ``i`` of a side, ``size`` instants from ``origin + i * stride``
        (one minute a bit; or a class of ``size`` minutes a day, ``stride`` a day)."""
        # counting bits of day bitsets is the dear part: a side that holds the other (the usual
        # case: equal sides, a superset entry) needs no count of what they share
        same = left == right
        both = left if same else left & right
        n_left = left.bit_count()
        n_right = n_left if same else right.bit_count()
        n_both = n_left if both == left else n_right if both == right else both.bit_count()
        self.totals[0] += n_left * size
        self.totals[1] += n_right * size
        if n_left > n_both:  # both is inside each side: what is left of it, by XOR
            self.add(0, (n_left - n_both) * size, origin + lowest(left ^ both) * stride)
        if n_right > n_both:
            self.add(1, (n_right - n_both) * size, origin + lowest(right ^ both) * stride)
        if n_both:
            self.add(2, n_both * size, origin + lowest(both) * stride)

    def comparison(self, h0: int, days: int) -> Comparison:
        firsts = [None if f is None else instant_of(f) for f in self.firsts]
        since, until = _bounds(h0, days)
        return Comparison(
            since=since,
            until=until,
            left_total=self.totals[0],
            right_total=self.totals[1],
            left_only=self.only[0],
            right_only=self.only[1],
            first_left_only=firsts[0],
            first_right_only=firsts[1],
            both=self.only[2],
            first_both=firsts[2],
        )


@lru_cache(maxsize=1024)
def _bounds(h0: int, days: int) -> tuple[dt.datetime, dt.datetime]:
    """The instants UTC days ``[h0, h0 + days)`` begin and end at (proofs share a few)."""
    return instant_of(h0 * DAY), instant_of((h0 + days) * DAY)


def _classes(patterns: list[int]) -> list[int]:
    """The atoms of the minute patterns: classes of minutes every pattern contains or misses."""
    union = 0
    for p in patterns:
        union |= p
    parts = [union] if union else []
    for p in patterns:
        refined: list[int] = []
        for c in parts:
            x = c & p
            if x and x != c:
                refined += (x, c ^ x)
            else:
                refined.append(c)
        parts = refined
    return parts


#: Recent :func:`compare` results: ``check_equivalence`` proves again what a translation just
#: proved (the same fire sets, since and days). Comparisons are immutable, so they are shared.
_COMPARED: dict[tuple[FireSet, FireSet, dt.date, int], Comparison] = {}
_COMPARED_SIZE = 256


def compare(left: FireSet, right: FireSet, since: dt.date, days: int) -> Comparison:
    """Compare the instants of ``left`` and ``right`` in UTC days ``[since, since + days)``."""
    key = (left, right, since, days)
    got = _COMPARED.get(key)
    if got is None:
        if len(_COMPARED) >= _COMPARED_SIZE:
            _COMPARED.clear()
        got = _COMPARED[key] = _compare(left, right, since, days)
    return got


def _compare(left: FireSet, right: FireSet, since: dt.date, days: int) -> Comparison:
    h0 = day_number(since)
    table = _proof_table(h0 - _MARGIN, days + 2 * _MARGIN)
    sides = (_Side(left, table), _Side(right, table))
    horizon = _bit_span(h0 - table.first, h0 - table.first + days)
    special = (sides[0].special_utc() | sides[1].special_utc()) & horizon
    regular = horizon & ~special
    whole = (_pairs(sides[0]), _pairs(sides[1]))
    pairs = (_cut(whole[0], regular), _cut(whole[1], regular))
    tally = _Tally()
    utc0 = table.first
    # regular days: per class of UTC minutes, the days each side fires on, as day bitsets
    same = pairs[0] == pairs[1]  # the usual case for an exact translation: one side to read
    for cls in _classes([*pairs[0]] if same else [*pairs[0], *pairs[1]]):
        rep = lowest(cls)
        days_of = [0, 0]
        for k in (0,) if same else (0, 1):
            for pattern, bits in pairs[k].items():
                if (pattern >> rep) & 1:
                    days_of[k] = days_of[k] | bits if days_of[k] else bits
        if same:
            days_of[1] = days_of[0]
        tally.bits(
            days_of[0], days_of[1], origin=utc0 * DAY + rep, stride=DAY, size=cls.bit_count()
        )
    # days next to a dated feature, minute-exactly (a side with none reads its pairs there)
    for a, b in _runs(special):
        w0, w1 = (utc0 + a) * DAY, (utc0 + b) * DAY
        left_bits, right_bits = (
            side.window(w0, w1) if side.dated else _pairs_window(whole[k], a, b)
            for k, side in enumerate(sides)
        )
        tally.bits(left_bits, right_bits, w0)
    return tally.comparison(h0, days)


def compare_by_minute(left: FireSet, right: FireSet, since: dt.date, days: int) -> Comparison:
    """:func:`compare` from every instant of both sides, evaluated day by day: the slow,
    straightforward oracle the analytic comparison is tested against."""
    h0 = day_number(since)
    table = day_table(h0 - _MARGIN, days + 2 * _MARGIN)
    sides = (_Side(left, table), _Side(right, table))
    tally = _Tally()
    for first in range(h0, h0 + days, 7):  # a week at a time keeps the bitsets small
        w0, w1 = first * DAY, min(first + 7, h0 + days) * DAY
        tally.bits(sides[0].window(w0, w1), sides[1].window(w0, w1), w0)
    return tally.comparison(h0, days)


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
