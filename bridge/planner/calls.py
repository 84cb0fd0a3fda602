"""The pg_cron API calls that create, change and remove jobs, in one place.

The same call is either executed with parameters (``migrate``) or written into a psql script with
every value quoted (``plan --format sql``), so the two can never disagree. Named calls are upserts
on (job name, user): running one again updates the job in place.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bridge.pg.quoting import code, literal
from bridge.planner.target import Target
from bridge.planner.types import CronJobPlan

Style = Literal["text", "code", "bool", "int"]


@dataclass(frozen=True)
class Call:
    """SQL with ``%s`` placeholders and the values that fill them, each with its quoting style."""

    sql: str
    values: tuple[tuple[Style, str | bool | int | None], ...]

    @property
    def params(self) -> list[str | bool | int | None]:
        return [v for _, v in self.values]

    def script(self) -> str:
        """The call as literal SQL text (no placeholders)."""
        parts = self.sql.split("%s")
        out = [parts[0]]
        for (style, value), tail in zip(self.values, parts[1:], strict=True):
            if value is None:
                out.append("NULL")
            elif style == "code":
                out.append(code(str(value)))
            elif style == "text":
                out.append(literal(str(value)))
            else:
                out.append(str(value).lower())
            out.append(tail)
        return "".join(out)


def schedule(c: CronJobPlan, target: Target) -> Call:
    """Create or update (by name) the pg_cron job; returns its job id when executed.

    ``cron.schedule_in_database`` takes ``active`` for new jobs only; callers set it afterwards
    with :func:`set_active` when the job already existed.
    """
    if c.in_cron_database(target):
        return Call(
            "cron.schedule(%s, %s, %s)",
            (("text", c.name), ("text", c.schedule), ("code", c.command)),
        )
    return Call(
        "cron.schedule_in_database(%s, %s, %s, %s, %s, %s)",
        (
            ("text", c.name),
            ("text", c.schedule),
            ("code", c.command),
            ("text", c.database),
            ("text", c.username),
            ("bool", c.active),
        ),
    )


def set_active(job: Call | int, active: bool, target: Target) -> Call:
    """Switch a job on or off; ``job`` is a job id or a call that returns one."""
    inner: Call = job if isinstance(job, Call) else Call("%s", (("int", job),))
    if not target.has_function("cron.alter_job"):
        return Call(
            f"UPDATE cron.job SET active = %s WHERE jobid = {inner.sql}",
            (("bool", active), *inner.values),
        )
    return Call(
        f"SELECT cron.alter_job({inner.sql}, active := %s)", (*inner.values, ("bool", active))
    )


def create_statement(c: CronJobPlan, target: Target) -> str:
    """The script line that creates ``c`` in the state the plan wants."""
    call = schedule(c, target)
    if c.active or not c.in_cron_database(target):
        return f"SELECT {call.script()};"
    if not target.has_function("cron.alter_job"):
        # No alter_job: keep the new id in a psql variable, then switch the job off by DML (an
        # UPDATE whose WHERE calls cron.schedule would run it once per row, or never).
        return (
            f"SELECT {call.script()} AS pgbridge_jobid \\gset\n"
            "UPDATE cron.job SET active = false WHERE jobid = :pgbridge_jobid;"
        )
    return set_active(call, False, target).script() + ";"


def unschedule(jobid: int) -> Call:
    """Remove a job by id (by name only the owner could; a superuser needs the id)."""
    return Call("cron.unschedule(%s::bigint)", (("int", jobid),))


def alter(jobid: int, c: CronJobPlan, target: Target) -> Call:
    """Change an existing job's schedule, command and database in place (same id).

    The named upsert updates ``database`` only from pg_cron 1.6.3, so existing jobs are changed
    with ``cron.alter_job`` (1.4+), or by direct DML before 1.4.
    """
    if not target.has_function("cron.alter_job"):
        return Call(
            "UPDATE cron.job SET schedule = %s, command = %s, database = %s WHERE jobid = %s",
            (("text", c.schedule), ("code", c.command), ("text", c.database), ("int", jobid)),
        )
    return Call(
        "SELECT cron.alter_job(%s::bigint, schedule := %s, command := %s, database := %s)",
        (("int", jobid), ("text", c.schedule), ("code", c.command), ("text", c.database)),
    )
