"""Deterministic, unique, readable pg_cron job names for migrated pgAgent jobs.

A name is ``pgagent-<jobid>-<slug of the job name>`` plus ``-s<schedule id>`` when a job needs one
pg_cron job per schedule, and ``-<n>`` when one schedule needs several expressions. The ids make it
unique (pgAgent job names are not), the slug makes it readable, and the same catalog always gives
the same names, which is what makes re-running a migration idempotent. Names stay within 63 bytes,
the limit up to pg_cron 1.4 (``name`` type, silently truncated), on every target.
"""

from __future__ import annotations

MAX_BYTES = 63
PREFIX = "pgagent"


def slug(text: str) -> str:
    """Lower-case words joined by ``-`` (letters and digits of any script are kept)."""
    out: list[str] = []
    dash = False
    for ch in text.lower():
        if ch.isalnum():
            out.append(ch)
            dash = False
        elif not dash and out:
            out.append("-")
            dash = True
    return "".join(out).strip("-")


def _clip(text: str, max_bytes: int) -> str:
    """At most ``max_bytes`` of UTF-8, cut on a character boundary, no trailing dash."""
    data = text.encode()
    if len(data) <= max_bytes:
        return text
    return data[:max_bytes].decode("utf-8", errors="ignore").rstrip("-")


def job_name(
    job_id: int,
    job_name: str,
    *,
    schedule_id: int | None = None,
    part: int | None = None,
    max_bytes: int = MAX_BYTES,
) -> str:
    """The pg_cron job name for (pgAgent job, schedule, expression number)."""
    head = f"{PREFIX}-{job_id}"
    tail = ""
    if schedule_id is not None:
        tail += f"-s{schedule_id}"
    if part is not None:
        tail += f"-{part}"
    room = max_bytes - len(head.encode()) - len(tail.encode()) - 1
    words = _clip(slug(job_name), room) if room > 0 else ""
    return f"{head}-{words}{tail}" if words else f"{head}{tail}"
