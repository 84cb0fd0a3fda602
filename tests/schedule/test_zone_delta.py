"""``zone_delta`` counts the offset difference per stretch between offset changes; judged here by
the definition itself: the difference at every day's noon, read from zoneinfo day by day."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from zoneinfo import ZoneInfo

import pytest

from bridge.schedule.translate import zone_delta

ZONES = ("UTC", "Europe/Berlin", "America/New_York", "Australia/Lord_Howe", "Asia/Kolkata",
         "Europe/London", "Africa/Casablanca")  # fmt: skip
CASES = [
    (source, target, since, days)
    for source in ZONES
    for target in ZONES
    if source != target
    for since, days in ((dt.date(2024, 1, 1), 10227), (dt.date(2026, 3, 29), 1), (dt.date(2026, 10, 20), 14))
]  # fmt: skip


def by_noons(source: str, target: str, since: dt.date, days: int) -> Counter[int]:
    counts: Counter[int] = Counter()
    for n in range(days):
        noon = dt.datetime.combine(since + dt.timedelta(days=n), dt.time(12), dt.timezone.utc)
        minutes = [noon.astimezone(ZoneInfo(z)).utcoffset() // dt.timedelta(minutes=1)
                   for z in (source, target)]  # fmt: skip
        counts[minutes[1] - minutes[0]] += 1
    return counts


@pytest.mark.parametrize(("source", "target", "since", "days"), CASES)
def test_zone_delta_is_the_most_common_noon_difference(
    source: str, target: str, since: dt.date, days: int
) -> None:
    delta, steady = zone_delta(source, target, since, days)
    counts = by_noons(source, target, since, days)
    assert counts[delta] == max(counts.values()), counts
    if steady:  # one difference all the time, so at every noon
        assert list(counts) == [delta]
