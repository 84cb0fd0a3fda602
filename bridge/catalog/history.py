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
from collections import defaultdict
from dataclasses import replace
from typing import Any

from bridge.model import JobHistory, PgAgentCatalog, StepHistory
from bridge.pg.connect import Connection
from bridge.pg.conninfo import redact_text
from bridge.schedule.agent import AgentSchedule, effective_slot
from bridge.schedule.slots import Slot, shortest_gap

#: The default window: the last 90 days of the log.
DEFAULT_DAYS = 90
#: Starts this many minutes after a fire minute still count as that fire (the agent polls every
#: few seconds, ``pgagent -t``, and a busy thread pool starts a job a little late).
LATE_MINUTES = 1
#: How many off-schedule starts a job's figures name.
FIRST_OFF = 3
#: Longest error output kept per step (masked), in characters.
ERROR_CHARS = 500

#: The schedules' fire rule, per candidate minute ``{t}`` (a wall-clock timestamp in the agent's
#: zone): the slot's masks (bit n = value n), "last day", and the schedule's validity window.
_MATCH = """(
    (s.minutes >> extract(minute FROM {t})::int) & 1 = 1
    AND (s.hours >> extract(hour FROM {t})::int) & 1 = 1
    AND (s.months >> extract(month FROM {t})::int) & 1 = 1
    AND (s.weekdays >> extract(dow FROM {t})::int) & 1 = 1
    AND ((s.days >> extract(day FROM {t})::int) & 1 = 1
         OR (s.last AND extract(day FROM {t} + interval '1 day') = 1))
    AND (s.start IS NULL OR r.start >= s.start) AND (s.stop IS NULL OR r.start <= s.stop))"""

_ON_SCHEDULE = "EXISTS (SELECT 1 FROM sched s WHERE s.jobid = r.jobid AND ({a} OR {b}))".format(
    a=_MATCH.format(t="r.wall"),
    b=_MATCH.format(t=f"r.wall - interval '{LATE_MINUTES} minute'"),
)

_SCHED = """
sched AS MATERIALIZED (
  SELECT * FROM unnest(%(s_job)s::int[], %(s_min)s::int8[], %(s_hour)s::int8[],
                       %(s_month)s::int8[], %(s_day)s::int8[], %(s_last)s::bool[],
                       %(s_dow)s::int8[], %(s_start)s::timestamptz[], %(s_stop)s::timestamptz[])
         AS s(jobid, minutes, hours, months, days, last, weekdays, start, stop)
)"""

_RUNS = """
runs AS (
  SELECT l.jlgid AS id, l.jlgjobid AS jobid, l.jlgstatus AS status, l.jlgstart AS start,
         extract(epoch FROM l.jlgduration)::float8 AS secs,
         date_trunc('minute', l.jlgstart AT TIME ZONE %(tz)s) AS wall
    FROM pgagent.pga_joblog l
   WHERE l.jlgstart >= %(since)s AND l.jlgstart < %(until)s
)"""

JOBS = f"""
WITH {_SCHED},
gaps AS (SELECT * FROM unnest(%(g_job)s::int[], %(g_min)s::int[]) AS g(jobid, minutes)),
{_RUNS},
marked AS (
  SELECT r.*, {_ON_SCHEDULE} AS on_schedule FROM runs r
)
SELECT m.jobid, count(*), count(*) FILTER (WHERE status = 's'),
       count(*) FILTER (WHERE status = 'f'), count(*) FILTER (WHERE status = 'i'),
       count(*) FILTER (WHERE status = 'd'), count(*) FILTER (WHERE status = 'r'),
       max(start), (SELECT l.jlgstatus FROM pgagent.pga_joblog l WHERE l.jlgid = max(m.id)),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY secs) FILTER (WHERE status <> 'r'),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY secs) FILTER (WHERE status <> 'r'),
       max(secs) FILTER (WHERE status <> 'r'),
       min(start) FILTER (WHERE status = 'r'),
       min(g.minutes),
       count(*) FILTER (WHERE status <> 'r' AND secs > g.minutes * 60),
       max(secs) FILTER (WHERE status <> 'r' AND secs > g.minutes * 60),
       count(*) FILTER (WHERE NOT on_schedule)
  FROM marked m LEFT JOIN gaps g ON g.jobid = m.jobid
 GROUP BY m.jobid
"""

#: The first few off-schedule starts, only for the jobs that have some (by ``pga_joblog``'s
#: index on ``jlgjobid``).
OFF_SCHEDULE = f"""
WITH {_SCHED}
SELECT j.jobid, f.start
  FROM unnest(%(jobs)s::int[]) AS j(jobid)
 CROSS JOIN LATERAL (
   SELECT r.start FROM (
     SELECT l.jlgjobid AS jobid, l.jlgstart AS start,
            date_trunc('minute', l.jlgstart AT TIME ZONE %(tz)s) AS wall
       FROM pgagent.pga_joblog l
      WHERE l.jlgjobid = j.jobid AND l.jlgstart >= %(since)s AND l.jlgstart < %(until)s) r
    WHERE NOT {_ON_SCHEDULE}
    ORDER BY r.start LIMIT {FIRST_OFF}) f
 ORDER BY j.jobid, f.start
"""

