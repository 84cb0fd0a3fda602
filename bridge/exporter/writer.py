"""The reverse export, I/O part: read pg_cron (and pgbridge's ledger), write pgAgent jobs.

``export`` plans by default; with ``apply`` it creates the jobs in the pgAgent catalog in one
transaction. Every exported job carries a tag in its description, and a re-export replaces the
job with the same tag instead of adding another, so exporting twice never duplicates a job.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg

from bridge.apply import ledger
from bridge.catalog import snapshot
from bridge.catalog.pgagent import identity, read_pgagent
from bridge.catalog.pgcron import read_pgcron
from bridge.errors import QueryFailed, UsageError, first_line
from bridge.exporter.pgagent_sql import job_sql
from bridge.exporter.translate import (
    ExportedJob,
    ExportPlan,
    ExportResult,
    LedgerOrigin,
    make_export,
    marker,
    replace_sql,
    writable,
)
from bridge.findings import Finding, Severity
from bridge.model import Job, PgCronSide
from bridge.pg.connect import connect, reading
from bridge.progress import SILENT, Progress, phase, tracked
from bridge.serialize import from_jsonable

#: Key of the transaction advisory lock that serialises ``export --apply`` runs on a pgAgent catalog.
EXPORT_LOCK_KEY = 0x7067_6272_6578_7074  # "pgbrexpt"


def _ledger_jobs(conn: Any) -> dict[int, LedgerOrigin]:
    """pg_cron job id -> what the ledger says about it, for every catalog migrated into it."""
    if not ledger.exists(conn):
        return {}
    rows = conn.execute(
        "SELECT c.jobid, s.source, s.pgagent_job_id, s.definition, s.previous_enabled, "
        "c.content_hash FROM pgbridge.cron_jobs c JOIN pgbridge.pgagent_jobs s "
        "ON s.source = c.source AND s.pgagent_job_id = c.pgagent_job_id"
    ).fetchall()
    out: dict[int, LedgerOrigin] = {}
    for jobid, source, pgagent_id, definition, enabled, digest in rows:
        if definition is None:
            continue
        try:
            job = from_jsonable(Job, definition)
        except (ValueError, TypeError):
            continue  # a definition this release cannot read: translate the job instead
        out[int(jobid)] = LedgerOrigin(
            str(source), int(pgagent_id), job, bool(enabled), str(digest)
        )
    return out


def export(
    pgcron: str | None = None,
    *,
    pgagent: str | None = None,
    snapshot_path: str | Path | None = None,
    apply: bool = False,
    timezone: str | None = None,
    release: str | None = None,
    inactive: bool = False,
    select: tuple[str, ...] = (),
    exclude: tuple[str, ...] = (),
    tracker: Progress = SILENT,
) -> ExportResult:
    """Export pg_cron jobs as pgAgent jobs (a plan, or with ``apply`` written to ``pgagent``);
    ``tracker`` is told how far reading, translating and writing got."""
    findings: list[Finding] = []
    ledger_jobs: dict[int, LedgerOrigin] = {}
    side: PgCronSide | None
    if snapshot_path is not None and pgcron is not None:
        raise UsageError("--snapshot replaces --pgcron: give one or the other")
    if snapshot_path is not None:
        side = snapshot.load(snapshot_path, tracker).pgcron
        if side is None or side.extension_version is None:
            raise UsageError(f"snapshot {snapshot_path} holds no pg_cron jobs to export")
    else:
        with phase(tracker, "reading catalog"), reading(pgcron or "") as conn:
            side = read_pgcron(conn)
            if side.extension_version is None:
                raise UsageError(
                    f"pg_cron is not created in database {side.database!r}: point --pgcron at "
                    "pg_cron's database"
                )
            ledger_jobs = _ledger_jobs(conn)
    zone = timezone
    if zone is None and pgagent is not None:
        with phase(tracker, "reading pgAgent's time zone"), reading(pgagent) as conn:
            zone = read_pgagent(conn).timezone
    if zone is None:
        zone = "UTC"
        findings.append(
            Finding(
                "EXPORT_ZONE_ASSUMED",
                Severity.WARNING,
                "no pgAgent catalog (--pgagent) and no --timezone: schedules are exported for a "
                "pgAgent evaluating them in UTC (each job whose times depend on it says so)",
                "pass --pgagent or --timezone",
                0,
            )
        )
    plan = make_export(
        side,
        agent_zone=zone,
        release=release,
        ledger_jobs=ledger_jobs,
        inactive=inactive,
        select=select,
        exclude=exclude,
        zone_assumed=bool(findings),
        progress=tracker,
    )
    if findings:
        plan = ExportPlan(
            plan.source,
            plan.agent_timezone,
            plan.release,
            plan.jobs,
            plan.findings + tuple(findings),
        )
    if not apply:
        return ExportResult(plan, False)
    if pgagent is None:
        raise UsageError("export --apply writes into a pgAgent catalog: give --pgagent")
    return _apply(plan, pgagent, tracker)


def _apply(plan: ExportPlan, pgagent: str, progress: Progress) -> ExportResult:
    created: list[tuple[str, int]] = []
    replaced: list[str] = []
    notes: list[Finding] = []
    conn = connect(pgagent, read_only=False)
    try:
        with conn:
            _export_lock(conn)
            here = identity(conn)
            for job in tracked(progress, "exporting", plan.jobs, len(plan.jobs), "jobs"):
                if not writable(job):
                    continue
                assert job.job is not None
                if job.catalog == here and _original_present(conn, job):
                    notes.append(
                        Finding(
                            "EXPORT_ORIGINAL_PRESENT",
                            Severity.WARNING,
                            f"pgAgent job {job.pgagent_job_id}, the original of this export, is "
                            "still in this catalog (disabled by the migration); no copy was "
                            "written",
                            f"restore it with 'pgbridge rollback --job {job.pgagent_job_id}'",
                            job.cron_jobs[0],
                        )
                    )
                    continue
                gone = conn.execute(replace_sql(job).encode()).rowcount
                if gone:
                    replaced.append(job.key)
                notes += _taken_exceptions(conn, job)
                conn.execute(job_sql(job.job, skip_taken_exceptions=True).encode())
                row = conn.execute(
                    "SELECT max(jobid) FROM pgagent.pga_job WHERE strpos(jobdesc, %s) > 0",
                    [marker(job.key)],
                ).fetchone()
                created.append((job.key, int(row[0]) if row and row[0] is not None else 0))
    except psycopg.Error as exc:
        raise QueryFailed(
            f"export into the pgAgent catalog failed, nothing was written: {first_line(exc)}"
        ) from None
    finally:
        conn.close()
    return ExportResult(plan, True, tuple(created), tuple(replaced), tuple(notes))


def _export_lock(conn: Any) -> None:
    """Wait for any other export into this catalog to commit (held until our commit), so the
    tags it wrote are seen and replaced instead of duplicated."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", [EXPORT_LOCK_KEY])


