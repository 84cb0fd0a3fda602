"""pg_cron schedules: the parser each release runs, and its matching rule.

The parser reads the text the way pg_cron's Vixie-derived parser does (per-character, with its
leniencies: junk after a valid prefix of a field is skipped, fields after the fifth are ignored),
so "accepted" and "rejected" mean what they mean on the server. Matching: DOM/DOW star flags come
from each field's first character; both restricted -> OR; ``$`` is "24 hours later is the 1st";
every absolute minute is evaluated in the zone, so a DST gap is skipped and a repeated hour runs
twice.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Literal

from bridge.schedule import findings as F
from bridge.schedule.findings import Finding
from bridge.schedule.fireset import Component, FireSet
from bridge.schedule.masks import ALL_DAYS, ALL_WEEKDAYS, span
from bridge.schedule.slots import Slot
from bridge.schedule.versions import CronVersion, cron_version
from bridge.schedule.zones import zone

_ALNUM_RUN = re.compile(r"[A-Za-z0-9]*")
_EOF = ""  # what the C parser calls EOF; "\0" is the one-off end-of-buffer character
_MAX_LENGTH = 1000
_MAX_TOKEN = 1000
_MONTH_NAMES = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_DOW_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun")
Kind = Literal["cron", "interval", "reboot"]


class CronSyntaxError(ValueError):
    """pg_cron would answer ``invalid schedule`` (or, for ``@restart`` before 1.3, hang)."""


@dataclass(frozen=True)
class CronSchedule:
    """A schedule as one pg_cron release parsed it.

    Masks: ``minutes`` 0..59, ``hours`` 0..23, ``days`` 1..31, ``months`` 1..12, ``weekdays``
    0..6 (7 folded into 0). ``notes`` are accepted-but-surprising readings of the text.
    """

    text: str
    version: CronVersion
    kind: Kind
    minutes: int = 0
    hours: int = 0
    days: int = 0
    months: int = 0
    weekdays: int = 0
    last: bool = False
    dom_star: bool = False
    dow_star: bool = False
    seconds: int | None = None
    notes: tuple[Finding, ...] = ()

    def slots(self, *, and_logic: bool = False) -> tuple[Slot, ...]:
        """The schedule as a union of slots (an OR of DOM and DOW becomes two)."""
        if self.kind != "cron":
            return ()
        m, h, mo, d, last, w = (
            self.minutes,
            self.hours,
            self.months,
            self.days,
            self.last,
            self.weekdays,
        )
        if and_logic or self.dom_star or self.dow_star:
            base = Slot(m, h, mo, d, last, w)
            return () if base.empty else (base,)
        # positional, not dataclasses.replace: every fire set of the entry makes these
        both = (Slot(m, h, mo, d, last, ALL_WEEKDAYS), Slot(m, h, mo, ALL_DAYS, False, w))
        return tuple(s for s in both if not s.empty)


class _Reader:
    """The C parser's character source: the text, then one ``"\\0"``, then EOF forever."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.pushed: list[str] = []

    def get(self) -> str:
        if self.pushed:
            return self.pushed.pop()
        if self.pos < len(self.text):
            self.pos += 1
            return self.text[self.pos - 1]
        if self.pos == len(self.text):
            self.pos += 1
            return "\0"
        return _EOF

    def unget(self, ch: str) -> None:
        self.pushed.append(ch)


_ALNUM = frozenset("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ")


def _alnum(ch: str) -> bool:
    return ch in _ALNUM


