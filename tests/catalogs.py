"""Realistic pgAgent catalogs for tests, built with the SQL pgAdmin sends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from bridge.devtools.pgagent_jobs import create_job
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.naming import catalog_identity, catalog_tag, prefix

Conn = psycopg.Connection[tuple[Any, ...]]
SECRET = "pw1-do-not-print"


def build_catalog(db: Conn, copies: int = 1, first: int = 0) -> list[int]:
    """A catalog with every feature the reader must carry: several of everything."""
    ids = []
    for n in range(first, first + copies):
        ids.append(
            create_job(
                db,
                JobSpec(
                    f"multi step {n}",
                    [
                        StepSpec("b second", "SELECT 2;", on_error="s"),
                        StepSpec("a first", "SELECT 1;\nSELECT 11;"),
                        StepSpec("b second", "SELECT 3;", on_error="i", enabled=False),
                        StepSpec("c shell", "#!/bin/sh\necho hi\n", kind="b"),
                        StepSpec(
                            "d remote",
                            "SELECT 4;",
                            connstr=f"host=other dbname=x password={SECRET}",
                        ),
                    ],
                    [
                        ScheduleSpec(
                            "weekdays 09:30",
                            start="2024-03-01 12:17:30+00",
                            end="2030-01-01 00:00:00+00",
                            minutes=frozenset({30}),
                            hours=frozenset({9, 17}),
                            weekdays=frozenset({1, 2, 3, 4, 5}),
                            exceptions=(
                                (dt.date(2024, 12, 25), None),
                                (None, dt.time(17, 30)),
                                (dt.date(2025 + n, 1, 1), dt.time(9, 30)),
                            ),
                        ),
                        ScheduleSpec(
                            "last day",
                            minutes=frozenset({0}),
                            hours=frozenset({23}),
                            monthdays=frozenset({32}),
                            months=frozenset({1, 12}),
                            enabled=False,
                        ),
                    ],
                    job_class=3,
                    description="desc",
                    host_agent="agent-host",
                ),
            )
        )
        ids.append(create_job(db, JobSpec(f"empty {n}", enabled=False)))
    return ids


def cron_name(db: Conn, job_id: int, rest: str) -> str:
    """The pg_cron job name pgbridge gives pgAgent job ``job_id`` of the catalog in ``db``."""
    row = db.execute(
        "SELECT system_identifier::text, current_database() FROM pg_control_system()"
    ).fetchone()
    assert row is not None
    return f"{prefix(catalog_tag(catalog_identity(row[0], row[1])))}{job_id}-{rest}"
