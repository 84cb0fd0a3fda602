"""The ledger: what pgbridge did, kept next to pg_cron in a small schema of its own (``pgbridge``).

It is written in the same transaction as the pg_cron jobs it describes, so it is never out of step
with them. ``cron_jobs`` maps every pg_cron job pgbridge created to the pgAgent job and schedules it
came from, with the content it was given (to notice hand edits and verify); ``pgagent_jobs`` keeps
each migrated pgAgent job's enabled state from before the migration and where the migration stands
(``cutover``: pg_cron jobs created inactive, pgAgent still in charge; ``migrated``: pg_cron in
charge, pgAgent job disabled or about to be).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from bridge.errors import ForeignRow
from bridge.naming import content_hash
from bridge.pg.connect import Connection

DDL = """
CREATE SCHEMA IF NOT EXISTS pgbridge;
COMMENT ON SCHEMA pgbridge IS 'pgbridge: ledger of the pgAgent to pg_cron migration';
CREATE TABLE IF NOT EXISTS pgbridge.cron_jobs (
    jobname        text        NOT NULL,
    username       text        NOT NULL,
    jobid          bigint      NOT NULL,
    source         text        NOT NULL,
    pgagent_job_id integer     NOT NULL,
    schedule_ids   integer[]   NOT NULL,
    content_hash   text        NOT NULL,
    schedule       text,
    command        text,
    database       text,
    planned_active boolean,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (jobname, username)
);
CREATE TABLE IF NOT EXISTS pgbridge.pgagent_jobs (
    source           text        NOT NULL,
    pgagent_job_id   integer     NOT NULL,
    previous_enabled boolean     NOT NULL,
    state            text        NOT NULL CHECK (state IN ('cutover', 'migrated')),
    -- the pgAgent job as it was defined, so the reverse export can give it back exactly
    definition       jsonb,
    -- how it was planned (options, pgAgent's zone), so verify and activate judge it the same way
    context          jsonb,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, pgagent_job_id)
);
"""


@dataclass(frozen=True)
class LedgerJob:
    """A pg_cron job pgbridge created, with the content it was given."""

    jobname: str
    username: str
    jobid: int
    source: str
    pgagent_job_id: int
    schedule_ids: tuple[int, ...]
    schedule: str
    command: str
    database: str
    planned_active: bool

    @property
    def content_hash(self) -> str:
        return content_hash(self.schedule, self.command, self.database, self.username)


@dataclass(frozen=True)
class LedgerSource:
    source: str
    pgagent_job_id: int
    previous_enabled: bool
    state: str
    #: The pgAgent job's definition (``bridge.model.Job`` as JSON), passwords already masked.
    definition: dict[str, Any] | None = None
    #: How it was planned: {"options": PlanOptions as JSON, "timezone": pgAgent's zone}.
    context: dict[str, Any] | None = None


def exists(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT to_regclass('pgbridge.cron_jobs') IS NOT NULL "
        "AND to_regclass('pgbridge.pgagent_jobs') IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def ensure(conn: Connection) -> None:
    """Create the ledger if it is missing (inside the caller's transaction)."""
    if not exists(conn):
        conn.execute(DDL.encode())


def read(conn: Connection, source: str) -> tuple[list[LedgerJob], list[LedgerSource]]:
    """Everything the ledger holds for one pgAgent source (empty when there is no ledger)."""
    if not exists(conn):
        return [], []
    jobs = [
        LedgerJob(r[0], r[1], int(r[2]), r[3], int(r[4]), tuple(r[5]), r[6], r[7], r[8], bool(r[9]))
        for r in conn.execute(
            "SELECT jobname, username, jobid, source, pgagent_job_id, schedule_ids, schedule, "
            "command, database, planned_active FROM pgbridge.cron_jobs WHERE source = %s "
            "ORDER BY pgagent_job_id, jobname",
            [source],
        )
    ]
    sources = [
        LedgerSource(r[0], int(r[1]), bool(r[2]), r[3], r[4], r[5])
        for r in conn.execute(
            "SELECT source, pgagent_job_id, previous_enabled, state, definition, context "
            "FROM pgbridge.pgagent_jobs WHERE source = %s ORDER BY pgagent_job_id",
            [source],
        )
    ]
    return jobs, sources


def record_job(conn: Connection, job: LedgerJob) -> None:
    """Insert or update the row of a pg_cron job; a row of another catalog is never changed."""
    cur = conn.execute(
        "INSERT INTO pgbridge.cron_jobs (jobname, username, jobid, source, pgagent_job_id, "
        "schedule_ids, content_hash, schedule, command, database, planned_active) "
        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (jobname, username) DO UPDATE SET jobid = EXCLUDED.jobid, "
        "source = EXCLUDED.source, pgagent_job_id = EXCLUDED.pgagent_job_id, "
        "schedule_ids = EXCLUDED.schedule_ids, content_hash = EXCLUDED.content_hash, "
        "schedule = EXCLUDED.schedule, command = EXCLUDED.command, "
        "database = EXCLUDED.database, planned_active = EXCLUDED.planned_active, "
        "updated_at = now() WHERE pgbridge.cron_jobs.source = EXCLUDED.source "
        # only a real change touches the row, so updated_at means "last change"
        "AND (cron_jobs.jobid, cron_jobs.pgagent_job_id, cron_jobs.schedule_ids, "
        "cron_jobs.content_hash, cron_jobs.schedule, cron_jobs.command, cron_jobs.database, "
        "cron_jobs.planned_active) IS DISTINCT FROM (EXCLUDED.jobid, EXCLUDED.pgagent_job_id, "
        "EXCLUDED.schedule_ids, EXCLUDED.content_hash, EXCLUDED.schedule, EXCLUDED.command, "
        "EXCLUDED.database, EXCLUDED.planned_active)",
        [
            job.jobname,
            job.username,
            job.jobid,
            job.source,
            job.pgagent_job_id,
            list(job.schedule_ids),
            job.content_hash,
            job.schedule,
            job.command,
            job.database,
            job.planned_active,
        ],
    )
    if cur.rowcount != 1 and not _recorded_as(conn, job):
        raise ForeignRow(
            f"pg_cron job {job.jobname!r} of {job.username!r} is recorded for another pgAgent "
            "catalog; its ledger row was left as it is"
        )


def _recorded_as(conn: Connection, job: LedgerJob) -> bool:
    """Is the row already exactly this (an upsert that changed nothing), for this catalog?"""
    row = conn.execute(
        "SELECT 1 FROM pgbridge.cron_jobs WHERE jobname = %s AND username = %s AND source = %s",
        [job.jobname, job.username, job.source],
    ).fetchone()
    return row is not None


def others(conn: Connection, source: str, names: list[str]) -> dict[tuple[str, str], str]:
    """(job name, user) -> catalog identity, for these names recorded for other catalogs."""
    rows = conn.execute(
        "SELECT jobname, username, source FROM pgbridge.cron_jobs "
        "WHERE jobname = ANY(%s) AND source <> %s",
        [names, source],
    ).fetchall()
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}


