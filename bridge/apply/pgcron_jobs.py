"""The rows of ``cron.job`` a run works on, read in one query and named (one shape for every use)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg.rows import class_row

from bridge.naming import content_hash
from bridge.pg.connect import Connection


@dataclass(frozen=True)
class CronJobRow:
    """One ``cron.job`` row as it is now."""

    jobid: int
    jobname: str | None
    schedule: str
    command: str
    database: str
    username: str
    active: bool

    def content_hash(self) -> str:
        """As :func:`bridge.naming.content_hash` of what pgbridge set: tells a hand edit."""
        return content_hash(self.schedule, self.command, self.database, self.username)


def read(
    conn: Connection, *, jobids: Sequence[int] = (), names: Sequence[str] = ()
) -> list[CronJobRow]:
    """The rows with these ids or these names (one query; none when neither is given)."""
    if not jobids and not names:
        return []
    with conn.cursor(row_factory=class_row(CronJobRow)) as cur:
        return cur.execute(
            "SELECT jobid, jobname::text AS jobname, schedule, command, database, username, active "
            "FROM cron.job WHERE jobid = ANY(%s) OR jobname = ANY(%s)",
            [list(jobids), list(names)],
        ).fetchall()


def by_id(conn: Connection, jobids: Sequence[int]) -> dict[int, CronJobRow]:
    return {r.jobid: r for r in read(conn, jobids=jobids)}
