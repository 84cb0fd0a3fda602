"""The golden table in ``mappings/golden_schedules.json``, run in both directions.

pgAgent -> pg_cron: the emitted entries, exactness and finding codes must be as written; where a
case is exact and marked ``reverse``, exporting the entries back to pgAgent must give schedules
that fire exactly like the original. pg_cron -> pgAgent: the schedules (as sets of bitmasks),
exactness and findings must be as written, and the schedules must translate back to entries that
fire like the original ones.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bridge.schedule import (
    DEFAULT_DAYS,
    AgentSchedule,
    CronTarget,
    agent_fireset,
    agent_to_cron,
    compare,
    cron_fireset,
    cron_to_agent,
    parse_cron,
)
from bridge.schedule.masks import mask_of

TABLE = json.loads(
    (Path(__file__).resolve().parents[2] / "mappings" / "golden_schedules.json").read_text()
)
SINCE = dt.date(2024, 1, 1)
DAYS = DEFAULT_DAYS


def _values(spec: Any) -> list[int]:
    if isinstance(spec, str):
        first, _, rest = spec.partition("-")
        last, _, step = rest.partition("/")
        return list(range(int(first), int(last or first) + 1, int(step or 1)))
    out: list[int] = []
    for item in spec:
        out += [] if item == "last" else _values(item) if isinstance(item, str) else [item]
    return out


def agent_of(spec: dict[str, Any]) -> AgentSchedule:
    monthdays = spec.get("monthdays", [])
    return AgentSchedule(
        minutes=mask_of(_values(spec.get("minutes", []))),
        hours=mask_of(_values(spec.get("hours", []))),
        weekdays=mask_of(_values(spec.get("weekdays", []))),
        monthdays=mask_of(_values(monthdays)),
        last_day=isinstance(monthdays, list) and "last" in monthdays,
        months=mask_of(_values(spec.get("months", []))),
        exceptions=tuple(
            (
                None if d is None else dt.date.fromisoformat(d),
                None if t is None else dt.time.fromisoformat(t),
            )
            for d, t in spec.get("exceptions", [])
        ),
    )


def target_of(case: dict[str, Any], key: str = "target") -> CronTarget:
    return CronTarget.of(
        case[key],
        case.get("cron_zone", "GMT"),
        match_dom_and_dow=case.get("match_dom_and_dow", False),
    )


@pytest.mark.parametrize("case", TABLE["to_cron"], ids=lambda c: c["name"])
def test_pgagent_to_cron(case: dict[str, Any]) -> None:
    agent = agent_of(case["pgagent"])
    target = target_of(case)
    got = agent_to_cron(
        agent,
        target=target,
        agent_zone=case.get("agent_zone", "UTC"),
        mode=case.get("mode", "actual"),
        body=case.get("body", "4.2"),
        since=SINCE,
    )
    assert list(got.expressions) == case["cron"]
    assert got.exact == case["exact"]
    assert sorted({f.code for f in got.findings}) == sorted(case["findings"])
    if case.get("reverse"):
        back = cron_to_agent(
            got.expressions, source=target, agent_zone=case.get("agent_zone", "UTC"), since=SINCE
        )
        assert back.exact
        original = agent_fireset(
            agent, case.get("agent_zone", "UTC"), mode=case.get("mode", "actual")
        )
        exported = agent_fireset(back.schedules, case.get("agent_zone", "UTC"))
        assert compare(original, exported, SINCE, DAYS).equal


@pytest.mark.parametrize("case", TABLE["to_pgagent"], ids=lambda c: c["name"])
def test_cron_to_pgagent(case: dict[str, Any]) -> None:
    source = target_of(case, "source")
    zone = case.get("agent_zone", "UTC")
    got = cron_to_agent(case["cron"], source=source, agent_zone=zone, since=SINCE)
    assert set(got.schedules) == {agent_of(s) for s in case["pgagent"]}
    assert got.exact == case["exact"]
    assert sorted({f.code for f in got.findings}) == sorted(case["findings"])
    if got.exact:
        entries = [
            e
            for s in got.schedules
            for e in agent_to_cron(s, target=source, agent_zone=zone, since=SINCE).expressions
        ]
        original = cron_fireset([parse_cron(c, source.version) for c in case["cron"]], source.zone)
        again = cron_fireset([parse_cron(c, source.version) for c in entries], source.zone)
        assert compare(original, again, SINCE, DAYS).equal
