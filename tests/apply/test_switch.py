"""The quiet-minute switch: the pgAgent write is measured first; a switch that cannot fit is
refused before anything is committed."""

from __future__ import annotations

import datetime as dt
import importlib

import pytest

from bridge.api import migrate
from bridge.apply.switch import seconds_to_wait
from bridge.errors import SwitchTooLarge

from ..catalogs import Conn
from .test_scale import add_jobs


@pytest.mark.parametrize(
    ("second", "needed", "wait"),
    [
        (10.0, 1.0, 0.0),  # inside, with room
        (44.5, 1.0, 20.5),  # inside, but the switch would end after second 45
        (44.0, 0.0, 0.0),
        (2.0, 1.0, 3.0),  # before the window
        (50.0, 1.0, 15.0),  # after it
        (5.0, 40.0, 0.0),  # exactly the whole window
        (5.0, 40.5, None),  # never fits
    ],
)
def test_seconds_to_wait(second: float, needed: float, wait: float | None) -> None:
    got = seconds_to_wait(second, needed, (5.0, 45.0))
    assert got == (None if wait is None else pytest.approx(wait))


def test_a_switch_longer_than_the_window_commits_nothing(
    db: Conn,
    db_name: str,
    db_dsn: str,
    cron_dsn: str,
    cron_db: Conn,
    ledger_gone: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ids = add_jobs(db, db_name, 0, 3)
    module = importlib.import_module("bridge.apply.switch")
    monkeypatch.setattr(module, "QUIET_WINDOW", (5.0, 5.5))  # shorter than any switch
    with pytest.raises(SwitchTooLarge, match=r"disabling 3 pgAgent job\(s\) took .* cut over in"):
        migrate(db_dsn, cron_dsn, apply=True, today=dt.date(2026, 11, 21))
    enabled = dict(db.execute("SELECT jobid, jobenabled FROM pgagent.pga_job").fetchall())
    assert all(enabled[i] for i in ids)
    row = cron_db.execute("SELECT to_regnamespace('pgbridge') IS NULL").fetchone()
    assert row == (True,)  # not even the ledger: the pg_cron transaction was rolled back
    found = cron_db.execute("SELECT count(*) FROM cron.job WHERE jobname LIKE 'pgagent-%'")
    assert found.fetchone() == (0,)
