"""Read pgAgent's run log (``pga_joblog``, ``pga_jobsteplog``) as per-job figures, aggregated in SQL.

Catalogs that never purge their log hold millions of rows, so the rows never leave the server: a
constant number of statements (whatever the number of jobs or runs) returns counts, percentiles
(``percentile_cont``), a few instants and the last error of each step, over a bounded window.

Which minutes a job's schedules fire at comes from the schedule engine (``effective_slot``: what
pgAgent really fires, its every-2-minutes quirk included), handed to the server as bit masks so
that the "started off schedule" test runs next to the rows. The agent's zone is the catalog's.

Statuses (pgagent.sql, ``pga_joblog.jlgstatus``): ``r`` running, ``s`` success, ``f`` failed,
``i`` internal failure, ``d`` aborted by the zombie cleanup of an agent's start-up.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from typing import Any

from bridge.model import JobHistory, PgAgentCatalog, StepHistory
from bridge.pg.connect import Connection
from bridge.pg.conninfo import redact_text
from bridge.pg.snapshots import Opener, spread, twin
from bridge.schedule.agent import AgentSchedule, as_agent, effective_slot
from bridge.schedule.daysets import day_table
from bridge.schedule.slots import Slot, shortest_gap, time_pattern
from bridge.schedule.zones import day_number

#: The default window: the last 90 days of the log.
DEFAULT_DAYS = 90
#: Starts this many minutes after a fire minute still count as that fire (the agent polls every
#: few seconds, ``pgagent -t``, and a busy thread pool starts a job a little late).
LATE_MINUTES = 1
#: How many off-schedule starts a job's figures name.
FIRST_OFF = 3
#: Longest error output kept per step (masked), in characters.
ERROR_CHARS = 500

#: A run is on schedule when one of its job's schedules fires at its start minute or up to
#: :data:`LATE_MINUTES` before. Each schedule comes as bit strings (``get_bit``: bit n is bit
#: n % 8 of byte n / 8) made by :func:`_schedule_params` from the engine's slot: ``days``, the
#: days of the window it fires on (month, day of month or "last day", and weekday decided once
#: per day, not once per run); ``times``, the minutes of a day at which a start is that day's
#: fire (a fire minute or up to ``LATE_MINUTES`` after it); ``wrap``, the first minutes of a day
#: that are late starts of the day before's last fires. Its validity window is tested only when
#: it cuts the log's window (otherwise NULL). Two bit reads decide most runs.
_ON_SCHEDULE = f"""EXISTS (
  SELECT 1 FROM sched s
   WHERE s.jobid = r.jobid
     AND (get_bit(s.times, r.minute) = 1 AND get_bit(s.days, r.day) = 1
          OR r.minute < {LATE_MINUTES} AND (s.wrap >> r.minute) & 1 = 1
             AND get_bit(s.days, r.day - 1) = 1)
     AND (s.start IS NULL OR r.start >= s.start) AND (s.stop IS NULL OR r.start <= s.stop))"""

#: Each run's start in the agent's zone: its day (index into the schedules' ``days``) and its
#: minute of that day. ``OFFSET 0`` keeps the zone conversion once per run (not once per run and
#: schedule).
_MINUTES = """
runs AS (
  SELECT l.jobid, l.start, (l.m / 1440)::int - %(d_first)s AS day, (l.m %% 1440)::int AS minute
    FROM (SELECT jlgjobid AS jobid, jlgstart AS start,
                 floor(date_part('epoch', jlgstart AT TIME ZONE %(tz)s) / 60)::int8 AS m
            FROM pgagent.pga_joblog
           WHERE jlgstart >= %(since)s AND jlgstart < %(until)s
          OFFSET 0) AS l
)"""

_SCHED = """
sched AS MATERIALIZED (
  SELECT * FROM unnest(%(s_job)s::int[], %(s_days)s::bytea[], %(s_times)s::bytea[],
                       %(s_wrap)s::int8[], %(s_start)s::timestamptz[], %(s_stop)s::timestamptz[])
         AS s(jobid, days, times, wrap, start, stop)
)"""

_RUNS = """
runs AS NOT MATERIALIZED (
  SELECT l.jlgid AS id, l.jlgjobid + 0 AS jobid, l.jlgstatus AS status, l.jlgstart AS start,
         date_part('epoch', l.jlgduration) AS secs
    FROM pgagent.pga_joblog l
   WHERE l.jlgstart >= %(since)s AND l.jlgstart < %(until)s
)"""

#: ``gaps`` (per job, the fewest minutes between two fire times) is grouped by job (one row each
#: already) so that the planner knows it is unique: an ``unnest`` has no statistics, and the join
#: of every run with it was estimated at 50 times the runs (a tenfold cost, and the more the cost
#: the more the server's JIT compiles).
_GAPS = """
gaps AS NOT MATERIALIZED (
  SELECT jobid, min(minutes) AS minutes
    FROM unnest(%(g_job)s::int[], %(g_min)s::int[]) AS g(jobid, minutes)
   GROUP BY jobid)"""

#: Per job, its counts and extremes: hashed by (job, status), five plain aggregates per run (no
#: per-run filters, no join), then folded per job (a few rows each); the latest run's status is
#: the status whose group holds the highest ``jlgid``. The longest run is also the longest of
#: those that outlasted the job's gap when it exceeds the gap. ``jlgjobid + 0`` keeps the planner
#: off pgagent.sql's index ``pga_joblog_jobid``: a real log is stored in time order, so walking
#: it by job reads the heap at random (22 s instead of 6 s for 5 million runs).
COUNTS = f"""
WITH {_GAPS},
{_RUNS}
SELECT c.jobid, c.runs, c.ok, c.failed, c.internal, c.aborted, c.running, c.last, c.last_status,
       c.longest, c.running_since, CASE WHEN c.longest > g.minutes * 60 THEN c.longest END
  FROM (SELECT jobid, sum(n)::int8 AS runs,
               coalesce(sum(n) FILTER (WHERE status = 's'), 0)::int8 AS ok,
               coalesce(sum(n) FILTER (WHERE status = 'f'), 0)::int8 AS failed,
               coalesce(sum(n) FILTER (WHERE status = 'i'), 0)::int8 AS internal,
               coalesce(sum(n) FILTER (WHERE status = 'd'), 0)::int8 AS aborted,
               coalesce(sum(n) FILTER (WHERE status = 'r'), 0)::int8 AS running,
               max(last) AS last, (array_agg(status ORDER BY last_id DESC))[1] AS last_status,
               max(longest) FILTER (WHERE status <> 'r') AS longest,
               min(first) FILTER (WHERE status = 'r') AS running_since
          FROM (SELECT jobid, status, count(*) AS n, max(start) AS last, max(id) AS last_id,
                       max(secs) AS longest, min(start) AS first
                  FROM runs GROUP BY jobid, status) AS s
         GROUP BY jobid) AS c
  LEFT JOIN gaps g ON g.jobid = c.jobid
