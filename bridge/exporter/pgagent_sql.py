"""SQL that creates pgAgent jobs exactly the way pgAdmin 4 does: the export's scripts, the demo, the tests.

pgAdmin sends one ``DO`` block per job: ``INSERT INTO pga_job ... RETURNING jobid INTO jid``, then
every step and schedule with that id, each schedule ``RETURNING jscid INTO scid`` followed by its
exceptions. Arrays are full-length ``'{t,f,...}'::bool[]`` literals (60/24/7/32/12), unset end dates are
left out (NULL), a local SQL step has ``jstconnstr = ''`` and ``jstdbname`` set, a remote one the
reverse, a batch step both empty. Catalogs built with this text look like real pgAdmin-made ones.
Every value goes through :mod:`bridge.pg.quoting` (step code dollar-quoted, byte for byte, where
pgAdmin writes a literal: the rows are the same).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bridge.pg.quoting import code, dollar_quote, literal


def bool_array(selected: Iterable[int], size: int, *, base: int) -> str:
    """pgAdmin's array literal: element ``i`` (``base``-numbered) is true when ``i`` is selected."""
    chosen = set(selected)
    bad = [v for v in chosen if not base <= v < base + size]
    if bad:
        raise ValueError(f"values {sorted(bad)} outside {base}..{base + size - 1}")
    return "'{" + ",".join("t" if base + i in chosen else "f" for i in range(size)) + "}'::bool[]"


@dataclass(frozen=True)
class StepSpec:
    """One step as pgAdmin's step dialog fills it (defaults are the dialog's defaults)."""

    name: str
    code: str
    kind: str = "s"  # 's' SQL, 'b' batch
    dbname: str = "postgres"  # "Local" connection: the database on the agent's server
    connstr: str = ""  # "Remote" connection: used instead of dbname
    on_error: str = "f"
    enabled: bool = True
    description: str = ""

    def place(self) -> tuple[str, str]:
        """(``jstconnstr``, ``jstdbname``) as pgAdmin stores them: a batch step has neither, a
        remote step only the connection string, a local one only the database."""
        if self.kind == "b":
            return "", ""
        return (self.connstr, "") if self.connstr else ("", self.dbname)


@dataclass(frozen=True)
class ScheduleSpec:
    """One schedule: value sets in cron-like numbering (weekday 0 = Sunday, month-day 32 = last)."""

    name: str
    start: str = "2024-01-01 00:00:00+00"
    end: str | None = None
    minutes: frozenset[int] = frozenset()
    hours: frozenset[int] = frozenset()
    weekdays: frozenset[int] = frozenset()
    monthdays: frozenset[int] = frozenset()
    months: frozenset[int] = frozenset()
    enabled: bool = True
    description: str = ""
    exceptions: tuple[tuple[dt.date | None, dt.time | None], ...] = ()


@dataclass(frozen=True)
class JobSpec:
    name: str
    steps: Sequence[StepSpec] = ()
    schedules: Sequence[ScheduleSpec] = ()
    job_class: int = 1  # pgAdmin's default: "Routine Maintenance"
    #: The class by name (the reverse export: ids differ between catalogs); created when missing.
    job_class_name: str = ""
    description: str = ""
    host_agent: str = ""
    enabled: bool = True
    extra: dict[str, str] = field(default_factory=dict)


def _step_sql(step: StepSpec) -> str:
    connstr, dbname = step.place()
    return (
        "INSERT INTO pgagent.pga_jobstep (jstjobid, jstname, jstenabled, jstkind, jstconnstr, "
        "jstdbname, jstonerror, jstcode, jstdesc) VALUES (jid, "
        f"{literal(step.name)}::text, {str(step.enabled).lower()}, "
        f"{literal(step.kind)}::character(1), {literal(connstr)}::text, {literal(dbname)}::name, "
        f"{literal(step.on_error)}::character(1), {code(step.code, 'step')}::text, "
        f"{literal(step.description)}::text);"
    )


def _exception_sql(date: dt.date | None, time: dt.time | None, skip_taken: bool) -> str:
    d = f"to_date({literal(date.isoformat())},'YYYY-MM-DD')::date" if date else "NULL::date"
    t = (
        f"{literal(time.isoformat())}::time without time zone"
        if time
        else "NULL::time without time zone"
    )
    # pga_exception's unique index is on (jexdate, jextime) across all schedules
    tail = " ON CONFLICT (jexdate, jextime) DO NOTHING" if skip_taken and date and time else ""
    return (
        f"INSERT INTO pgagent.pga_exception (jexscid, jexdate, jextime) VALUES (scid, {d}, {t})"
        f"{tail};"
    )


def _schedule_sql(s: ScheduleSpec, skip_taken: bool = False) -> list[str]:
    cols = "jscjobid, jscname, jscdesc, jscenabled, jscstart"
    vals = (
        f"jid, {literal(s.name)}::text, {literal(s.description)}::text, "
        f"{str(s.enabled).lower()}, {literal(s.start)}::timestamp with time zone"
    )
    if s.end is not None:
        cols += ", jscend"
        vals += f", {literal(s.end)}::timestamp with time zone"
    arrays = [
        bool_array(s.minutes, 60, base=0),
        bool_array(s.hours, 24, base=0),
        bool_array(s.weekdays, 7, base=0),
        bool_array(s.monthdays, 32, base=1),
        bool_array(s.months, 12, base=1),
    ]
    insert = (
        f"INSERT INTO pgagent.pga_schedule({cols}, jscminutes, jschours, jscweekdays, "
        f"jscmonthdays, jscmonths) VALUES ({vals}, {', '.join(arrays)}) RETURNING jscid INTO scid;"
    )
    return [insert, *(_exception_sql(d, t, skip_taken) for d, t in s.exceptions)]


def job_sql(job: JobSpec, *, skip_taken_exceptions: bool = False) -> str:
    """The ``DO`` block pgAdmin sends to create ``job`` with its steps, schedules and exceptions.

    ``skip_taken_exceptions`` leaves out a (date, time) exception another schedule already holds
    (pgAgent allows each pair once in the whole catalog); pgAdmin would fail instead.
    """
    body = ["DECLARE", "    jid integer;", "    scid integer;"]
    class_id = f"{job.job_class}::integer"
    if job.job_class_name:  # not pgAdmin's text: the class by name, created when missing
        name = literal(job.job_class_name)
        body += ["    cid integer;", "BEGIN"]
        body += [
            f"SELECT jclid INTO cid FROM pgagent.pga_jobclass WHERE jclname = {name};",
            "IF cid IS NULL THEN",
            f"    INSERT INTO pgagent.pga_jobclass (jclname) VALUES ({name}) RETURNING jclid "
            "INTO cid;",
            "END IF;",
        ]
        class_id = "cid"
    else:
        body.append("BEGIN")
    body.append(
        "INSERT INTO pgagent.pga_job(jobjclid, jobname, jobdesc, jobhostagent, jobenabled) VALUES ("
        f"{class_id}, {literal(job.name)}::text, {literal(job.description)}::text, "
        f"{literal(job.host_agent)}::text, {str(job.enabled).lower()}) RETURNING jobid INTO jid;"
    )
    body += [_step_sql(step) for step in job.steps]
    for schedule in job.schedules:
        body += _schedule_sql(schedule, skip_taken_exceptions)
    body.append("END")
    return f"DO {dollar_quote(chr(10) + chr(10).join(body) + chr(10))};"
