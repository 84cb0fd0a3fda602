"""Slot helpers checked against their definitions, minute by minute."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.schedule.slots import Slot, shortest_gap
from tests.schedule.strategies import masks

slots = st.builds(Slot, minutes=masks(0, 59), hours=masks(0, 23))


@settings(max_examples=3000, deadline=None)
@given(st.lists(slots, max_size=4))
def test_shortest_gap_is_the_fewest_minutes_between_fire_times(given_slots: list[Slot]) -> None:
    """The closest two of the union's fire minutes of a day, the day taken to repeat (the last
    time is followed by the first of the next day)."""
    times = sorted(
        {
            60 * h + m
            for s in given_slots
            if not s.empty
            for h in range(24)
            if s.hours >> h & 1
            for m in range(60)
            if s.minutes >> m & 1
        }
    )
    following = times[1:] + times[:1]
    gaps = [(b - a) % 1440 or 1440 for a, b in zip(times, following, strict=True)]
    expected = min(gaps, default=None)
    assert shortest_gap(given_slots) == expected
