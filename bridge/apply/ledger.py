"""The ledger: what pgbridge did, kept next to pg_cron in a small schema of its own (``pgbridge``).

It is written in the same transaction as the pg_cron jobs it describes, so it is never out of step
with them. ``cron_jobs`` maps every pg_cron job pgbridge created to the pgAgent job and schedules it
came from, with the content it was given (to notice hand edits and verify); ``pgagent_jobs`` keeps
each migrated pgAgent job's enabled state from before the migration and where the migration stands
(``cutover``: pg_cron jobs created inactive, pgAgent still in charge; ``migrated``: pg_cron in
charge, pgAgent job disabled or about to be). ``switched_at`` is the instant a cross-database
switch handed the job to pg_cron (``clock_timestamp()`` right before pg_cron's commit, inside the
quiet window; NULL after a one-transaction switch and in ledgers older than the column, issue 14).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bridge.errors import ForeignRow
from bridge.naming import content_hash
from bridge.pg.connect import Connection
from bridge.planner.types import PlanOptions
from bridge.schedule import zones
from bridge.serialize import from_jsonable

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
    -- when a cross-database switch handed the job to pg_cron (commit_switch, issue 14)
    switched_at      timestamptz,
    PRIMARY KEY (source, pgagent_job_id)
);
"""
#: Columns added after pgbridge 0.1.0, added in place to an older ledger by :func:`ensure`.
_ADDED = {"switched_at": "ALTER TABLE pgbridge.pgagent_jobs ADD COLUMN switched_at timestamptz"}


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


@dataclass(frozen=True)
class PlannedAs:
    """How a job was planned, as far as its ledger record tells."""

    options: PlanOptions
    zone: str
    #: What stood in for what the record lacks (an older ledger) or this release cannot read
    #: ("the default options and the live zone (Asia/Tokyo)"); empty when nothing did.
    guess: str = ""


def planned_as(context: Any, zone: str) -> PlannedAs:
    """The options and pgAgent zone a job was planned with, from its recorded ``context``; each
    part the record lacks or this release cannot read (options of another release, a zone this
    host does not know, a damaged row) is replaced by the default options or ``zone`` (the live
    catalog's), and ``guess`` says which, for the caller to report."""
    ctx = context if isinstance(context, dict) else {}
    guessed: list[str] = []
    try:
        options = from_jsonable(PlanOptions, ctx["options"])
    except (KeyError, ValueError, TypeError):
        options = PlanOptions()
        guessed.append("the default options")
    recorded = ctx.get("timezone")
    try:
        used = zone if not isinstance(recorded, str) else zones.zone(recorded).key
    except ValueError:
        used = zone
    if used != recorded:
        guessed.append(f"the live zone ({zone})")
    return PlannedAs(options, used, " and ".join(guessed))


def exists(conn: Connection) -> bool:
    row = conn.execute(
        "SELECT to_regclass('pgbridge.cron_jobs') IS NOT NULL "
        "AND to_regclass('pgbridge.pgagent_jobs') IS NOT NULL"
    ).fetchone()
    return bool(row and row[0])


def ensure(conn: Connection) -> None:
    """Create the ledger if it is missing, or add the columns an older one lacks (inside the
    caller's transaction; an up-to-date ledger is only read)."""
    if not exists(conn):
        conn.execute(DDL.encode())
        return
    for column in sorted(set(_ADDED) - _columns(conn)):
        conn.execute(_ADDED[column].encode())


def _columns(conn: Connection) -> set[str]:
    """The columns of ``pgbridge.pgagent_jobs`` (an older ledger lacks some)."""
    rows = conn.execute(
        "SELECT attname FROM pg_attribute WHERE attrelid = 'pgbridge.pgagent_jobs'::regclass "
        "AND attnum > 0 AND NOT attisdropped"
    ).fetchall()
    return {str(r[0]) for r in rows}


