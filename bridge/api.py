"""The library API: one plain function per command, what the CLI calls and upgrade tooling imports.

``migrate``, ``activate``, ``verify`` and ``rollback`` live in :mod:`bridge.migrate`, next to
their transactions, and are re-exported here.

Functions return values (catalogs, plans) and raise :class:`~bridge.errors.BridgeError` subclasses;
they never print and never exit. Connections are named by system: ``pgagent`` is the database that
holds pgAgent's catalog, ``pgcron`` the database where pg_cron is installed.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from bridge.apply.migrate import (
    MigrationResult,
    Selection,
    Verification,
    activate,
    migrate,
    rollback,
    verify,
)
from bridge.catalog.load import load_catalog
from bridge.export.writer import ExportResult, export
from bridge.model import Catalog
from bridge.plan.planner import Plan, PlanOptions, Target, make_plan, pgcron_missing, target_from


def inventory(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    snapshot: str | Path | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
) -> Catalog:
    """Read both catalogs (live, or pgAgent's from a snapshot)."""
    return load_catalog(
        pgagent, pgcron, snapshot_path=snapshot, timezone=timezone, agent_role=agent_role
    )


def plan(
    source: Catalog | None = None,
    target: Target | None = None,
    options: PlanOptions | None = None,
    *,
    pgagent: str | None = None,
    pgcron: str | None = None,
    snapshot: str | Path | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
    target_release: str | None = None,
    cron_timezone: str | None = None,
    cron_database: str | None = None,
    today: dt.date | None = None,
) -> Plan:
    """The migration plan (dry run): what would be created in pg_cron, and every finding.

    ``source`` is a catalog already read; otherwise it is read from ``pgagent`` / ``snapshot``.
    ``target`` is a declared :class:`Target`; otherwise it is the pg_cron side that was read,
    with ``target_release`` / ``cron_timezone`` / ``cron_database`` overriding what was detected.
    """
    catalog = source or inventory(
        pgagent, pgcron, snapshot=snapshot, timezone=timezone, agent_role=agent_role
    )
    if target is None:
        side = catalog.pgcron
        live = side is not None and (snapshot is None or pgcron is not None) and source is None
        target = target_from(
            side,
            release=target_release,
            timezone=cron_timezone,
            database=cron_database,
            applier=side.reader if live and side is not None and side.reader else None,
        )
    result = make_plan(catalog, target, options, today=today)
    missing = pgcron_missing(catalog.pgcron) if pgcron is not None and catalog.pgcron else None
    if missing is not None:  # a --pgcron named on purpose that holds no pg_cron
        result = replace(result, findings=(*result.findings, missing))
    return result


__all__ = [
    "ExportResult",
    "MigrationResult",
    "Selection",
    "Verification",
    "activate",
    "export",
    "inventory",
    "migrate",
    "plan",
    "rollback",
    "verify",
]
