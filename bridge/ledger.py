"""The ledger: what pgbridge did, kept next to pg_cron in a small schema of its own (``pgbridge``).

It is written in the same transaction as the pg_cron jobs it describes, so it is never out of step
with them. ``cron_jobs`` maps every pg_cron job pgbridge created to the pgAgent job and schedules it
came from, with a hash of its content as applied (to notice hand edits); ``pgagent_jobs`` keeps
each migrated pgAgent job's enabled state from before the migration and where the migration stands
(``cutover``: pg_cron jobs created inactive, pgAgent still in charge; ``migrated``: pg_cron in
charge, pgAgent job disabled or about to be).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

from psycopg.types.json import Jsonb

from .connect import Connection

SCHEMA = "pgbridge"

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
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (jobname, username)
);
CREATE TABLE IF NOT EXISTS pgbridge.pgagent_jobs (
    source           text        NOT NULL,
    pgagent_job_id   integer     NOT NULL,
    previous_enabled boolean     NOT NULL,
    state            text        NOT NULL CHECK (state IN ('cutover', 'migrated')),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, pgagent_job_id)
);
-- The pgAgent job as it was defined, so the reverse export can give it back exactly.
ALTER TABLE pgbridge.pgagent_jobs ADD COLUMN IF NOT EXISTS definition jsonb;
"""


def content_hash(schedule: str, command: str, database: str, username: str) -> str:
    """Identity of a pg_cron job's content (activity is not content: activate changes it)."""
    text = json.dumps([schedule, command, database, username], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class LedgerJob:
    jobname: str
    username: str
    jobid: int
    source: str
    pgagent_job_id: int
    schedule_ids: tuple[int, ...]
    content_hash: str


@dataclass(frozen=True)
class LedgerSource:
    source: str
    pgagent_job_id: int
    previous_enabled: bool
    state: str
    #: The pgAgent job's definition (``bridge.model.Job`` as JSON), passwords already masked.
    definition: dict[str, Any] | None = None


def exists(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT to_regclass('pgbridge.cron_jobs') IS NOT NULL "
        "AND to_regclass('pgbridge.pgagent_jobs') IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def ensure(conn: Connection) -> None:
    """Create the ledger, or bring an older one up to date (inside the caller's transaction)."""
    conn.execute(DDL.encode())


def read(conn: Connection, source: str) -> tuple[list[LedgerJob], list[LedgerSource]]:
    """Everything the ledger holds for one pgAgent source (empty when there is no ledger)."""
    if not exists(conn):
        return [], []
    jobs = [
        LedgerJob(r[0], r[1], int(r[2]), r[3], int(r[4]), tuple(r[5]), r[6])
        for r in conn.execute(
            "SELECT jobname, username, jobid, source, pgagent_job_id, schedule_ids, content_hash "
            "FROM pgbridge.cron_jobs WHERE source = %s ORDER BY pgagent_job_id, jobname",
            [source],
        )
    ]
    sources = [
        LedgerSource(r[0], int(r[1]), bool(r[2]), r[3], r[4])
        for r in conn.execute(
            "SELECT source, pgagent_job_id, previous_enabled, state, "
            + ("definition" if _has_definition(conn) else "NULL::jsonb")
            + " FROM pgbridge.pgagent_jobs WHERE source = %s ORDER BY pgagent_job_id",
            [source],
        )
    ]
    return jobs, sources


def record_job(conn: Connection, job: LedgerJob) -> None:
    conn.execute(
        "INSERT INTO pgbridge.cron_jobs (jobname, username, jobid, source, pgagent_job_id, "
        "schedule_ids, content_hash) VALUES (%s, %s, %s, %s, %s, %s, %s) "
        "ON CONFLICT (jobname, username) DO UPDATE SET jobid = EXCLUDED.jobid, "
        "source = EXCLUDED.source, pgagent_job_id = EXCLUDED.pgagent_job_id, "
        "schedule_ids = EXCLUDED.schedule_ids, content_hash = EXCLUDED.content_hash, "
        "updated_at = now()",
        [
            job.jobname,
            job.username,
            job.jobid,
            job.source,
            job.pgagent_job_id,
            list(job.schedule_ids),
            job.content_hash,
        ],
    )


def forget_job(conn: Connection, jobname: str, username: str) -> None:
    conn.execute(
        "DELETE FROM pgbridge.cron_jobs WHERE jobname = %s AND username = %s", [jobname, username]
    )


def _has_definition(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'pgbridge.pgagent_jobs'::regclass "
        "AND attname = 'definition' AND NOT attisdropped)"
    ).fetchone()
    return bool(row and row[0])


def record_source(conn: Connection, entry: LedgerSource) -> None:
    """Insert or move a pgAgent job's state; the first recorded enabled state is kept, the
    definition follows the source."""
    conn.execute(
        "INSERT INTO pgbridge.pgagent_jobs (source, pgagent_job_id, previous_enabled, state, "
        "definition) VALUES (%s, %s, %s, %s, %s) ON CONFLICT (source, pgagent_job_id) DO UPDATE "
        "SET state = EXCLUDED.state, definition = coalesce(EXCLUDED.definition, "
        "pgbridge.pgagent_jobs.definition), updated_at = now()",
        [
            entry.source,
            entry.pgagent_job_id,
            entry.previous_enabled,
            entry.state,
            Jsonb(entry.definition) if entry.definition is not None else None,
        ],
    )


def forget_source(conn: Connection, source: str, pgagent_job_id: int) -> None:
    conn.execute(
        "DELETE FROM pgbridge.pgagent_jobs WHERE source = %s AND pgagent_job_id = %s",
        [source, pgagent_job_id],
    )


def cron_rows(conn: Connection, jobids: list[int]) -> dict[int, dict[str, Any]]:
    """The current ``cron.job`` rows for these ids (one query)."""
    if not jobids:
        return {}
    rows = conn.execute(
        "SELECT jobid, jobname::text, schedule, command, database, username, active "
        "FROM cron.job WHERE jobid = ANY(%s)",
        [jobids],
    ).fetchall()
    keys = ("jobid", "jobname", "schedule", "command", "database", "username", "active")
    return {int(r[0]): dict(zip(keys, r, strict=True)) for r in rows}