def read(
    conn: Connection, source: str, *, definitions: bool = True
) -> tuple[list[LedgerJob], list[LedgerSource]]:
    """Everything the ledger holds for one pgAgent source (empty when there is no ledger).

    ``definitions=False`` leaves each source's ``definition`` None: only the reverse export and
    the reconcile need it, and reading and parsing 10,000 of them is most of a read (issue 16)."""
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
    contexts: dict[str, Any] = {}  # jobs migrated together share one context: parsed once

    def context(text: str | None) -> Any:
        if text is None:
            return None
        if text not in contexts:
            contexts[text] = json.loads(text)
        return contexts[text]

    sources = [
        LedgerSource(
            r[0],
            int(r[1]),
            bool(r[2]),
            r[3],
            None if r[4] is None else json.loads(r[4]),
            context(r[5]),
        )
        for r in conn.execute(
            "SELECT source, pgagent_job_id, previous_enabled, state, "
            f"{'definition::text' if definitions else 'NULL'}, "
            "context::text FROM pgbridge.pgagent_jobs WHERE source = %s ORDER BY pgagent_job_id",
            [source],
        )
    ]
    return jobs, sources


def definitions(conn: Connection, source: str, pgagent_job_ids: Sequence[int]) -> dict[int, Any]:
    """The recorded definitions of these pgAgent jobs (``bridge.model.Job`` as JSON) in one
    query, for the few callers that need some: :func:`read` leaves them out (issue 16). A job
    without a row or a definition is absent."""
    if not pgagent_job_ids or not exists(conn):
        return {}
    rows = conn.execute(
        "SELECT pgagent_job_id, definition::text FROM pgbridge.pgagent_jobs "
        "WHERE source = %s AND pgagent_job_id = ANY(%s) AND definition IS NOT NULL",
        [source, list(pgagent_job_ids)],
    )
    return {int(r[0]): json.loads(r[1]) for r in rows}


def record_job(conn: Connection, job: LedgerJob) -> None:
    record_jobs(conn, [job])


def record_jobs(conn: Connection, jobs: Sequence[LedgerJob]) -> None:
    """Insert or update the rows of these pg_cron jobs in one statement; a row of another catalog
    is never changed (:class:`ForeignRow`)."""
    if not jobs:
        return
    written = conn.execute(
        "INSERT INTO pgbridge.cron_jobs (jobname, username, jobid, source, pgagent_job_id, "
        "schedule_ids, content_hash, schedule, command, database, planned_active) "
        "SELECT a.jobname, a.username, a.jobid, a.source, a.pgagent_job_id, "
        "a.schedule_ids::integer[], a.content_hash, a.schedule, a.command, a.database, "
        "a.planned_active FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::text[], "
        "%s::integer[], %s::text[], %s::text[], %s::text[], %s::text[], %s::text[], "
        "%s::boolean[]) AS a(jobname, username, jobid, source, pgagent_job_id, schedule_ids, "
        "content_hash, schedule, command, database, planned_active) "
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
        "EXCLUDED.database, EXCLUDED.planned_active) RETURNING jobname, username",
        [
            [j.jobname for j in jobs],
            [j.username for j in jobs],
            [j.jobid for j in jobs],
            [j.source for j in jobs],
            [j.pgagent_job_id for j in jobs],
            ["{" + ",".join(map(str, j.schedule_ids)) + "}" for j in jobs],
            [j.content_hash for j in jobs],
            [j.schedule for j in jobs],
            [j.command for j in jobs],
            [j.database for j in jobs],
            [j.planned_active for j in jobs],
        ],
    ).fetchall()
    done = {(str(r[0]), str(r[1])) for r in written}
    rest = [j for j in jobs if (j.jobname, j.username) not in done]
    if rest:
        _check_recorded_as(conn, rest)


