"""Zone offsets: the TZif reader's change instants and rules, judged by :mod:`zoneinfo`."""

from __future__ import annotations

import datetime as dt
import struct
import zoneinfo
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.schedule import tzif, zones
from bridge.schedule.tzif import Rule, _When, parse_footer

ZONES = sorted(zoneinfo.available_timezones())
RULED = [n for n in ZONES if tzif.transitions(n).rule is not None]


@pytest.mark.parametrize(
    ("footer", "rule"),
    [
        ("", None),
        ("UTC0", None),
        ("<+0530>-5:30", None),
        ("CET-1CEST,M3.5.0,M10.5.0/3",
         Rule(3600, 7200, _When("M", 3, 5, 0, 7200), _When("M", 10, 5, 0, 10800))),
        # Dublin: "standard" time is the summer one, daylight time one hour behind it
        ("IST-1GMT0,M10.5.0,M3.5.0/1",
         Rule(3600, 0, _When("M", 10, 5, 0, 7200), _When("M", 3, 5, 0, 3600))),
        ("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0",
         Rule(37800, 39600, _When("M", 10, 1, 0, 7200), _When("M", 4, 1, 0, 7200))),
        ("NST3:30NDT,M3.2.0,M11.1.0",
         Rule(-12600, -9000, _When("M", 3, 2, 0, 7200), _When("M", 11, 1, 0, 7200))),
        # RFC 8536's extension: hours past 24 and negative times
        ("EET-2EEST,M3.4.4/50,M10.4.4/50",
         Rule(7200, 10800, _When("M", 3, 4, 4, 180000), _When("M", 10, 4, 4, 180000))),
        ("<-02>2<-01>,M3.5.0/-1,M10.5.0/0",
         Rule(-7200, -3600, _When("M", 3, 5, 0, -3600), _When("M", 10, 5, 0, 0))),
        ("EST5EDT,0/0,J365/25",
         Rule(-18000, -14400, _When("n", 0, 0, 0, 0), _When("J", 365, 0, 0, 90000))),
    ],
)  # fmt: skip
def test_footer(footer: str, rule: Rule | None) -> None:
    assert parse_footer(footer) == rule


@pytest.mark.parametrize("footer", ["CET-1CEST", "CET", "CET-1CEST,M3.5.0", "1CET", "CET-1,M3"])
def test_unreadable_footer(footer: str) -> None:
    with pytest.raises(ValueError, match="POSIX TZ rule"):
        parse_footer(footer)


@pytest.mark.parametrize(
    ("when", "year", "day"),
    [
        (_When("M", 3, 5, 0, 0), 2024, dt.date(2024, 3, 31)),  # last Sunday of March
        (_When("M", 10, 5, 0, 0), 2026, dt.date(2026, 10, 25)),
        (_When("M", 3, 2, 0, 0), 2026, dt.date(2026, 3, 8)),  # second Sunday
        (_When("M", 11, 1, 0, 0), 2026, dt.date(2026, 11, 1)),  # first Sunday, the 1st itself
        (_When("M", 2, 5, 4, 0), 2024, dt.date(2024, 2, 29)),  # a fifth Thursday exists
        (_When("M", 2, 5, 4, 0), 2026, dt.date(2026, 2, 26)),  # it does not: the last one
        (_When("J", 60, 0, 0, 0), 2024, dt.date(2024, 3, 1)),  # J never counts 29 February
        (_When("J", 59, 0, 0, 0), 2024, dt.date(2024, 2, 28)),
        (_When("n", 59, 0, 0, 0), 2024, dt.date(2024, 2, 29)),  # n does
        (_When("n", 59, 0, 0, 0), 2026, dt.date(2026, 3, 1)),
    ],
)
def test_rule_day(when: _When, year: int, day: dt.date) -> None:
    assert when.ordinal(year) == day.toordinal()


def test_rule_past_9999() -> None:
    """A rule whose end falls on 10000-01-01 still starts daylight time in March 9999."""
    rule = parse_footer("XXX3YYY,M3.5.0,365/0")
    assert rule is not None
    on, off = rule.instants(9999)
    march = dt.datetime(9999, 3, 28, 5, tzinfo=dt.timezone.utc)  # its last Sunday, 02:00 at UTC-3
    assert dt.datetime.fromtimestamp(on, dt.timezone.utc) == march
    new_year = dt.date(9999, 12, 31).toordinal() + 1 - dt.date(1970, 1, 1).toordinal()
    assert off == new_year * 86400 + 7200  # 10000-01-01 00:00 at UTC-2
    last = int(dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc).timestamp())
    assert tzif.Transitions((), rule).candidates(on - 1, last) == [on]