def forget_job(conn: Connection, jobname: str, username: str) -> None:
    conn.execute(
        "DELETE FROM pgbridge.cron_jobs WHERE jobname = %s AND username = %s", [jobname, username]
    )


#: The fields of a recorded pgAgent job (``bridge.model.Job``) that are run state, not definition.
_RUN_STATE = "ARRAY['changed', 'next_run', 'last_run', 'agent_id']"


def record_source(conn: Connection, entry: LedgerSource) -> None:
    """Insert or move a pgAgent job's state; the first recorded enabled state is kept, the
    definition and context follow the latest migration."""
    conn.execute(
        "INSERT INTO pgbridge.pgagent_jobs (source, pgagent_job_id, previous_enabled, state, "
        "definition, context) VALUES (%s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (source, pgagent_job_id) DO UPDATE SET state = EXCLUDED.state, "
        "definition = coalesce(EXCLUDED.definition, pgbridge.pgagent_jobs.definition), "
        "context = coalesce(EXCLUDED.context, pgbridge.pgagent_jobs.context), updated_at = now() "
        # a real change only: pgAgent itself rewrites a job's run bookkeeping (jobchanged,
        # jobnextrun, ... by its triggers, e.g. when the migration disables the job)
        f"WHERE (pgagent_jobs.state, pgagent_jobs.definition - {_RUN_STATE}, "
        "pgagent_jobs.context) IS DISTINCT FROM (EXCLUDED.state, coalesce(EXCLUDED.definition, "
        f"pgagent_jobs.definition) - {_RUN_STATE}, coalesce(EXCLUDED.context, "
        "pgagent_jobs.context))",
        [
            entry.source,
            entry.pgagent_job_id,
            entry.previous_enabled,
            entry.state,
            Jsonb(entry.definition) if entry.definition is not None else None,
            Jsonb(entry.context) if entry.context is not None else None,
        ],
    )


def forget_source(conn: Connection, source: str, pgagent_job_id: int) -> None:
    conn.execute(
        "DELETE FROM pgbridge.pgagent_jobs WHERE source = %s AND pgagent_job_id = %s",
        [source, pgagent_job_id],
    )


def taken_over(conn: Connection, source: str) -> dict[str, dt.datetime]:
    """When pg_cron took over each pg_cron job of ``source`` that is in charge now (state
    ``migrated``): the later of the job's and its pgAgent job's last ledger change."""
    if not exists(conn):
        return {}
    rows = conn.execute(
        "SELECT c.jobname, greatest(c.updated_at, p.updated_at) FROM pgbridge.cron_jobs c "
        "JOIN pgbridge.pgagent_jobs p ON p.source = c.source AND p.pgagent_job_id = c.pgagent_job_id "
        "WHERE c.source = %s AND p.state = 'migrated'",
        [source],
    )
    return {str(name): when for name, when in rows}