class _Parser:
    def __init__(self, text: str, version: CronVersion) -> None:
        self.r = _Reader(text)
        self.version = version
        self.notes: list[Finding] = []

    def fail(self, why: str) -> CronSyntaxError:
        return CronSyntaxError(why)

    def number(self, ch: str, low: int, names: tuple[str, ...] | None) -> tuple[str, int]:
        token = ""
        if _alnum(ch) and not self.r.pushed:
            # the rest of the alphanumeric run, read at once (as get() would, char by char)
            rest = _ALNUM_RUN.match(self.r.text, self.r.pos)
            assert rest is not None
            token = ch + rest.group()
            self.r.pos = rest.end()
            ch = self.r.get()
        while _alnum(ch):
            token += ch
            ch = self.r.get()
        if len(token) >= _MAX_TOKEN:
            raise self.fail("token too long")
        if not token:
            raise self.fail("a number was expected")
        if names is not None and token.lower() in names:
            return ch, names.index(token.lower()) + low
        if token.isdigit():
            return ch, int(token)
        raise self.fail(f"{token!r} is neither a number nor a three-letter name")

    def range_(self, ch: str, lo: int, hi: int, names: tuple[str, ...] | None) -> tuple[str, int]:
        if ch == "*":
            first, last = lo, hi
            ch = self.r.get()
        else:
            ch, first = self.number(ch, lo, names)
            if ch != "-":
                if ch == "/":
                    raise self.fail("a step needs a range (use first-last/step)")
                if not lo <= first <= hi:
                    raise self.fail(f"{first} is out of range {lo}-{hi}")
                return ch, 1 << first
            ch, last = self.number(self.r.get(), lo, names)
        step = 1
        if ch == "/":
            ch, step = self.number(self.r.get(), 0, None)
            if step <= 0:
                raise self.fail("a step must be positive")
        if not (lo <= first <= hi and lo <= last <= hi):
            raise self.fail(f"range {first}-{last} is out of range {lo}-{hi}")
        if self.version.step_above_max_rejected and step > hi:
            raise self.fail(f"step {step} is larger than {hi}")
        if first > last:
            self.notes.append(
                F.warning(
                    F.CRON_REVERSED_RANGE,
                    f"reversed range {first}-{last}: "
                    + (
                        "filled byte by byte (a partial wrap-around) by this release"
                        if self.version.reversed_ranges_wrap and step == 1
                        else "matches nothing in this release"
                    ),
                    "write the values as an ascending list",
                )
            )
        if first > last and step == 1 and self.version.reversed_ranges_wrap:
            return ch, _bytewise_fill(first - lo, last - lo) << lo & span(lo, hi)
        bits = 0
        for value in range(first, last + 1, step):
            bits |= 1 << value
        return ch, bits

    def list_(
        self, ch: str, lo: int, hi: int, names: tuple[str, ...] | None = None
    ) -> tuple[str, int]:
        bits = 0
        while True:
            ch, got = self.range_(ch, lo, hi, names)
            bits |= got
            if ch != ",":
                break
            ch = self.r.get()
        if ch not in (" ", "\t", "\n", _EOF, "\0"):
            skipped = ""
            while ch not in (" ", "\t", "\n", _EOF, "\0"):
                skipped += ch
                ch = self.r.get()
            self.notes.append(
                F.warning(
                    F.CRON_JUNK_IGNORED,
                    f"{skipped!r} after a valid field is silently ignored by pg_cron",
                    "remove it; pg_cron does not support it",
                )
            )
        while ch in (" ", "\t"):
            ch = self.r.get()
        return ch, bits

    def skip_comments(self) -> None:
        while (ch := self.r.get()) != _EOF:
            while ch in (" ", "\t"):
                ch = self.r.get()
            if ch == _EOF:
                return
            if ch not in ("\n", "#"):
                self.r.unget(ch)
                return
            while ch not in ("\n", _EOF):
                ch = self.r.get()

    def parse(self, text: str) -> CronSchedule:
        if len(text.encode()) >= _MAX_LENGTH:
            raise self.fail("schedules are limited to 999 bytes")
        self.skip_comments()
        ch = self.r.get()
        if ch == _EOF:
            raise self.fail("empty schedule")
        if ch == "@":
            return self.macro(text)
        ch, minutes = self.list_(ch, 0, 59)
        if ch in (_EOF, "\0"):
            raise self.fail("missing hour field")
        ch, hours = self.list_(ch, 0, 23)
        last = dom_star = False
        days = 0
        if ch == "$" and self.version.last_day:
            ch = self.r.get()
            if ch not in (" ", "\t"):
                raise self.fail("$ must stand alone in the day-of-month field")
            while ch in (" ", "\t"):
                ch = self.r.get()
            last = True
        else:
            dom_star = ch == "*"
            ch, days = self.list_(ch, 1, 31)
        ch, months = self.list_(ch, 1, 12, _MONTH_NAMES)
        dow_star = ch == "*"
        ch, weekdays = self.list_(ch, 0, 7, _DOW_NAMES)
        if weekdays & 0b10000001:
            weekdays |= 1
        weekdays &= 0b1111111
        if ch not in (_EOF, "\0", "\n"):
            self.notes.append(
                F.warning(
                    F.CRON_EXTRA_FIELDS_IGNORED,
                    "text after the fifth field is ignored by pg_cron (it has no seconds or "
                    "year field)",
                    "use exactly five fields",
                )
            )
        return CronSchedule(
            text=text,
            version=self.version,
            kind="cron",
            minutes=minutes,
            hours=hours,
            days=days,
            months=months,
            weekdays=weekdays,
            last=last,
            dom_star=dom_star,
            dow_star=dow_star,
            notes=tuple(self.notes),
        )

    def macro(self, text: str) -> CronSchedule:
        word = ""
        while (ch := self.r.get()) not in (_EOF, " ", "\t", "\n", "\0"):
            word += ch
        note = F.info(F.CRON_MACRO, f"@{word} is a macro", "pgbridge never emits macros")
        if word == "reboot" or (word == "restart" and self.version.restart_macro):
            return CronSchedule(text, self.version, "reboot", notes=(note,))
        if word == "restart":
            raise self.fail("@restart hangs the parser of pg_cron before 1.3.0")
        fields = {
            "yearly": "0 0 1 1 *",
            "annually": "0 0 1 1 *",
            "monthly": "0 0 1 * *",
            "weekly": "0 0 * * 0",
            "daily": "0 0 * * *",
            "midnight": "0 0 * * *",
            "hourly": "0 * * * *",
        }.get(word)
        if fields is None:
            raise self.fail(f"unknown macro @{word}")
        parsed = parse_cron(fields, self.version)
        notes = [note]
        if word in ("yearly", "annually") and self.version.yearly_never_fires:
            parsed = replace(parsed, months=0)
            notes.append(
                F.error(
                    F.CRON_YEARLY_NEVER_FIRES,
                    f"@{word} never fires on pg_cron {self.version} (its month bit is set "
                    "below the month range)",
                    "use 0 0 1 1 *",
                )
            )
        # the macros set the day-of-week star flag except @daily/@hourly, where both are full
        return replace(
            parsed,
            text=text,
            dom_star=False,
            dow_star=word not in ("daily", "midnight", "hourly"),
            notes=tuple(notes),
        )


