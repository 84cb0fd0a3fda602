"""Plain-words descriptions and the run compression they share with the cron fields."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from itertools import pairwise

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.schedule import AgentSchedule, describe_agent_schedule
from bridge.schedule.masks import mask_of, values_of
from bridge.schedule.ranges import cron_field, runs
from tests.factories import catalog_of

UTC = dt.timezone.utc


@pytest.mark.parametrize(
    ("schedule", "words"),
    [
        (
            AgentSchedule(minutes=1 << 30, hours=1 << 2, last_day=True),
            "at 02:30 on the last day of the month",
        ),
        (
            AgentSchedule(
                minutes=mask_of([0, 15, 30, 45]),
                hours=mask_of(range(9, 18)),
                weekdays=mask_of(range(1, 6)),
            ),
            "every 15 minutes from 09:00 to 17:45 on Monday to Friday",
        ),
        (AgentSchedule(), "every 2 minutes (nothing selected: pgAgent's empty-schedule behaviour)"),
        (AgentSchedule(hours=1 << 3), "every minute from 03:00 to 03:59"),
        (
            AgentSchedule(minutes=1, hours=1 << 5, monthdays=1 << 13, weekdays=1 << 5),
            "at 05:00 on day 13 of the month when it is a Friday",
        ),
        (
            AgentSchedule(
                minutes=1, hours=1 << 5, monthdays=1 << 15, last_day=True, months=mask_of([1, 7])
            ),
            "at 05:00 on day 15 of the month (the 'last day' flag is also set, and pgAgent ignores "
            "it) in January and July",
        ),
        (
            AgentSchedule(
                minutes=mask_of([5, 35]), hours=mask_of([9, 10, 11, 14]), weekdays=mask_of([0, 6])
            ),
            "at minutes 5 and 35 past hours 9 to 11 and 14 on Sunday and Saturday",
        ),
        (
            AgentSchedule(
                minutes=1 << 46,
                hours=1 << 5,
                start=dt.datetime(2024, 1, 1, 12, 0, tzinfo=UTC),
                exceptions=((dt.date(2024, 12, 25), None), (None, dt.time(5, 46))),
            ),
            "at 05:46 from 2024-01-01 12:00 UTC except 2024-12-25 (all day) and 05:46 (every day)",
        ),
    ],
)
def test_descriptions(schedule: AgentSchedule, words: str) -> None:
    assert describe_agent_schedule(schedule) == words


def test_accepts_the_catalog_model() -> None:
    schedule = AgentSchedule(minutes=1 << 30, hours=1 << 2, last_day=True)
    assert describe_agent_schedule(schedule.to_model()) == describe_agent_schedule(schedule)


def _expand(field: str, lo: int, hi: int) -> set[int]:
    out: set[int] = set()
    for part in field.split(","):
        span, _, step = part.partition("/")
        first, _, last = span.partition("-")
        a, b = (lo, hi) if first == "*" else (int(first), int(last or first))
        out.update(range(a, b + 1, int(step or 1)))
    return out


@settings(max_examples=1000, deadline=None)
@given(st.sets(st.integers(0, 59), min_size=1), st.booleans())
def test_cron_field_round_trips_and_is_minimal(values: set[int], star: bool) -> None:
    text = cron_field(mask_of(values), 0, 59, star=star)
    assert _expand(text, 0, 59) == values
    assert star or not text.startswith("*")
    # never more elements than the plain list, and at most one per maximal consecutive run
    consecutive = 1 + sum(1 for a, b in pairwise(sorted(values)) if b != a + 1)
    assert len(text.split(",")) <= min(len(values), consecutive)
    assert [v for r in runs(sorted(values)) for v in r.values] == sorted(values)
    assert values_of(mask_of(values)) == sorted(values)


def test_one_instant_in_two_offsets_is_written_in_each() -> None:
    """Catalog schedules of equal instants in other offsets (a snapshot keeps offsets) are equal
    values, but each description writes its own: the remembered engine form must not mix them."""
    (base,) = (
        catalog_of(
            JobSpec("j", [StepSpec("a", "SELECT 1")], [ScheduleSpec("a", minutes=frozenset({5}))])
        )
        .pgagent.jobs[0]
        .schedules
    )  # type: ignore[union-attr]
    utc = replace(base, start=dt.datetime(2024, 1, 1, 0, 0, tzinfo=dt.timezone.utc))
    cet = replace(
        base, start=dt.datetime(2024, 1, 1, 1, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))
    )
    assert utc == cet
    assert "from 2024-01-01 00:00 UTC" in describe_agent_schedule(utc)
    assert "from 2024-01-01 01:00 UTC+01:00" in describe_agent_schedule(cet)
