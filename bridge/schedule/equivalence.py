"""Do a pgAgent schedule and a set of pg_cron entries fire at the same instants?

The answer is computed analytically (see :mod:`bridge.schedule.fireset`) over a horizon of at
least 28 years: the Gregorian calendar's weekday cycle (from 1901 to 2099 a date falls on the same
weekday every 28 years). It therefore holds every combination of month, day, weekday and leap year,
and every date a rule-based DST change can fall on (a fall-back Sunday that is also the 29th of
October happens in 2028, then not before 2034): four years are not enough, a schedule on day 29
fires twice in the repeated hour only in those years. A schedule's dated features (start, end,
exception dates) are all inside the horizon too: it reaches 28 more years past the latest of them,
after which both sides repeat what was compared, so an ``exact`` holds for every future instant.
Dates before the horizon start cost nothing.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import lru_cache

from bridge import model
from bridge.schedule.agent import AgentSchedule, Body, Mode, agent_fireset
from bridge.schedule.cron import CronSchedule, cron_fireset, parse_cron
from bridge.schedule.fireset import Comparison, FireSet, compare
from bridge.schedule.versions import CronTarget

#: Four years always include one 29 February.
DEFAULT_DAYS = 28 * 365 + 7


@dataclass(frozen=True)
class Equivalence:
    """Result of :func:`check_equivalence`: ``exact`` and, if not, where each side differs."""

    exact: bool
    since: dt.datetime
    until: dt.datetime
    agent_fires: int
    cron_fires: int
    #: fire times only pgAgent has / only pg_cron has, and the first of each
    agent_only: int
    cron_only: int
    first_agent_only: dt.datetime | None
    first_cron_only: dt.datetime | None

    @classmethod
    def of(cls, comparison: Comparison) -> Equivalence:
        return cls(
            exact=comparison.equal,
            since=comparison.since,
            until=comparison.until,
            agent_fires=comparison.left_total,
            cron_fires=comparison.right_total,
            agent_only=comparison.left_only,
            cron_only=comparison.right_only,
            first_agent_only=comparison.first_left_only,
            first_cron_only=comparison.first_right_only,
        )


def default_since(
    schedules: Sequence[AgentSchedule | model.Schedule] = (),
) -> dt.date:
    """The horizon start: the latest schedule start, else 2024-01-01 (a leap year)."""
    starts = [s.start.date() for s in schedules if s.start is not None]
    return max(starts) if starts else dt.date(2024, 1, 1)


#: How far past the horizon start dated features are proved (beyond: see :func:`beyond_proof`).
REACH_DAYS = 200 * 365


def _dates(schedules: Sequence[AgentSchedule | model.Schedule]) -> list[dt.date]:
    dates: list[dt.date] = []
    for item in schedules:
        dates += [e.date() for e in (item.start, item.end) if e is not None]
        if isinstance(item, AgentSchedule):
            dates += [d for d, _ in item.exceptions if d is not None]
        else:
            dates += [e.date for e in item.exceptions if e.date is not None]
    return dates


@lru_cache(maxsize=1024)
def _reach(since: dt.date, days: int) -> dt.date:
    """The latest dated feature a proof from ``since`` covers (and stays inside year 9999)."""
    room = (dt.date.max - since).days - days - 8
    return since + dt.timedelta(days=max(0, min(REACH_DAYS, room)))


def proof_days(
    schedules: Sequence[AgentSchedule | model.Schedule], since: dt.date, days: int = DEFAULT_DAYS
) -> int:
    """Days from ``since`` the proof must cover: ``days``, or up to ``days`` past the latest
    start, end or exception date after ``since`` (a holiday in 2031, an end in 2040)."""
    reach = _reach(since, days)
    later = [d for d in _dates(schedules) if since <= d <= reach]
    return (max(later) - since).days + 1 + days if later else days


def beyond_proof(
    schedules: Sequence[AgentSchedule | model.Schedule], since: dt.date, days: int = DEFAULT_DAYS
) -> list[dt.date]:
    """Dated features too far ahead to prove (centuries away, or next to year 9999)."""
    reach = _reach(since, days)
    return sorted(d for d in _dates(schedules) if d > reach)


def check_equivalence(
    agent: AgentSchedule | model.Schedule | Sequence[AgentSchedule | model.Schedule],
    expressions: Sequence[str | CronSchedule],
    *,
    target: CronTarget,
    agent_zone: str = "UTC",
    mode: Mode = "actual",
    body: Body = "4.2",
    since: dt.date | None = None,
    days: int = DEFAULT_DAYS,
) -> Equivalence:
    """Compare pgAgent schedule(s) of one job in ``agent_zone`` with pg_cron entries on ``target``.

    Expressions are parsed with the target's parser (so a misread such as 1.5.0's seconds bug is
    compared as pg_cron would run it); entries that are not cron schedules contribute nothing.
    """
    items = (agent,) if isinstance(agent, (AgentSchedule, model.Schedule)) else tuple(agent)
    parsed = [
        e if isinstance(e, CronSchedule) else parse_cron(e, target.version) for e in expressions
    ]
    left = agent_fireset(items, agent_zone, mode=mode, body=body)
    right = cron_fireset(parsed, target.zone, and_logic=target.and_logic)
    start = since if since is not None else default_since(items)
    result = Equivalence.of(compare(left, right, start, proof_days(items, start, days)))
    if beyond_proof(items, start, days):  # dates the proof cannot reach are never "exact"
        result = replace(result, exact=False)
    return result


def compare_firesets(
    left: FireSet, right: FireSet, since: dt.date, days: int = DEFAULT_DAYS
) -> Comparison:
    """Compare any two fire sets (e.g. pg_cron before and after a round trip)."""
    return compare(left, right, since, days)