def _bytewise_fill(start: int, stop: int) -> int:
    """Bits pg_cron's byte-wise fill sets for a reversed range ``start > stop`` (0-based)."""
    start_byte, stop_byte = start // 8, stop // 8
    if start_byte == stop_byte:
        return 0
    high = (0xFF << (start % 8)) & 0xFF
    low = 0xFF >> (7 - stop % 8)
    return (high << (8 * start_byte)) | (low << (8 * stop_byte))


def _scan_uint(text: str, pos: int) -> tuple[int, int] | None:
    """``sscanf("%u")``: skip blanks, optional sign, digits."""
    while pos < len(text) and text[pos].isspace():
        pos += 1
    sign = 1
    if pos < len(text) and text[pos] in "+-":
        sign = -1 if text[pos] == "-" else 1
        pos += 1
    digits = ""
    while pos < len(text) and text[pos].isdigit() and text[pos].isascii():
        digits += text[pos]
        pos += 1
    if not digits:
        return None
    value = int(digits) * sign
    return (value if value >= 0 else value + 2**32), pos


def _interval(text: str, *, first: bool) -> int | None:
    """pg_cron's ``N seconds`` reading; ``first`` is 1.5.0's looser pattern (the #239 bug)."""
    lower = text.lower()
    scanned = _scan_uint(lower, 0)
    if scanned is None:
        return None
    value, pos = scanned
    while pos < len(lower) and lower[pos].isspace():
        pos += 1
    literal = "second" if first else "secon"
    if not lower.startswith(literal, pos):
        assigned = 1
        chars: list[str] = []
    else:
        pos += len(literal)
        chars = []
        want = 1 if first else 2
        while len(chars) < want and pos < len(lower):
            chars.append(lower[pos])
            pos += 1
        assigned = 1 + len(chars)
        if len(chars) == want:
            while pos < len(lower) and lower[pos].isspace():
                pos += 1
            if pos < len(lower):
                assigned += 1
    valid = 0 < value < 60
    if first:
        ok = assigned == 1 or (assigned == 2 and chars[0] == "s")
    else:
        ok = (
            bool(chars)
            and chars[0] == "d"
            and (assigned == 2 or (assigned == 3 and chars[1] == "s"))
        )
    return value if ok and valid else None


