"""One run's connections, named by system (``pgagent``, ``pgcron``), the migration lock, and the
catalogs read inside the run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

import psycopg

from bridge.apply import ledger
from bridge.apply.results import Change
from bridge.catalog.pgagent import identity, read_pgagent
from bridge.catalog.pgcron import read_pgcron
from bridge.errors import (
    ConnectionFailed,
    MigrationLocked,
    PrivilegeError,
    QueryFailed,
    UsageError,
    first_line,
)
from bridge.findings import Finding, Severity
from bridge.model import Catalog
from bridge.pg import conninfo
from bridge.pg.connect import Connection, connect
from bridge.progress import SILENT, Progress, phase

#: Key of the advisory lock that serialises pgbridge runs on a pg_cron database.
LOCK_KEY = 0x7067_6272_6964_6765  # "pgbridge"
Phase = Callable[[str], None]


@dataclass
class Run:
    """Connections and bookkeeping of one run."""

    source: Connection
    target: Connection
    same_database: bool
    source_id: str
    changes: list[Change] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    on_phase: Phase | None = None
    #: Told what the run waits for (the CLI prints it on stderr).
    on_progress: Callable[[str], None] | None = None
    #: Told how far the long phases got (applying, verifying).
    tracker: Progress = SILENT

    def phase(self, name: str) -> None:
        if self.on_phase is not None:
            self.on_phase(name)

    def say(self, message: str) -> None:
        if self.on_progress is not None:
            self.on_progress(message)

    def note(self, code: str, severity: Severity, message: str, remedy: str, job_id: int) -> None:
        self.findings.append(Finding(code, severity, message, remedy, job_id))


@contextmanager
def session(
    pgagent: str | None, pgcron: str | None, on_phase: Phase | None, *, read_only: bool = False
) -> Iterator[Run]:
    """Connections to both sides (READ ONLY ones for runs that only read, so they also work on a
    hot standby); server errors become one-line BridgeErrors.

    Whatever was not committed when an error (or a crash) interrupts the run is rolled back by
    the server; the ledger makes the next run finish the work.
    """
    same = pgcron is None or pgcron == pgagent
    source = connect(pgagent or "", read_only=read_only)
    try:
        target = source if same else connect(pgcron or "", read_only=read_only)
        try:
            if not read_only:
                _refuse_standby(source, target)
            source_id = _source_identity(source)
            yield Run(source, target, same, source_id, on_phase=on_phase)
        except psycopg.errors.InsufficientPrivilege as exc:
            raise PrivilegeError(f"{first_line(exc)} (nothing uncommitted was kept)") from None
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise ConnectionFailed(
                f"lost the connection during the run ({first_line(exc)}); what was committed "
                "is in the ledger: run the same command again to finish"
            ) from None
        except psycopg.Error as exc:
            raise QueryFailed(f"{first_line(exc)} (nothing uncommitted was kept)") from None
        finally:
            if target is not source:
                target.close()
    finally:
        source.close()


def _refuse_standby(*conns: Connection) -> None:
    """Writing runs need primaries: say so instead of failing on the first write."""
    for conn in conns:
        conn.read_only = True  # a READ WRITE transaction cannot even begin on a standby
        row = conn.execute("SELECT pg_is_in_recovery()").fetchone()
        conn.rollback()
        conn.read_only = False
        if row and row[0]:
            raise UsageError(
                f"{conn.info.host}:{conn.info.port}/{conn.info.dbname} is a hot standby (in "
                "recovery): run commands that write against the primary"
            )


def _source_identity(conn: Connection) -> str:
    """Which pgAgent catalog this is (``PgAgentCatalog.identity``), so catalogs of several
    databases and servers never mix in one ledger or one pg_cron."""
    found = identity(conn)
    conn.rollback()
    return found


def lock(run: Run, wait: float) -> None:
    deadline = time.monotonic() + wait
    told = False
    while True:
        row = run.target.execute("SELECT pg_try_advisory_lock(%s)", [LOCK_KEY]).fetchone()
        run.target.commit()
        if row and row[0]:
            return
        if time.monotonic() >= deadline:
            raise MigrationLocked(
                "another pgbridge run is migrating into this pg_cron database (advisory lock "
                f"{LOCK_KEY} is held): wait for it to finish, or pass --wait-lock SECONDS"
            )
        if not told:
            run.say(f"waiting up to {wait:g} s for another pgbridge run to finish")
            told = True
        time.sleep(0.5)


def read_catalogs(
    run: Run,
    pgagent: str | None,
    pgcron: str | None,
    timezone: str | None = None,
    agent_role: str | None = None,
) -> Catalog:
    """Both sides, with every migrated pgAgent job shown as it was before pgbridge disabled it
    (the plan must not turn a job pgbridge disabled into an inactive pg_cron job); one phase for
    the run's tracker."""
    with phase(run.tracker, "reading catalog"):
        agent = read_pgagent(run.source, timezone=timezone, agent_role=agent_role)
        run.source.rollback()
        run.target.rollback()
        cron = read_pgcron(run.target)  # in a READ ONLY transaction of its own, --apply or not
        _, sources = ledger.read(run.target, run.source_id, definitions=False)
        run.target.rollback()
        before = {s.pgagent_job_id: s.previous_enabled for s in sources}
        jobs = tuple(replace(j, enabled=before.get(j.id, j.enabled)) for j in agent.jobs)
        agent = replace(agent, jobs=jobs)
        origin = conninfo.redact(pgagent or "") or "(PG* environment)"
        if pgcron is not None and not run.same_database:
            origin += f" + pg_cron at {conninfo.redact(pgcron)}"
        return Catalog(agent, cron, origin, dt.datetime.now(dt.timezone.utc))
