"""The schedule engine: pgAgent and pg_cron semantics, translation both ways, equivalence.

Pure code (no I/O): everything here takes values and returns values, so the planner, the
migration and the reverse export can use it on a snapshot as well as on a live catalog.
"""

from __future__ import annotations

from bridge.schedule.agent import (
    AgentSchedule,
    Body,
    Mode,
    agent_findings,
    agent_fires_at,
    agent_fireset,
    body_of,
    effective_slot,
)
from bridge.schedule.cron import (
    CronSchedule,
    CronSyntaxError,
    cron_fires_at,
    cron_fireset,
    parse_cron,
)
from bridge.schedule.describe import describe_agent_schedule
from bridge.schedule.equivalence import DEFAULT_DAYS, Equivalence, check_equivalence
from bridge.schedule.findings import Finding
from bridge.schedule.fireset import Comparison, FireSet, compare, fire_instants
from bridge.schedule.slots import Slot
from bridge.schedule.translate import (
    AgentTranslation,
    CronTranslation,
    agent_to_cron,
    cron_to_agent,
)
from bridge.schedule.versions import CronTarget, CronVersion, cron_version, known_releases

__all__ = [
    "DEFAULT_DAYS",
    "AgentSchedule",
    "AgentTranslation",
    "Body",
    "Comparison",
    "CronSchedule",
    "CronSyntaxError",
    "CronTarget",
    "CronTranslation",
    "CronVersion",
    "Equivalence",
    "Finding",
    "FireSet",
    "Mode",
    "Slot",
    "agent_findings",
    "agent_fires_at",
    "agent_fireset",
    "agent_to_cron",
    "body_of",
    "check_equivalence",
    "compare",
    "cron_fires_at",
    "cron_fireset",
    "cron_to_agent",
    "cron_version",
    "describe_agent_schedule",
    "effective_slot",
    "fire_instants",
    "known_releases",
    "parse_cron",
]