def _check_recorded_as(conn: Connection, jobs: Sequence[LedgerJob]) -> None:
    """Rows an upsert left alone must already be exactly these, for this catalog; otherwise they
    belong to another catalog."""
    rows = conn.execute(
        "SELECT a.jobname, a.username FROM unnest(%s::text[], %s::text[], %s::text[]) "
        "AS a(jobname, username, source) JOIN pgbridge.cron_jobs c USING (jobname, username, "
        "source)",
        [[j.jobname for j in jobs], [j.username for j in jobs], [j.source for j in jobs]],
    ).fetchall()
    mine = {(str(r[0]), str(r[1])) for r in rows}
    for job in jobs:
        if (job.jobname, job.username) not in mine:
            raise ForeignRow(
                f"pg_cron job {job.jobname!r} of {job.username!r} is recorded for another "
                "pgAgent catalog; its ledger row was left as it is"
            )


def others(conn: Connection, source: str, names: list[str]) -> dict[tuple[str, str], str]:
    """(job name, user) -> catalog identity, for these names recorded for other catalogs."""
    rows = conn.execute(
        "SELECT jobname, username, source FROM pgbridge.cron_jobs "
        "WHERE jobname = ANY(%s) AND source <> %s",
        [names, source],
    ).fetchall()
    return {(str(r[0]), str(r[1])): str(r[2]) for r in rows}


def forget_jobs(conn: Connection, keys: Sequence[tuple[str, str]]) -> None:
    """Delete the rows of these (job name, user) keys, in one statement."""
    if keys:
        conn.execute(
            "DELETE FROM pgbridge.cron_jobs WHERE (jobname, username) IN "
            "(SELECT * FROM unnest(%s::text[], %s::text[]))",
            [[k[0] for k in keys], [k[1] for k in keys]],
        )


#: The fields of a recorded pgAgent job (``bridge.model.Job``) that are run state, not definition.
RUN_STATE = ("changed", "next_run", "last_run", "agent_id")
_RUN_STATE = "ARRAY[" + ", ".join(f"'{k}'" for k in RUN_STATE) + "]"


def record_source(conn: Connection, entry: LedgerSource) -> None:
    record_sources(conn, [entry])


def record_sources(conn: Connection, entries: Sequence[LedgerSource]) -> None:
    """Insert or move pgAgent jobs' states, in one statement; the first recorded enabled state is
    kept, the definition and context follow the latest migration."""
    if not entries:
        return
    # One JSON document, not one text array per column: psycopg quotes array elements in
    # Python, which for 10,000 definitions cost more than the statement (issue 16).
    rows = [
        {
            "source": e.source,
            "pgagent_job_id": e.pgagent_job_id,
            "previous_enabled": e.previous_enabled,
            "state": e.state,
            "definition": e.definition,
            "context": e.context,
        }
        for e in entries
    ]
    conn.execute(
        "INSERT INTO pgbridge.pgagent_jobs (source, pgagent_job_id, previous_enabled, state, "
        "definition, context) SELECT a.source, a.pgagent_job_id, a.previous_enabled, a.state, "
        # a JSON null (no definition given) is SQL NULL, as the coalesce below needs
        "nullif(a.definition, 'null'), nullif(a.context, 'null') FROM jsonb_to_recordset(%s::jsonb) "
        "AS a(source text, pgagent_job_id integer, previous_enabled boolean, state text, "
        "definition jsonb, context jsonb) "
        "ON CONFLICT (source, pgagent_job_id) DO UPDATE SET state = EXCLUDED.state, "
        "definition = coalesce(EXCLUDED.definition, pgbridge.pgagent_jobs.definition), "
        "context = coalesce(EXCLUDED.context, pgbridge.pgagent_jobs.context), updated_at = now() "
        # a real change only: pgAgent itself rewrites a job's run bookkeeping (jobchanged,
        # jobnextrun, ... by its triggers, e.g. when the migration disables the job)
        f"WHERE (pgagent_jobs.state, pgagent_jobs.definition - {_RUN_STATE}, "
        "pgagent_jobs.context) IS DISTINCT FROM (EXCLUDED.state, coalesce(EXCLUDED.definition, "
        f"pgagent_jobs.definition) - {_RUN_STATE}, coalesce(EXCLUDED.context, "
        "pgagent_jobs.context))",
        [json.dumps(rows, ensure_ascii=False)],
    )