def parse_cron(text: str, version: str | CronVersion = "1.6.7") -> CronSchedule:
    """Parse ``text`` as pg_cron ``version`` does, or raise :class:`CronSyntaxError`."""
    ver = version if isinstance(version, CronVersion) else cron_version(version)
    return _parse(text, ver)


@lru_cache(maxsize=8192)
def _parse(text: str, ver: CronVersion) -> CronSchedule:
    if ver.seconds_interval and ver.interval_parsed_first:
        seconds = _interval(text, first=True)
        if seconds is not None:
            return CronSchedule(text, ver, "interval", seconds=seconds)
    try:
        return _plain(text, ver) or _Parser(text, ver).parse(text)
    except CronSyntaxError:
        if ver.seconds_interval and not ver.interval_parsed_first:
            seconds = _interval(text, first=False)
            if seconds is not None:
                return CronSchedule(text, ver, "interval", seconds=seconds)
        raise


_ITEM = r"(?:\*(?:/[0-9]+)?|[0-9]+(?:-[0-9]+(?:/[0-9]+)?)?)"
#: One field of numbers, ranges, ``*`` and steps. Five of them one space apart (what pgbridge
#: writes; ``$`` also for the month-day) are read without the character-level parser, which they
#: cannot surprise.
_FIELD = re.compile(rf"{_ITEM}(?:,{_ITEM})*")
_BOUNDS = ((0, 59), (0, 23), (1, 31), (1, 12), (0, 7))


def _plain(text: str, ver: CronVersion) -> CronSchedule | None:
    """The schedule for plain five-field text, as the parser would read it; ``None`` for text
    the parser must read (names, blanks, comments, junk, reversed or out-of-range values,
    zero or oversized steps, ``$`` where unknown): there, only it knows the answer."""
    fields = text.split(" ")
    if len(fields) != 5 or len(text) >= _MAX_LENGTH:
        return None
    dom, weekdays = fields[2], fields[4]
    last = dom == "$"
    if last and not ver.last_day:
        return None
    masks: list[int] = []
    for i, (field, (lo, hi)) in enumerate(zip(fields, _BOUNDS, strict=True)):
        if i == 2 and last:
            masks.append(0)
            continue
        bits = _plain_field(field, lo, hi, ver.step_above_max_rejected)
        if bits is None:
            return None
        masks.append(bits)
    dow = masks[4]
    if dow & 0b10000001:
        dow |= 1
    return CronSchedule(
        text=text,
        version=ver,
        kind="cron",
        minutes=masks[0],
        hours=masks[1],
        days=masks[2],
        months=masks[3],
        weekdays=dow & 0b1111111,
        last=last,
        dom_star=dom.startswith("*"),
        dow_star=weekdays.startswith("*"),
    )


