"""A native pg_cron job whose command is a pgbridge-guarded block is recognised, not exported
with the guard as step code (jobs pgbridge migrated come back from the ledger, as before)."""

from __future__ import annotations

import datetime as dt

from bridge.exporter.translate import make_export
from bridge.model import CronJob, OnError, Step, StepKind
from bridge.planner.guard import guard_words, make_guard
from bridge.planner.wrapper import wrap
from bridge.schedule import AgentSchedule
from tests.exporter.test_export import side_with

HOLIDAY = AgentSchedule(
    minutes=1, hours=1 << 7, weekdays=0b0111110, exceptions=((dt.date(2026, 12, 25), None),)
)


def _guarded_command() -> str:
    guard = make_guard([HOLIDAY], "UTC", "0 7 * * 1-5")
    step = Step(1, 1, "a", "", True, StepKind.SQL, "SELECT 1", "", "app", OnError.FAIL)
    return wrap([step], guard)


def test_a_guarded_command_is_recognised_and_not_exported() -> None:
    command = _guarded_command()
    assert guard_words(command) is not None and "2026-12-25" in (guard_words(command) or "")
    job = CronJob(9, "copied", "1 7 * * 1-5", command, "localhost", 5432, "app", "postgres", True)
    (exported,) = make_export(side_with(job), agent_zone="UTC").jobs
    assert exported.status == "manual" and exported.job is None
    (finding,) = [f for f in exported.findings if f.code == "EXPORT_GUARDED_COMMAND"]
    assert "pgbridge guard" in finding.message and "2026-12-25" in finding.message


def test_an_ordinary_do_block_is_not_taken_for_a_guard() -> None:
    assert guard_words("DO $$\nBEGIN\n  PERFORM 1;\nEND\n$$") is None
    assert guard_words("SELECT 1 -- pgbridge guard") is None