"""

#: Per job, the median and 95th percentile of its finished runs' durations (which need each
#: job's durations in order: one sort of (job, duration) pairs, bounded by ``work_mem``), and the
#: runs longer than the job's gap, counted in the same pass.
DURATIONS = f"""
WITH {_GAPS},
{_RUNS}
SELECT r.jobid, percentile_cont(ARRAY[0.5, 0.95]) WITHIN GROUP (ORDER BY r.secs),
       count(*) FILTER (WHERE r.secs > g.minutes * 60)
  FROM runs r LEFT JOIN gaps g ON g.jobid = r.jobid
 WHERE r.status <> 'r'
 GROUP BY r.jobid
"""

#: Runs at no fire time, per job: how many and the first few. The test is an anti-join (one hash
#: of the schedules, by job), so it costs one pass over the window whatever the number of jobs.
#: The first few come from one sort by job and each job's own (small) sort by start, cheaper than
#: a window's sort of every off-schedule start by (job, start) when most starts are off schedule;
#: the array holds one job's off-schedule starts at a time.
OFF_SCHEDULE = f"""
WITH {_SCHED},
{_MINUTES}
SELECT r.jobid, count(*), (array_agg(r.start ORDER BY r.start))[1:{FIRST_OFF}]
  FROM runs r
 WHERE NOT {_ON_SCHEDULE}
 GROUP BY r.jobid
"""

#: Per step, its runs, its failures and its latest failure's output, in one pass over the step
#: log: the latest failure is the greatest (start, id) among the failed runs (an array, since
#: there is no max() of a row), its output read by ``jslid`` afterwards (one row per step).
#: Step runs are windowed by their own start (a step starts after its job run): the job comes
#: from ``pga_jobstep``, so the step log is read without joining the (larger) job log, and it is
#: joined after the counting (one row per step, not one per step run).
STEPS = f"""
SELECT j.jstjobid, c.step, c.runs, c.failures,
       (SELECT left(coalesce(o.jsloutput, ''), {ERROR_CHARS}) FROM pgagent.pga_jobsteplog o
         WHERE o.jslid = c.last_failure[2]::int4)
  FROM (SELECT s.jsljstid AS step, count(*) AS runs,
               count(*) FILTER (WHERE s.jslstatus IN ('f', 'i')) AS failures,
               max(ARRAY[extract(epoch FROM s.jslstart), s.jslid])
                 FILTER (WHERE s.jslstatus IN ('f', 'i')) AS last_failure
          FROM pgagent.pga_jobsteplog s
         WHERE s.jslstart >= %(since)s AND s.jslstart < %(until)s
         GROUP BY s.jsljstid) AS c
  JOIN pgagent.pga_jobstep j ON j.jstid = c.step
