"""pgAgent 4.2's own ``pga_next_schedule`` as a membership oracle, for the tests that judge a model.

With the session TimeZone set, ``pga_next_schedule(jscid, t, end, arrays...)`` returns ``t`` itself
exactly when ``t`` is a fire time (asked from one *wall-clock* minute before ``t`` for an empty
schedule, which always adds a minute). Errors (days 29-31 in short months) mean "not a fire time".
Every instant of one schedule is checked in one query.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import psycopg

from bridge.schedule import AgentSchedule

UTC = dt.timezone.utc
Conn = psycopg.Connection[Any]
#: future local days with DST changes in New York, a leap day, month ends
FUTURE_DAYS = (
    dt.date(2027, 3, 14),
    dt.date(2027, 11, 7),
    dt.date(2028, 2, 29),
    dt.date(2028, 2, 27),
    dt.date(2027, 4, 30),
    dt.date(2027, 12, 31),
    dt.date(2028, 3, 12),
    dt.date(2028, 11, 5),
)
ORACLE_FN = """
CREATE OR REPLACE FUNCTION pg_temp.fires(
    id int, t timestamptz, back interval, s timestamptz, e timestamptz,
    mi bool[], h bool[], w bool[], md bool[], mo bool[]) RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE
    zone text := current_setting('TimeZone');
    wall timestamp := (t AT TIME ZONE zone) - back;
    asked timestamptz := t;
BEGIN
    -- "t - 1 minute" in wall time: the empty schedule adds one wall minute to where it starts.
    -- When that wall minute does not exist (the spring-forward gap), one absolute minute back
    -- is the wall minute pgAgent steps from.
    IF back > '0' THEN
        asked := wall AT TIME ZONE zone;
        IF (asked AT TIME ZONE zone) <> wall THEN
            asked := t - back;
        END IF;
    END IF;
    RETURN pgagent.pga_next_schedule(id, greatest(asked, s), e, mi, h, w, md, mo) = t;
EXCEPTION WHEN others THEN  -- 'date/time field value out of range': not a fire time
    RETURN NULL;
END $$"""
ORACLE_QUERY = """
SELECT t, pg_temp.fires(%(id)s, t, %(back)s, %(start)s, %(end)s,
                        %(mi)s, %(h)s, %(w)s, %(md)s, %(mo)s)
FROM unnest(%(instants)s::timestamptz[]) AS t"""


def schedule_rows(conn: Conn, schedule: AgentSchedule) -> int:
    """A disabled job and schedule (no trigger computes a next run) with real exception rows."""
    conn.execute("DELETE FROM pgagent.pga_job")
    job = conn.execute(
        "INSERT INTO pgagent.pga_job (jobjclid, jobname, jobenabled) VALUES (1, 'oracle', false) "
        "RETURNING jobid"
    ).fetchone()
    assert job is not None
    sched = conn.execute(
        "INSERT INTO pgagent.pga_schedule (jscjobid, jscname, jscenabled) VALUES (%s, 'o', false) "
        "RETURNING jscid",
        [job[0]],
    ).fetchone()
    assert sched is not None
    for day, time in dict.fromkeys(schedule.exceptions):
        conn.execute(
            "INSERT INTO pgagent.pga_exception (jexscid, jexdate, jextime) VALUES (%s, %s, %s)",
            [sched[0], day, time],
        )
    return int(sched[0])


def pga_fires(
    conn: Conn, schedule: AgentSchedule, zone: str, instants: list[dt.datetime]
) -> dict[dt.datetime, bool]:
    jscid = schedule_rows(conn, schedule)
    minutes, hours, weekdays, monthdays, months = schedule.arrays()
    conn.execute("SELECT set_config('TimeZone', %s, false)", [zone])
    conn.execute(ORACLE_FN)
    rows = conn.execute(
        ORACLE_QUERY,
        {
            "id": jscid,
            "back": dt.timedelta(minutes=1 if schedule.is_empty else 0),
            "start": schedule.start or dt.datetime(2000, 1, 1, tzinfo=UTC),
            "end": schedule.end,
            "mi": list(minutes),
            "h": list(hours),
            "w": list(weekdays),
            "md": list(monthdays),
            "mo": list(months),
            "instants": instants,
        },
    ).fetchall()
    return {t.astimezone(UTC): bool(ok) for t, ok in rows}
