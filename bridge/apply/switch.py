"""The quiet-minute switch: both commits of a cross-database change inside one minute."""

from __future__ import annotations

from bridge.apply.jobstate import disable_pgagent
from bridge.apply.session import Run

#: Seconds of the server's minute inside which both commits of a cross-database switch are made.
QUIET_WINDOW = (5.0, 45.0)


def quiet_moment(run: Run) -> None:
    """Wait until the server clock is inside :data:`QUIET_WINDOW` (second 5 to 45 of a minute).

    pg_cron starts jobs at the minute boundary and pgAgent polls for due jobs every few seconds
    after it, so two commits made inside this window fall between the same two scheduled minutes.
    Called with the target transaction open, right before its commit: the wait keeps that
    transaction busy (short server-side sleeps), so ``idle_in_transaction_session_timeout`` does
    not end it, and says what it waits for.
    """
    low, high = QUIET_WINDOW
    told = False
    while True:
        row = run.target.execute("SELECT extract(second FROM clock_timestamp())").fetchone()
        second = float(row[0]) if row else low
        if (second - low) % 60.0 <= (high - low) % 60.0:
            return
        wait = (low - second) % 60.0
        if not told:
            run.say(
                f"waiting {wait:.0f} s for second {low:.0f}-{high:.0f} of the server's minute, "
                "to switch pg_cron and pgAgent inside one minute"
            )
            told = True
        run.target.execute("SELECT pg_sleep(%s)", [min(wait, 0.5)])


def commit_switch(run: Run, pgagent_off: list[int]) -> None:
    """Commit pg_cron's side, then disable ``pgagent_off`` in pgAgent: in one transaction when
    both live in one database, otherwise pg_cron first (never lose a job) and both commits inside
    one quiet minute (never run a job twice)."""
    if run.same_database:
        disable_pgagent(run, pgagent_off)
    elif pgagent_off:
        quiet_moment(run)
    run.target.commit()
    run.phase("target-committed")
    if not run.same_database:
        disable_pgagent(run, pgagent_off)
        run.source.commit()
    run.phase("source-committed")
