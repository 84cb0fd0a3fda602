"""pgAgent's job state: every write pgbridge makes to ``pgagent.pga_job`` and the reads it waits on."""

from __future__ import annotations

import time

from bridge.apply.results import Change
from bridge.apply.session import Run


def disable_pgagent(run: Run, job_ids: list[int]) -> None:
    """Disable the pgAgent jobs that pg_cron now runs (in the source's current transaction)."""
    if not job_ids:
        return
    for (jobid,) in run.source.execute(
        "UPDATE pgagent.pga_job SET jobenabled = false WHERE jobid = ANY(%s) AND jobenabled "
        "RETURNING jobid",
        [job_ids],
    ).fetchall():
        run.changes.append(Change("disable-pgagent", int(jobid)))


def _running(run: Run, job_ids: list[int]) -> list[int]:
    if not job_ids:
        return []
    rows = run.source.execute(
        "SELECT jobid FROM pgagent.pga_job WHERE jobid = ANY(%s) AND jobagentid IS NOT NULL",
        [job_ids],
    ).fetchall()
    run.source.rollback()
    return [int(r[0]) for r in rows]


def still_running(run: Run, job_ids: list[int], wait: float) -> list[int]:
    """Job ids pgAgent is still running after waiting up to ``wait`` seconds."""
    deadline = time.monotonic() + wait
    busy = _running(run, job_ids)
    if busy and wait > 0:
        run.say(f"waiting up to {wait:g} s for pgAgent to finish running job(s) "
                + ", ".join(map(str, busy)))  # fmt: skip
    while busy and time.monotonic() < deadline:
        time.sleep(1.0)
        busy = _running(run, job_ids)
    return busy


def pgagent_jobs(run: Run) -> tuple[dict[int, str], dict[int, bool]]:
    """Names and enabled states of the pgAgent jobs, in one query."""
    rows = run.source.execute("SELECT jobid, jobname, jobenabled FROM pgagent.pga_job").fetchall()
    run.source.rollback()
    return {int(r[0]): str(r[1]) for r in rows}, {int(r[0]): bool(r[2]) for r in rows}


def restore_pgagent(run: Run, job_id: int, enabled: bool) -> None:
    """Put a pgAgent job's enabled state back as it was before pgbridge (rollback)."""
    done = run.source.execute(
        "UPDATE pgagent.pga_job SET jobenabled = %s WHERE jobid = %s "
        "AND jobenabled IS DISTINCT FROM %s RETURNING jobid",
        [enabled, job_id, enabled],
    ).fetchall()
    if done:
        run.changes.append(Change("restore-pgagent", job_id, detail=f"enabled={enabled}"))
