"""pgAgent's job state: every write pgbridge makes to ``pgagent.pga_job`` and the reads it waits on."""

from __future__ import annotations

import time
from collections.abc import Sequence

from bridge.apply.results import Change
from bridge.apply.session import Run

_DISABLE = (
    "UPDATE pgagent.pga_job SET jobenabled = false WHERE jobid = ANY(%s) AND jobenabled "
    "RETURNING jobid"
)


def disable_pgagent(run: Run, job_ids: list[int]) -> None:
    """Disable the pgAgent jobs that pg_cron now runs (in the source's current transaction)."""
    if not job_ids:
        return
    for (jobid,) in run.source.execute(_DISABLE, [job_ids]).fetchall():
        run.changes.append(Change("disable-pgagent", int(jobid)))


def time_disable(run: Run, job_ids: list[int]) -> tuple[float, list[int]]:
    """Seconds :func:`disable_pgagent` takes for these jobs and the ones it would disable,
    measured by doing it and rolling it back (pgAgent's triggers included; its row locks are
    released at once)."""
    start = time.monotonic()
    rows = run.source.execute(_DISABLE, [job_ids]).fetchall()
    took = time.monotonic() - start
    run.source.rollback()
    return took, sorted(int(r[0]) for r in rows)


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


def restore_pgagent(run: Run, states: Sequence[tuple[int, bool]]) -> None:
    """Put pgAgent jobs' enabled states back as they were before pgbridge (rollback), in one
    statement: ``states`` holds (job id, enabled before)."""
    if not states:
        return
    done = run.source.execute(
        "UPDATE pgagent.pga_job j SET jobenabled = a.enabled FROM unnest(%s::integer[], "
        "%s::boolean[]) AS a(jobid, enabled) WHERE j.jobid = a.jobid "
        "AND j.jobenabled IS DISTINCT FROM a.enabled RETURNING j.jobid",
        [[s[0] for s in states], [s[1] for s in states]],
    ).fetchall()
    restored = {int(r[0]) for r in done}
    for job_id, enabled in states:
        if job_id in restored:
            run.changes.append(Change("restore-pgagent", job_id, detail=f"enabled={enabled}"))