def same_source(old: LedgerSource, new: LedgerSource) -> bool:
    """Would recording ``new`` over ``old`` change nothing (as the upsert above judges it)?"""

    def definition(entry: LedgerSource) -> dict[str, Any] | None:
        if entry.definition is None:
            return None
        return {k: v for k, v in entry.definition.items() if k not in RUN_STATE}

    def same(before: Any, after: Any) -> bool:  # as jsonb reads it back only if need be
        return bool(before == after or before == _roundtrip(after))

    return (
        old.state == new.state
        and (new.context is None or same(old.context, new.context))
        and (new.definition is None or same(definition(old), definition(new)))
    )


def _roundtrip(value: dict[str, Any] | None) -> Any:
    """As the value reads back from jsonb (tuples become lists, ...)."""
    return None if value is None else json.loads(json.dumps(value))


def forget_sources(conn: Connection, source: str, pgagent_job_ids: Sequence[int]) -> None:
    if pgagent_job_ids:
        conn.execute(
            "DELETE FROM pgbridge.pgagent_jobs WHERE source = %s AND pgagent_job_id = ANY(%s)",
            [source, list(pgagent_job_ids)],
        )


@dataclass(frozen=True)
class TakeOver:
    """When pg_cron took over a job: ``exact`` when ``at`` is the instant a cross-database switch
    recorded right before its commit (inside the quiet window), otherwise ``at`` is the start of
    the transaction of the job's last ledger change, which committed some time later."""

    at: dt.datetime
    exact: bool


def stamp_switch(
    conn: Connection, source: str, pgagent_job_ids: Sequence[int], at: dt.datetime
) -> None:
    """Record ``at`` (read on this server's clock before the switch's commits) as the instant
    these migrated pgAgent jobs were handed to pg_cron, in one statement, after both commits;
    only when the clock still reads the same minute, so no minute boundary (no fire time) lies
    between ``at`` and the commits. Otherwise, or when pgbridge stops before this, nothing is
    recorded and ``verify --runs`` keeps its margin. ``updated_at`` is left alone."""
    if pgagent_job_ids:
        conn.execute(
            "UPDATE pgbridge.pgagent_jobs SET switched_at = %s "
            "WHERE source = %s AND pgagent_job_id = ANY(%s) AND state = 'migrated' "
            "AND date_trunc('minute', %s::timestamptz) = date_trunc('minute', clock_timestamp())",
            [at, source, list(pgagent_job_ids), at],
        )


def taken_over(conn: Connection, source: str) -> dict[str, TakeOver]:
    """When pg_cron took over each pg_cron job of ``source`` that is in charge now (state
    ``migrated``): the instant of its switch when one was recorded after the job's and its
    pgAgent job's last ledger change (then nothing changed since), otherwise that last change."""
    if not exists(conn):
        return {}
    stamp = "p.switched_at" if "switched_at" in _columns(conn) else "NULL::timestamptz"
    rows = conn.execute(
        f"SELECT c.jobname, greatest(c.updated_at, p.updated_at), {stamp} "
        "FROM pgbridge.cron_jobs c "
        "JOIN pgbridge.pgagent_jobs p ON p.source = c.source AND p.pgagent_job_id = c.pgagent_job_id "
        "WHERE c.source = %s AND p.state = 'migrated'",
        [source],
    )
    return {
        str(name): TakeOver(switched, True)
        if switched is not None and switched >= changed
        else TakeOver(changed, False)
        for name, changed, switched in rows
    }