"""

#: Jobs claimed (``jobagentid``) by an agent whose backend is gone: a registered pid counts only
#: if that backend started before the agent registered (pids are reused).
GONE_AGENT = """
SELECT j.jobid FROM pgagent.pga_job j
 WHERE j.jobagentid IS NOT NULL
   AND NOT EXISTS (SELECT 1 FROM pgagent.pga_jobagent a
                     JOIN pg_stat_activity p ON p.pid = a.jagpid
                                            AND p.backend_start <= a.jaglogintime
                    WHERE a.jagpid = j.jobagentid)
"""


def job_slots(schedules: tuple[AgentSchedule, ...]) -> tuple[Slot, ...]:
    """The slots pgAgent really fires for a job's schedules (what the log is compared with)."""
    return tuple(effective_slot(s, "actual") for s in schedules)


def gaps(catalog: PgAgentCatalog) -> dict[int, int]:
    """Per job, the fewest minutes between two fire times of its enabled schedules."""
    out = {}
    for job in catalog.jobs:
        gap = shortest_gap(job_slots(tuple(as_agent(s) for s in job.schedules if s.enabled)))
        if gap is not None:
            out[job.id] = gap
    return out


_COLUMNS = ("s_job", "s_days", "s_times", "s_wrap", "s_start", "s_stop")
_DAY = 1440


def _schedule_params(
    catalog: PgAgentCatalog, days: list[dt.date], since: dt.datetime, until: dt.datetime
) -> dict[str, list[Any]]:
    """Every schedule's fire rule as parallel arrays (one ``unnest`` on the server), as
    :data:`_ON_SCHEDULE` reads it; ``days`` are the wall-clock days its ``day`` indexes."""
    cols: dict[str, list[Any]] = {key: [] for key in _COLUMNS}
    table = day_table(day_number(days[0]), len(days))  # the engine's calendar of the window
    for job in catalog.jobs:
        for sched in job.schedules:
            slot = effective_slot(as_agent(sched), "actual")
            fires = time_pattern(slot.minutes, slot.hours)
            times = fires
            wrap = 0
            for late in range(1, LATE_MINUTES + 1):
                times |= fires << late
                wrap |= (fires >> (_DAY - late)) & ((1 << late) - 1)
            times &= (1 << _DAY) - 1
            start, stop = _clip(sched.start), _clip(sched.end)
            values = (job.id, _bits(table.slot_days(slot), len(days)), _bits(times, _DAY), wrap,
                      None if start is None or start <= since else start,
                      None if stop is None or stop >= until else stop)  # fmt: skip
            for key, value in zip(_COLUMNS, values, strict=True):
                cols[key].append(value)
    return cols


