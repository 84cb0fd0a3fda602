"""Getting a :class:`~bridge.model.Catalog`: from live servers or from a snapshot file."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path

from bridge import collector
from bridge.catalog import snapshot
from bridge.catalog.history import DEFAULT_DAYS, read_history
from bridge.catalog.pgagent import read_pgagent
from bridge.catalog.pgcron import read_pgcron
from bridge.catalog.timezones import check_zone
from bridge.errors import UsageError
from bridge.model import Catalog, PgCronSide
from bridge.pg import conninfo
from bridge.pg.connect import reading, sibling
from bridge.progress import SILENT, Progress, phase


def read_catalog(
    pgagent: str = "",
    pgcron: str | None = None,
    *,
    timezone: str | None = None,
    agent_role: str | None = None,
    history_days: int = DEFAULT_DAYS,
) -> Catalog:
    """Read both sides from live servers, each in one READ ONLY transaction.

    ``pgagent`` is the DSN of the database holding pgAgent's catalog ("" = the ``PG*`` environment);
    ``pgcron`` the database where pg_cron is installed (default: the same connection).
    ``history_days`` of pgAgent's run log are summarised per job (0: the log is not read).
    """
    with collector.paused(), reading(pgagent) as conn:  # rows become objects, in bulk
        agent_side = read_pgagent(conn, timezone=timezone, agent_role=agent_role)
        agent_side = read_history(
            conn, agent_side, history_days, opener=lambda: sibling(pgagent, conn)
        )
        cron_side: PgCronSide | None = read_pgcron(conn) if pgcron is None else None
    if pgcron is not None:
        with reading(pgcron) as conn:
            cron_side = read_pgcron(conn)
    origin = conninfo.redact(pgagent) or "(PG* environment)"
    if pgcron is not None:
        origin += f" + pg_cron at {conninfo.redact(pgcron) or '(PG* environment)'}"
    return Catalog(agent_side, cron_side, origin, dt.datetime.now(dt.timezone.utc))


def load_catalog(
    pgagent: str | None = None,
    pgcron: str | None = None,
    *,
    snapshot_path: str | Path | None = None,
    timezone: str | None = None,
    agent_role: str | None = None,
    history_days: int = DEFAULT_DAYS,
    progress: Progress = SILENT,
) -> Catalog:
    """A catalog from a snapshot (``snapshot_path``) or from live servers; never both.

    ``progress`` is told of the snapshot's megabytes, or of the live read as one phase (its
    queries are a constant few, each returning every job)."""
    if snapshot_path is not None:
        if pgagent is not None:
            raise UsageError("--snapshot replaces --pgagent: give one or the other")
        catalog = snapshot.load(snapshot_path, progress)
        if pgcron is not None:
            with reading(pgcron) as conn:
                catalog = replace(catalog, pgcron=read_pgcron(conn))
        if timezone is not None and catalog.pgagent is not None:
            agent = replace(
                catalog.pgagent,
                timezone=check_zone(timezone),
                timezone_source="override (--timezone)",
            )
            catalog = replace(catalog, pgagent=agent)
        return catalog
    with phase(progress, "reading catalog"):
        return read_catalog(
            pgagent or "",
            pgcron,
            timezone=timezone,
            agent_role=agent_role,
            history_days=history_days,
        )