@lru_cache(maxsize=8192)
def _plain_field(field: str, lo: int, hi: int, step_above_max_rejected: bool) -> int | None:
    """One field of :func:`_plain` as a mask, ``None`` where the parser must decide (remembered:
    the hour, day and month fields of the entries written recur)."""
    if _FIELD.fullmatch(field) is None:
        return None
    bits = 0
    for item in field.split(","):
        if item.isdigit():  # a plain value (the regex lets only ASCII digits through)
            value = int(item)
            if not lo <= value <= hi:
                return None
            bits |= 1 << value
            continue
        value_text, _, step_text = item.partition("/")
        if value_text == "*":
            first, stop = lo, hi
        else:
            a, _, b = value_text.partition("-")
            first, stop = int(a), int(b or a)
        step = int(step_text) if step_text else 1
        if not lo <= first <= stop <= hi or step <= 0:
            return None
        if step_above_max_rejected and step > hi:
            return None
        if step == 1:
            bits |= span(first, stop)
        else:
            for v in range(first, stop + 1, step):
                bits |= 1 << v
    return bits


def may_meet(a: CronSchedule, b: CronSchedule) -> bool:
    """Whether two entries of one pg_cron can fire at the same instant. An instant has one
    reading of the minute, hour and month fields (1.6.0-1.6.1 read them 24 hours ahead, for both
    entries alike), so entries with no minute, hour or month in common never do."""
    return bool(a.minutes & b.minutes and a.hours & b.hours and a.months & b.months)


def cron_fireset(
    schedules: Iterable[CronSchedule], zone_name: str, *, and_logic: bool = False
) -> FireSet:
    """The instants a set of pg_cron entries fires at (their union), in ``zone_name``."""
    items = list(schedules)
    slots = [s for c in items for s in c.slots(and_logic=and_logic)]
    tomorrow = any(c.version.date_fields_from_tomorrow for c in items)
    if tomorrow:
        # 1.6.0-1.6.1 read every field 24 hours ahead, where `$` means "the 1st"
        slots = [replace(s, days=s.days | (1 << 1), last=False) if s.last else s for s in slots]
    return FireSet(
        zone=zone_name,
        components=(Component(slots=tuple(slots)),),
        later_only=False,
        last_by_24h=not tomorrow,
        shift=-1440 if tomorrow else 0,
    )


def cron_fires_at(
    schedule: CronSchedule, instant: dt.datetime, zone_name: str, *, and_logic: bool = False
) -> bool:
    """Does pg_cron start ``schedule`` at ``instant``'s minute? A direct statement of
    ``ShouldRunTask`` for the tests to hold the analytic engine against."""
    if schedule.kind != "cron":
        return False
    tz = zone(zone_name)
    instant = instant.replace(second=0, microsecond=0)
    day_later = instant + dt.timedelta(days=1)
    if schedule.version.date_fields_from_tomorrow:
        local = day_later.astimezone(tz)
        is_last = local.day == 1
    else:
        local = instant.astimezone(tz)
        is_last = day_later.astimezone(tz).day == 1
    if not (
        (schedule.minutes >> local.minute) & 1
        and (schedule.hours >> local.hour) & 1
        and (schedule.months >> local.month) & 1
    ):
        return False
    this_dom = bool((schedule.days >> local.day) & 1) or (schedule.last and is_last)
    this_dow = bool((schedule.weekdays >> (local.isoweekday() % 7)) & 1)
    if and_logic or schedule.dom_star or schedule.dow_star:
        return this_dom and this_dow
    return this_dom or this_dow
