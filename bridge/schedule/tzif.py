"""When a zone's UTC offset can change, read from the zone's TZif file (RFC 8536), for all time.

A TZif file lists a zone's transitions up to some year and ends with a POSIX TZ rule (its footer,
"CET-1CEST,M3.5.0,M10.5.0/3") for every instant after them. The instants of both are the only
ones at which the offset can change, so probing the zone there finds every change exactly: no
sampling interval that two close changes could hide in. The offsets themselves still come from
:mod:`zoneinfo` (the same file, read by Python), so this module only says where to look. The file
is found where :class:`zoneinfo.ZoneInfo` finds it: ``zoneinfo.TZPATH``, then the ``tzdata``
package.
"""

from __future__ import annotations

import bisect
import datetime as dt
import importlib.resources
import os
import re
import struct
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache

_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_DAY = 86400


@dataclass(frozen=True)
class _When:
    """One end of a POSIX rule's daylight time: a day of the year and a local time (seconds)."""

    kind: str  # "J" (1-365, no 29 February), "n" (0-365), "M" (month.week.weekday)
    a: int
    b: int
    c: int
    seconds: int

    def ordinal(self, year: int) -> int:
        """The day's proleptic ordinal (``date.toordinal``): a number, not a date, so that
        ``n365`` of 9999 (10000-01-01) is one too."""
        if self.kind == "M":  # weekday c (0 Sunday) of week b (5: the last) of month a
            first = dt.date(year, self.a, 1)
            day = first + dt.timedelta(
                days=(self.c - first.isoweekday() % 7) % 7 + 7 * (self.b - 1)
            )
            while day.month != self.a:
                day -= dt.timedelta(days=7)
            return day.toordinal()
        jan1 = dt.date(year, 1, 1).toordinal()
        if self.kind == "J":
            leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
            return jan1 + self.a - 1 + (1 if leap and self.a >= 60 else 0)
        return jan1 + self.a


@dataclass(frozen=True)
class Rule:
    """A footer with daylight time: standard and daylight UTC offsets (seconds east) and when
    daylight time starts (in standard local time) and ends (in daylight local time)."""

    std: int
    dst: int
    start: _When
    end: _When

    def instants(self, year: int) -> tuple[int, int]:
        """The UTC seconds at which daylight time starts and ends in ``year``."""
        on = (self.start.ordinal(year) - _EPOCH_ORDINAL) * _DAY + self.start.seconds
        off = (self.end.ordinal(year) - _EPOCH_ORDINAL) * _DAY + self.end.seconds
        return on - self.std, off - self.dst


_NAME = r"(?:<[^>]*>|[A-Za-z]{3,})"
_OFFSET = r"[+-]?\d{1,3}(?::\d{1,2}){0,2}"
_DATE = r"(?:J\d{1,3}|\d{1,3}|M\d{1,2}\.\d\.\d)"
_FOOTER = re.compile(
    rf"{_NAME}(?P<std>{_OFFSET})"
    rf"(?:(?P<dstname>{_NAME})(?P<dst>{_OFFSET})?"
    rf",(?P<start>{_DATE})(?:/(?P<ston>{_OFFSET}))?,(?P<end>{_DATE})(?:/(?P<stoff>{_OFFSET}))?)?"
)


def _seconds(text: str) -> int:
    """``[+-]hh[:mm[:ss]]`` as seconds (hours may reach 167: RFC 8536's extension)."""
    sign = -1 if text.startswith("-") else 1
    value = 0
    for part in ([*text.lstrip("+-").split(":"), "0", "0"])[:3]:
        value = value * 60 + int(part)
    return sign * value


def _when(date: str, time: str | None) -> _When:
    seconds = 7200 if time is None else _seconds(time)
    if date.startswith("M"):
        a, b, c = (int(p) for p in date[1:].split("."))
        return _When("M", a, b, c, seconds)
    if date.startswith("J"):
        return _When("J", int(date[1:]), 0, 0, seconds)
    return _When("n", int(date), 0, 0, seconds)


def parse_footer(text: str) -> Rule | None:
    """The footer's daylight rule, or None when it has none (one offset after the table).

    Offsets in a POSIX TZ string count west of Greenwich; daylight time defaults to one hour ahead
    of standard time, and each end's time to 02:00. A footer this does not read is a ValueError.
    """
    found = _FOOTER.fullmatch(text)
    if found is None or (found["dstname"] is not None and found["start"] is None):
        if text == "":
            return None
        raise ValueError(f"unreadable POSIX TZ rule {text!r}")
    if found["dstname"] is None:
        return None
    std = -_seconds(found["std"])
    dst = std + 3600 if found["dst"] is None else -_seconds(found["dst"])
    return Rule(std, dst, _when(found["start"], found["ston"]), _when(found["end"], found["stoff"]))


@dataclass(frozen=True)
class Transitions:
    """A zone's TZif data as far as changes go: its table's transition instants (UTC seconds, in
    order) and the rule for every instant after the last of them."""

    table: tuple[int, ...]
    rule: Rule | None

    def candidates(self, first: int, stop: int) -> list[int]:
        """Every instant in UTC seconds ``(first, stop]`` at which the offset may change, in
        order."""
        out = list(
            self.table[
                bisect.bisect_right(self.table, first) : bisect.bisect_right(self.table, stop)
            ]
        )
        if self.rule is not None:
            after = max(first, self.table[-1] if self.table else first)
            lo = _year(after) - 1
            hi = _year(stop) + 1
            years = range(max(lo, dt.MINYEAR), min(hi, dt.MAXYEAR) + 1)
            ruled = (t for year in years for t in self.rule.instants(year) if after < t <= stop)
            out.extend(sorted(ruled))
        return out


def _year(seconds: int) -> int:
    days = seconds // _DAY + _EPOCH_ORDINAL
    return dt.date.fromordinal(min(max(days, 1), dt.date.max.toordinal())).year


def _read(data: bytes) -> Transitions:
    """The transitions and footer of a TZif file's bytes (version 1: its 32-bit table)."""
    if data[:4] != b"TZif":
        raise ValueError("not a TZif file")
    version = data[4:5]

    def block(at: int, width: int) -> tuple[int, tuple[int, ...]]:
        isut, isstd, leap, times, types, chars = struct.unpack(">6l", data[at + 20 : at + 44])
        at += 44
        table = struct.unpack(
            f">{times}{'q' if width == 8 else 'l'}", data[at : at + times * width]
        )
        size = times * width + times + types * 6 + chars + leap * (width + 4) + isstd + isut
        return at + size, table

    end, table = block(0, 4)
    if version in (b"2", b"3", b"4"):
        end, table = block(end, 8)
        footer = data[end:].split(b"\n")[1].decode("ascii")
        return Transitions(table, parse_footer(footer))
    return Transitions(table, None)


@lru_cache(maxsize=512)
def transitions(name: str) -> Transitions:
    """The TZif data of zone ``name``, found as :class:`zoneinfo.ZoneInfo` finds it."""
    for base in zoneinfo.TZPATH:
        path = os.path.join(base, name)
        if os.path.isfile(path):
            with open(path, "rb") as fh:
                return _read(fh.read())
    try:
        resource = importlib.resources.files("tzdata.zoneinfo").joinpath(*name.split("/"))
        return _read(resource.read_bytes())
    except (ModuleNotFoundError, FileNotFoundError, NotADirectoryError) as exc:
        raise ValueError(f"unknown time zone {name!r}") from exc