STEPS = """
SELECT l.jlgjobid, s.jsljstid, count(*), count(*) FILTER (WHERE s.jslstatus IN ('f', 'i'))
  FROM pgagent.pga_jobsteplog s JOIN pgagent.pga_joblog l ON l.jlgid = s.jsljlgid
 WHERE l.jlgstart >= %(since)s AND l.jlgstart < %(until)s
 GROUP BY l.jlgjobid, s.jsljstid
"""

LAST_ERRORS = f"""
SELECT DISTINCT ON (l.jlgjobid, s.jsljstid) l.jlgjobid, s.jsljstid,
       left(coalesce(s.jsloutput, ''), {ERROR_CHARS})
  FROM pgagent.pga_jobsteplog s JOIN pgagent.pga_joblog l ON l.jlgid = s.jsljlgid
 WHERE l.jlgstart >= %(since)s AND l.jlgstart < %(until)s AND s.jslstatus IN ('f', 'i')
 ORDER BY l.jlgjobid, s.jsljstid, s.jslstart DESC, s.jslid DESC
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
        gap = shortest_gap(
            job_slots(tuple(AgentSchedule.from_model(s) for s in job.schedules if s.enabled))
        )
        if gap is not None:
            out[job.id] = gap
    return out


_COLUMNS = ("s_job", "s_min", "s_hour", "s_month", "s_day", "s_last", "s_dow", "s_start", "s_stop")


def _schedule_params(catalog: PgAgentCatalog) -> dict[str, list[Any]]:
    """Every schedule's fire rule as parallel arrays (one ``unnest`` on the server)."""
    cols: dict[str, list[Any]] = {key: [] for key in _COLUMNS}
    for job in catalog.jobs:
        for sched in job.schedules:
            slot = effective_slot(AgentSchedule.from_model(sched), "actual")
            values = (job.id, slot.minutes, slot.hours, slot.months, slot.days, slot.last,
                      slot.weekdays, _clip(sched.start), _clip(sched.end))  # fmt: skip
            for key, value in zip(_COLUMNS, values, strict=True):
                cols[key].append(value)
    return cols


def _clip(value: dt.datetime | None) -> dt.datetime | None:
    """Bounds beyond Python's years are "unbounded" for the comparison."""
    if value is None or value.year in (1, 9999):
        return None
    return value


def read_history(
    conn: Connection, catalog: PgAgentCatalog, days: int = DEFAULT_DAYS
) -> PgAgentCatalog:
    """``catalog`` with every job's :class:`~bridge.model.JobHistory` over the last ``days`` days
    (in ``conn``'s current, READ ONLY, transaction); unchanged when ``days`` is 0."""
    if days <= 0:
        return catalog
    row = conn.execute("SELECT now()").fetchone()
    assert row is not None
    until: dt.datetime = row[0].astimezone(dt.timezone.utc)
    since = until - dt.timedelta(days=days)
    params: dict[str, Any] = {"since": since, "until": until, "tz": catalog.timezone}
    params |= _schedule_params(catalog)
    job_gaps = gaps(catalog)
    params |= {"g_job": list(job_gaps), "g_min": list(job_gaps.values())}

    figures: dict[int, dict[str, Any]] = {}
    for (jobid, runs, ok, failed, internal, aborted, running, last, last_status, median, p95,
         longest, running_since, _gap, over, over_max, off) in conn.execute(JOBS, params):  # fmt: skip
        figures[jobid] = {
            "runs": runs,
            "succeeded": ok,
            "failed": failed,
            "internal": internal,
            "aborted": aborted,
            "running": running,
            "last_start": last.astimezone(dt.timezone.utc),
            "last_status": last_status or "",
            "median_seconds": median,
            "p95_seconds": p95,
            "max_seconds": longest,
            "running_since": running_since and running_since.astimezone(dt.timezone.utc),
            "over_gap": over,
            "over_gap_max_seconds": over_max,
            "off_schedule": off,
        }
    off_jobs = sorted(j for j, f in figures.items() if f["off_schedule"])
    firsts: dict[int, list[dt.datetime]] = defaultdict(list)
    if off_jobs:
        for jobid, start in conn.execute(OFF_SCHEDULE, params | {"jobs": off_jobs}):
            firsts[jobid].append(start.astimezone(dt.timezone.utc))
    window = {"since": since, "until": until}
    step_runs: dict[tuple[int, int], tuple[int, int]] = {
        (jobid, stepid): (runs, fails) for jobid, stepid, runs, fails in conn.execute(STEPS, window)
    }
    errors = {(j, s): redact_text(out) for j, s, out in conn.execute(LAST_ERRORS, window)}
    gone = {r[0] for r in conn.execute(GONE_AGENT)}

    jobs = []
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
            off_schedule_first=tuple(firsts.get(job.id, ())),
            claimed_by_gone_agent=job.id in gone,
            steps=steps,
        )
        jobs.append(replace(job, history=history))
    return replace(catalog, jobs=tuple(jobs), history_days=days)