def _bits(mask: int, size: int = 0) -> bytes:
    """``mask`` as ``get_bit`` reads it (bit n in byte n // 8, least significant bit first)."""
    return mask.to_bytes(max(size, mask.bit_length(), 1) // 8 + 1, "little")


def _window_days(first: dt.date, last: dt.date) -> list[dt.date]:
    """The wall-clock days from ``first`` to ``last`` and one either side (a late start's minute
    before may fall on the day before ``first``)."""
    return [first + dt.timedelta(days=n) for n in range(-1, (last - first).days + 2)]


def _clip(value: dt.datetime | None) -> dt.datetime | None:
    """Bounds beyond Python's years are "unbounded" for the comparison."""
    if value is None or value.year in (1, 9999):
        return None
    return value


def read_history(
    conn: Connection,
    catalog: PgAgentCatalog,
    days: int = DEFAULT_DAYS,
    *,
    opener: Opener | None = None,
) -> PgAgentCatalog:
    """``catalog`` with every job's :class:`~bridge.model.JobHistory` over the last ``days`` days
    (in ``conn``'s current READ ONLY transaction, whose snapshot should be one for all its
    statements: REPEATABLE READ, as ``reading`` opens); unchanged when ``days`` is 0.

    With ``opener`` (a way to open one more READ ONLY connection to the same database, such as
    ``lambda: sibling(dsn, conn)`` with :func:`~bridge.pg.connect.sibling`), the four
    statements over the log run two at a time, on ``conn`` and on a second session that shares
    its snapshot (:func:`~bridge.pg.snapshots.twin`): the same figures in less time on a server
    with a core to spare. ``conn``'s transaction must then not be inside a savepoint."""
    if days <= 0:
        return catalog
    row = conn.execute(
        "SELECT now(), ((now() - make_interval(days => %(days)s)) AT TIME ZONE %(tz)s)::date, "
        "(now() AT TIME ZONE %(tz)s)::date",
        {"days": days, "tz": catalog.timezone},
    ).fetchone()
    assert row is not None
    until: dt.datetime = row[0].astimezone(dt.timezone.utc)
    since = until - dt.timedelta(days=days)
    window = {"since": since, "until": until}
    job_gaps = gaps(catalog)
    gap_params = window | {"g_job": list(job_gaps), "g_min": list(job_gaps.values())}

    def off_schedule(on: Connection) -> dict[int, tuple[int, tuple[dt.datetime, ...]]]:
        calendar = _window_days(row[1], row[2])
        params: dict[str, Any] = {**window, "tz": catalog.timezone}
        params["d_first"] = (calendar[0] - dt.date(1970, 1, 1)).days
        params |= _schedule_params(catalog, calendar, since, until)
        return _off_schedule(on, params)

    with twin(conn, opener) as other:
        done = spread(
            # the longest first: on two sessions, one sorts the durations while the other tests
            # the starts against the schedules, then each takes one of the two shorter scans
            (
                lambda on: {r[0]: r[1:] for r in on.execute(DURATIONS, gap_params)},
                off_schedule,
                lambda on: _job_figures(on, gap_params),
                lambda on: _step_figures(on, window),
            ),
            conn,
            other,
        )
    durations: dict[int, tuple[Any, int]] = done[0]
    off: dict[int, tuple[int, tuple[dt.datetime, ...]]] = done[1]
    figures: dict[int, dict[str, Any]] = done[2]
    steps_done: _Steps = done[3]
    step_runs, errors = steps_done
    for jobid, (quantiles, over) in durations.items():
        if jobid in figures:  # READ COMMITTED: COUNTS saw the log at another instant
            median, p95 = quantiles or (None, None)
            figures[jobid] |= {"median_seconds": median, "p95_seconds": p95, "over_gap": over}
    for jobid, (count, first) in off.items():
        if jobid in figures:
            figures[jobid] |= {"off_schedule": count, "off_schedule_first": first}
    gone = {r[0] for r in conn.execute(GONE_AGENT)}

    jobs_out = []
    for job in catalog.jobs:
        f = figures.get(job.id, {})
        steps = tuple(
            StepHistory(step.id, *step_runs[(job.id, step.id)], errors.get((job.id, step.id), ""))
            for step in job.steps
            if (job.id, step.id) in step_runs
        )
        history = JobHistory(
            since=since,
            until=until,
            **f,
            gap_minutes=job_gaps.get(job.id),
            claimed_by_gone_agent=job.id in gone,
            steps=steps,
        )
        jobs_out.append(replace(job, history=history))
    return replace(catalog, jobs=tuple(jobs_out), history_days=days)


#: Per (job, step): (runs, failures), and the latest failure's output (masked).
_Steps = tuple[dict[tuple[int, int], tuple[int, int]], dict[tuple[int, int], str]]


def _job_figures(conn: Connection, params: dict[str, Any]) -> dict[int, dict[str, Any]]:
    """:data:`COUNTS`'s rows as :class:`~bridge.model.JobHistory` fields, by job."""
    figures: dict[int, dict[str, Any]] = {}
    for (jobid, runs, ok, failed, internal, aborted, running, last, last_status, longest,
         running_since, over_max) in conn.execute(COUNTS, params):  # fmt: skip
        figures[jobid] = {
            "runs": runs,
            "succeeded": ok,
            "failed": failed,
            "internal": internal,
            "aborted": aborted,
            "running": running,
            "last_start": last.astimezone(dt.timezone.utc),
            "last_status": last_status or "",
            "max_seconds": longest,
            "running_since": running_since and running_since.astimezone(dt.timezone.utc),
            "over_gap_max_seconds": over_max,
        }
    return figures


def _off_schedule(
    conn: Connection, params: dict[str, Any]
) -> dict[int, tuple[int, tuple[dt.datetime, ...]]]:
    """Per job, :data:`OFF_SCHEDULE`'s count and first few starts (UTC)."""
    return {
        jobid: (off, tuple(t.astimezone(dt.timezone.utc) for t in first))
        for jobid, off, first in conn.execute(OFF_SCHEDULE, params)
    }


def _step_figures(conn: Connection, window: dict[str, dt.datetime]) -> _Steps:
    """:data:`STEPS`'s rows: runs and failures per (job, step), the latest error masked."""
    step_runs: dict[tuple[int, int], tuple[int, int]] = {}
    errors: dict[tuple[int, int], str] = {}
    for jobid, stepid, runs, fails, error in conn.execute(STEPS, window):
        step_runs[(jobid, stepid)] = (runs, fails)
        if error is not None:
            errors[(jobid, stepid)] = redact_text(error)
    return step_runs, errors
