"""croniter (with pg_cron's day rule: ``implement_cron_bug=True``) agrees with our matcher on the
syntax both accept, and differs where pg_cron's parser (src/entry.c) reads the text otherwise:
single-value and reversed ranges, and named ranges (``test_known_differences``)."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from croniter import CroniterBadDateError, croniter
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from bridge.schedule import cron_fires_at, parse_cron
from tests.schedule.strategies import cron_texts

UTC = dt.timezone.utc
SINGLE_RANGE = re.compile(r"(?<![\d/])(\d+)-\1(?![\d])")


class PgCronIter(croniter):  # type: ignore[misc]
    """croniter with pg_cron's DOM/DOW rule (AND when either raw field starts with '*')."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["implement_cron_bug"] = True
        super().__init__(*args, **kwargs)


def croniter_fires(expr: str, instant: dt.datetime) -> bool:
    return bool(PgCronIter.match(expr, instant))


@settings(max_examples=1500, deadline=None)
@given(
    cron_texts(last_day=False),
    st.datetimes(min_value=dt.datetime(2024, 1, 1), max_value=dt.datetime(2027, 12, 31)),
    st.booleans(),
)
def test_croniter_agrees_on_shared_syntax(expr, naive, on_fire):
    assume(
        not SINGLE_RANGE.search(expr)
    )  # "N-N": one value for pg_cron, the whole field for croniter
    ours = parse_cron(expr, "1.6.7")
    instant = naive.replace(second=0, microsecond=0, tzinfo=UTC)
    if on_fire:  # move to the next fire time croniter knows, so matches are not rare
        try:
            nxt = PgCronIter(expr, instant - dt.timedelta(minutes=1)).get_next(dt.datetime)
        except CroniterBadDateError:  # never fires (e.g. 30 February): keep the random minute
            nxt = instant
        instant = nxt if nxt.year < 2029 else instant
    assert cron_fires_at(ours, instant, "UTC") == croniter_fires(expr, instant)


@pytest.mark.parametrize(
    ("expr", "instant", "pg_cron", "croniter_says"),
    [
        # a leading '*' in DOM: pg_cron and croniter-with-the-flag AND, plain croniter ORs
        ("0 0 */2 * 1", dt.datetime(2024, 1, 8, tzinfo=UTC), False, False),
        # reversed ranges: empty on pg_cron <= 1.5.2 (1.4.2 here), croniter wraps
        ("0 22-2 * * *", dt.datetime(2024, 1, 8, 23, 0, tzinfo=UTC), False, True),
        # JAN-JAN: January for pg_cron, the whole year for croniter
        ("0 0 1 jan-jan *", dt.datetime(2024, 5, 1, tzinfo=UTC), False, True),
        ("* * 6-6 * *", dt.datetime(2024, 1, 1, tzinfo=UTC), False, True),
    ],
)
def test_known_differences(expr, instant, pg_cron, croniter_says):
    assert cron_fires_at(parse_cron(expr, "1.4.2"), instant, "UTC") is pg_cron
    assert croniter_fires(expr, instant) is croniter_says