def _offset_seconds(name: str, seconds: int) -> dt.timedelta | None:
    instant = dt.datetime.fromtimestamp(seconds, dt.timezone.utc)
    return instant.astimezone(zoneinfo.ZoneInfo(name)).utcoffset()


@settings(max_examples=400, deadline=None)
@given(st.sampled_from(RULED), st.integers(2040, 2400))
def test_rule_instants_are_where_zoneinfo_changes(name: str, year: int) -> None:
    """Past its table, daylight time starts and ends where Python's zoneinfo says it does."""
    data = tzif.transitions(name)
    rule = data.rule
    assert rule is not None and rule.std != rule.dst
    on, off = rule.instants(year)
    for t, before, after in ((on, rule.std, rule.dst), (off, rule.dst, rule.std)):
        if not data.table or t > data.table[-1]:
            assert _offset_seconds(name, t - 1) == dt.timedelta(seconds=before)
            assert _offset_seconds(name, t) == dt.timedelta(seconds=after)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from(ZONES), st.integers(1890, 2400))
def test_timeline_walk_of_a_year(name: str, year: int) -> None:
    """Every 61 minutes of a year (the walk meets every minute of the hour over 61 hours), the
    timeline's offset is zoneinfo's."""
    tz = zoneinfo.ZoneInfo(name)
    day = zones.day_number(dt.date(year, 1, 1))
    timeline = zones.timeline(name, day, day + 366)
    for minute in range(day * 1440, (day + 366) * 1440, 61):
        assert timeline.offset_at(minute) == zones._offset(tz, minute), minute


@settings(max_examples=1500, deadline=None)
@given(
    st.sampled_from(ZONES),
    st.integers(zones.day_number(dt.date(1850, 1, 1)), zones.day_number(dt.date(2500, 1, 1))),
    st.integers(0, 40 * 1440),
)
def test_timeline_offsets_are_zoneinfo_offsets(name: str, day: int, at: int) -> None:
    """At any minute of a timeline, and either side of each of its changes, the offset is the
    one zoneinfo gives."""
    tz = zoneinfo.ZoneInfo(name)
    timeline = zones.timeline(name, day, day + 40)
    for minute in (day * 1440 + at, *(p.start + d for p in timeline.periods[1:] for d in (-1, 0))):
        assert timeline.offset_at(minute) == zones._offset(tz, minute), minute
    for before, after in zip(timeline.periods, timeline.periods[1:], strict=False):
        assert before.end == after.start and before.offset != after.offset


def _tzif(times: list[int], offsets: list[int], footer: bytes) -> bytes:
    """A version 2 TZif file: the offset (seconds) before the first transition, then one per
    transition."""

    def block(width: str) -> bytes:
        head = b"TZif2" + b"\0" * 15 + struct.pack(">6l", 0, 0, 0, len(times), len(offsets), 4)
        body = struct.pack(f">{len(times)}{width}", *times)
        body += bytes(range(1, len(times) + 1))
        body += b"".join(struct.pack(">lBB", off, 0, 0) for off in offsets) + b"ZZZ\0"
        return head + body

    return block("l") + block("q") + b"\n" + footer + b"\n"


@pytest.fixture
def close_zone(tmp_path: Path) -> Iterator[str]:
    """A made-up zone whose clock goes one hour ahead at 2030-06-01 10:00 UTC and back 30 minutes
    later: two changes closer than any sampling interval, that cancel each other out."""
    name = "Pgbridge/Close"
    (tmp_path / "Pgbridge").mkdir()
    t = int(dt.datetime(2030, 6, 1, 10, tzinfo=dt.timezone.utc).timestamp())
    (tmp_path / name).write_bytes(_tzif([t, t + 1800], [0, 3600, 0], b"UTC0"))
    zoneinfo.reset_tzpath([str(tmp_path)])
    try:
        yield name
    finally:
        zoneinfo.reset_tzpath()
        zoneinfo.ZoneInfo.clear_cache(only_keys=[name])
        tzif.transitions.cache_clear()
        zones._changes.cache_clear()
        zones.timeline.cache_clear()


def test_changes_closer_than_hours_are_found(close_zone: str) -> None:
    day = zones.day_number(dt.date(2030, 6, 1))
    periods = zones.timeline(close_zone, day, day + 1).periods
    at = zones.minute_number(dt.datetime(2030, 6, 1, 10, tzinfo=dt.timezone.utc))
    assert [(p.start, p.offset) for p in periods[1:]] == [(at, 60), (at + 30, 0)]
    assert [p.offset for p in periods] == [0, 60, 0]
