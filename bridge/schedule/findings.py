"""Findings: what the schedule engine tells a DBA about a schedule or a translation.

Codes are stable identifiers (reports and tests key on them); the message explains this case and
the remedy says what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass

from bridge.findings import Severity

# pgAgent behaviour that differs from what the schedule says (pgagent.sql's pga_next_schedule).
EMPTY_EVERY_2_MIN = "SCHED_EMPTY_EVERY_2_MIN"
LAST_DAY_IGNORED = "SCHED_LAST_DAY_IGNORED"
SHORT_MONTH_ERROR = "SCHED_SHORT_MONTH_ERROR"
MINUTE_SKIP_4_2 = "SCHED_MINUTE_SKIP_4_2"
LEAP_FEB_LAST_DAY_SKIPPED = "SCHED_LEAP_FEB_LAST_DAY_SKIPPED"
EXCEPTIONS_LOOP_FOREVER = "SCHED_EXCEPTIONS_LOOP_FOREVER"
NEVER_FIRES = "SCHED_NEVER_FIRES"
# pgAgent -> pg_cron.
DOM_DOW_AND_INEXACT = "SCHED_DOM_DOW_AND_INEXACT"
LAST_DAY_NEEDS_1_6 = "SCHED_LAST_DAY_NEEDS_1_6"
TARGET_MISREADS_NUMERIC_FIRST = "SCHED_TARGET_MISREADS_NUMERIC_FIRST"
EXCEPTIONS_NOT_REPRESENTABLE = "SCHED_EXCEPTIONS_NOT_REPRESENTABLE"
START_END_NOT_REPRESENTABLE = "SCHED_START_END_NOT_REPRESENTABLE"
DATES_BEYOND_PROOF = "SCHED_DATES_BEYOND_PROOF"
TZ_SHIFT_MOVES_MONTHDAYS = "SCHED_TZ_SHIFT_MOVES_MONTHDAYS"
TZ_DST_MISMATCH = "SCHED_TZ_DST_MISMATCH"
DST_FALLBACK_RUNS_TWICE = "SCHED_DST_FALLBACK_RUNS_TWICE"
LAST_DAY_DST_SHIFT = "SCHED_LAST_DAY_DST_SHIFT"
TARGET_DATE_OFF_BY_ONE = "SCHED_TARGET_DATE_OFF_BY_ONE"
NOT_EXACT = "SCHED_NOT_EXACT"
ENTRIES_OVERLAP = "SCHED_ENTRIES_OVERLAP"
# pg_cron -> pgAgent and pg_cron syntax.
CRON_SECONDS_NOT_REPRESENTABLE = "SCHED_CRON_SECONDS_NOT_REPRESENTABLE"
CRON_REBOOT_NOT_REPRESENTABLE = "SCHED_CRON_REBOOT_NOT_REPRESENTABLE"
CRON_FEB_29_DROPPED = "SCHED_CRON_FEB_29_DROPPED"
CRON_JUNK_IGNORED = "SCHED_CRON_JUNK_IGNORED"
CRON_EXTRA_FIELDS_IGNORED = "SCHED_CRON_EXTRA_FIELDS_IGNORED"
CRON_REVERSED_RANGE = "SCHED_CRON_REVERSED_RANGE"
CRON_YEARLY_NEVER_FIRES = "SCHED_CRON_YEARLY_NEVER_FIRES"
CRON_MACRO = "SCHED_CRON_MACRO"


@dataclass(frozen=True)
class Finding:
    """One thing to tell the user: a stable code, how much it matters, what happened, what to do."""

    code: str
    severity: Severity
    message: str
    remedy: str = ""


def info(code: str, message: str, remedy: str = "") -> Finding:
    return Finding(code, Severity.INFO, message, remedy)


def warning(code: str, message: str, remedy: str = "") -> Finding:
    return Finding(code, Severity.WARNING, message, remedy)


def error(code: str, message: str, remedy: str = "") -> Finding:
    return Finding(code, Severity.ERROR, message, remedy)