def _original_present(conn: Any, job: ExportedJob) -> bool:
    """Is the pgAgent job this export came from still in the catalog being written (which is the
    catalog it came from)?"""
    if job.pgagent_job_id is None or job.job is None:
        return False
    row = conn.execute(
        "SELECT 1 FROM pgagent.pga_job WHERE jobid = %s AND jobname = %s",
        [job.pgagent_job_id, job.job.name],
    ).fetchone()
    return row is not None


def _taken_exceptions(conn: Any, job: ExportedJob) -> list[Finding]:
    """Exceptions of ``job`` that another schedule already holds (pgAgent keeps each once)."""
    assert job.job is not None
    wanted = [(d, t) for s in job.job.schedules for d, t in s.exceptions if d and t]
    if not wanted:
        return []
    taken = {
        (r[0], r[1])
        for r in conn.execute(
            "SELECT jexdate, jextime FROM pgagent.pga_exception "
            "WHERE jexdate IS NOT NULL AND jextime IS NOT NULL"
        )
    }
    return [
        Finding(
            "EXPORT_EXCEPTION_TAKEN",
            Severity.WARNING,
            f"exception {d} {t} already belongs to another pgAgent schedule (pgAgent keeps each "
            "date and time once in the whole catalog), so the exported schedule goes without it",
            "move the exception by hand, or drop the other schedule's",
            job.cron_jobs[0],
        )
        for d, t in wanted
        if (d, t) in taken
    ]
