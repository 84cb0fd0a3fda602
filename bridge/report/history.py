"""The one line per job that reports show for pgAgent's run log (the figures of a JobHistory)."""

from __future__ import annotations

from bridge.model import JobHistory
from bridge.planner.history import STATUS_WORDS, seconds


def history_line(history: JobHistory) -> str:
    """One line per job: runs, failures, typical duration, the last run."""
    days = round((history.until - history.since).total_seconds() / 86400)
    if not history.runs:
        return f"no run logged in the last {days} days"
    last = ""
    if history.last_start is not None:
        word = STATUS_WORDS.get(history.last_status, history.last_status or "?")
        last = f"; last {history.last_start:%Y-%m-%d %H:%M} UTC ({word})"
    running = f", {history.running} marked running" if history.running else ""
    return (
        f"{history.runs} runs in {days} days, {history.failures} failed{running}; duration median "
        f"{seconds(history.median_seconds)}, p95 {seconds(history.p95_seconds)}, max "
        f"{seconds(history.max_seconds)}{last}"
    )
