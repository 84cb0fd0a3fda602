"""The quiet-minute switch: both commits of a cross-database change inside one minute."""

from __future__ import annotations

import datetime as dt

from bridge.apply import ledger
from bridge.apply.jobstate import disable_pgagent, time_disable
from bridge.apply.session import Run
from bridge.errors import SwitchTooLarge

#: Seconds of the server's minute inside which both commits of a cross-database switch are made.
QUIET_WINDOW = (5.0, 45.0)
#: Added to the measured pgAgent write: the two commits and their round trips.
COMMIT_MARGIN = 1.0


def switch_time(rehearsal: float) -> float:
    """Seconds to reserve between the two commits when disabling the pgAgent jobs took
    ``rehearsal`` seconds: twice that (the real write may meet a busier server), plus the
    commits."""
    return 2.0 * rehearsal + COMMIT_MARGIN


def seconds_to_wait(second: float, needed: float, window: tuple[float, float]) -> float | None:
    """How long to wait, at ``second`` of the minute, before a switch of ``needed`` seconds can
    start and end inside ``window``; None when it never fits (the window is too short)."""
    low, high = window
    room = (high - low) % 60.0 - needed
    if room < 0:
        return None
    into = (second - low) % 60.0  # seconds since the window opened
    return 0.0 if into <= room else 60.0 - into


def quiet_moment(run: Run, needed: float = 0.0) -> None:
    """Wait until the server clock is inside :data:`QUIET_WINDOW` (second 5 to 45 of a minute),
    early enough that ``needed`` more seconds still end inside it.

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
        wait = seconds_to_wait(second, needed, QUIET_WINDOW)
        if wait is None:
            raise _too_large(needed, "")
        if wait == 0:
            return
        if not told:
            last = (high - needed) % 60.0
            run.say(
                f"waiting {wait:.0f} s for second {low:.0f}-{last:.0f} of the server's minute, "
                f"to switch pg_cron and pgAgent inside one minute (the switch takes up to "
                f"{needed:.1f} s)"
            )
            told = True
        run.target.execute("SELECT pg_sleep(%s)", [min(wait, 0.5)])


def _measure(run: Run, pgagent_off: list[int]) -> tuple[float, list[int]] | None:
    """The write between the two commits, measured before the wait (a rehearsal in the pgAgent
    database, rolled back), and the jobs it disables; None when it would disable nothing.
    Refuses a switch that cannot fit in the window."""
    rehearsal, disabled = time_disable(run, pgagent_off)
    if not disabled:
        return None
    needed = switch_time(rehearsal)
    if seconds_to_wait(0.0, needed, QUIET_WINDOW) is None:
        raise _too_large(
            needed, f"disabling {len(pgagent_off)} pgAgent job(s) took {rehearsal:.1f} s, so "
        )
    return needed, disabled


def _too_large(needed: float, why: str) -> SwitchTooLarge:
    low, high = QUIET_WINDOW
    return SwitchTooLarge(
        f"{why}the switch needs about {needed:.0f} s between its two commits, more than the "
        f"quiet window of the minute allows (second {low:.0f} to {high:.0f}); nothing was "
        "committed: cut over in slices (migrate --cutover, then activate --job ... a part at a "
        "time), or keep pgAgent and pg_cron in one database (one commit, no window)"
    )


def commit_switch(run: Run, pgagent_off: list[int]) -> None:
    """Commit pg_cron's side, then disable ``pgagent_off`` in pgAgent: in one transaction when
    both live in one database, otherwise pg_cron first (never lose a job) and both commits inside
    one quiet minute (never run a job twice): the pgAgent write is measured before the wait, and
    the first commit starts only when the second can still end inside the window.

    A cross-database switch reads the server's clock right before pg_cron's commit and, after
    both commits, records that instant in the ledger for the jobs it handed over
    (:func:`ledger.stamp_switch`), only if the clock still reads the same minute: then no minute
    boundary lies between it and the two commits, so each fire time after it is pg_cron's and
    each one before pgAgent's, and ``verify --runs`` judges from there (issue 14). One
    transaction is not placed in the window, so it records nothing."""
    switched: dt.datetime | None = None
    handed: list[int] = []
    if run.same_database:
        disable_pgagent(run, pgagent_off)
    elif pgagent_off:
        measured = _measure(run, pgagent_off)
        if measured is None:  # all of them are off already (a re-run): nothing to switch
            pgagent_off = []
        else:
            needed, handed = measured
            quiet_moment(run, needed)
            row = run.target.execute("SELECT clock_timestamp()").fetchone()
            switched = row[0] if row else None
    run.target.commit()
    run.phase("target-committed")
    if not run.same_database and pgagent_off:
        disable_pgagent(run, pgagent_off)
        run.source.commit()
    run.phase("source-committed")
    if switched is not None:
        ledger.stamp_switch(run.target, run.source_id, handed, switched)
        run.target.commit()
