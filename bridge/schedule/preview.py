"""The picture of a change: one week of fire times, pgAgent's and pg_cron's side by side.

Reports show it for a job whose fire times change: the week (Monday to Sunday, in pgAgent's
zone) holding the first instant where the two sides differ. Both sides come from the same fire
sets that prove equivalence (:func:`~bridge.schedule.fireset.compare`,
:func:`~bridge.schedule.fireset.fire_instants`), so the picture cannot disagree with the proof.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bridge.schedule.fireset import FireSet, compare, fire_instants
from bridge.schedule.zones import zone

#: Days of the picture.
WEEK = 7


@dataclass(frozen=True)
class FireDay:
    """One day of the picture: the wall-clock minutes (of pgAgent's zone) each side fires at."""

    day: dt.date
    agent: tuple[int, ...]
    cron: tuple[int, ...]

    @property
    def differs(self) -> bool:
        return self.agent != self.cron


@dataclass(frozen=True)
class FireWeek:
    """The first week whose fire times differ, in zone ``zone``, from Monday ``days[0].day``."""

    zone: str
    #: The first instant (UTC) that only one side fires at.
    first_difference: dt.datetime
    days: tuple[FireDay, ...]


def first_differing_week(
    agent: FireSet, cron: FireSet, since: dt.date, days: int, zone_name: str
) -> FireWeek | None:
    """The week in ``zone_name`` where ``agent`` and ``cron`` first differ within ``days`` days
    from ``since`` (None when they never do)."""
    found = compare(agent, cron, since, days)
    firsts = [t for t in (found.first_left_only, found.first_right_only) if t is not None]
    if not firsts:
        return None
    tz = zone(zone_name)
    first = min(firsts)
    local = first.astimezone(tz).date()
    monday = local - dt.timedelta(days=local.weekday())
    # UTC days around the local week: a zone is at most a day away from UTC
    window = (monday - dt.timedelta(days=1), WEEK + 2)
    sides = [_by_day(fire_instants(fires, *window), tz) for fires in (agent, cron)]
    week = tuple(
        FireDay(d, sides[0].get(d, ()), sides[1].get(d, ()))
        for d in (monday + dt.timedelta(days=n) for n in range(WEEK))
    )
    return FireWeek(zone_name, first, week)


def _by_day(instants: list[dt.datetime], tz: dt.tzinfo) -> dict[dt.date, tuple[int, ...]]:
    out: dict[dt.date, list[int]] = {}
    for instant in instants:
        wall = instant.astimezone(tz)
        out.setdefault(wall.date(), []).append(wall.hour * 60 + wall.minute)
    return {d: tuple(v) for d, v in out.items()}
