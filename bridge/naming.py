"""Deterministic, unique, readable pg_cron job names for migrated pgAgent jobs (and the hash that
tells a pg_cron job's content).

A name is ``pgagent-<catalog tag>-<jobid>-<slug of the job name>`` plus ``-s<schedule id>`` when a
job needs one pg_cron job per schedule, and ``-<n>`` when one schedule needs several expressions.
The catalog tag tells apart the pgAgent catalogs one pg_cron receives (job ids repeat across
catalogs), the ids make it unique within a catalog (pgAgent job names are not), the slug makes it
readable, and the same catalog always gives the same names, which is what makes re-running a
migration idempotent. Names stay within 63 bytes, the limit up to pg_cron 1.4 (``name`` type,
silently truncated), on every target. pgbridge 0.1.0 named jobs without the tag; such names are
still recognised through the ledger and renamed by the next migration.
"""

from __future__ import annotations

import hashlib
import json
from functools import lru_cache

MAX_BYTES = 63
PREFIX = "pgagent"
TAG_LETTERS = "abcdefghijklmnopqrstuvwxyz"
TAG_LENGTH = 6


def catalog_identity(system_identifier: str | None, database: str) -> str:
    """Which pgAgent catalog: the cluster's system identifier (same on a physical standby, new
    after initdb) and the database. Without the identifier (a role that may not read
    ``pg_control_system()``), the database alone."""
    return f"{system_identifier}/{database}" if system_identifier else database


@lru_cache(maxsize=64)
def catalog_tag(identity: str) -> str:
    """A short, stable tag for a catalog identity: six letters (never mistaken for a job id);
    cached, as every job of a plan asks it for its names."""
    number = int.from_bytes(hashlib.sha256(identity.encode()).digest()[:8], "big")
    letters = []
    for _ in range(TAG_LENGTH):
        number, digit = divmod(number, len(TAG_LETTERS))
        letters.append(TAG_LETTERS[digit])
    return "".join(letters)


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


def prefix(catalog: str) -> str:
    """What every pg_cron job name of a catalog (its tag) starts with."""
    return f"{PREFIX}-{catalog}-"


def job_name(
    job_id: int,
    job_name: str,
    *,
    catalog: str,
    schedule_id: int | None = None,
    part: int | None = None,
    max_bytes: int = MAX_BYTES,
) -> str:
    """The pg_cron job name for (catalog tag, pgAgent job, schedule, expression number); an empty
    ``catalog`` gives the name pgbridge 0.1.0 used."""
    head = f"{prefix(catalog)}{job_id}" if catalog else f"{PREFIX}-{job_id}"
    tail = ""
    if schedule_id is not None:
        tail += f"-s{schedule_id}"
    if part is not None:
        tail += f"-{part}"
    room = max_bytes - len(head.encode()) - len(tail.encode()) - 1
    words = _clip(slug(job_name), room) if room > 0 else ""
    return f"{head}-{words}{tail}" if words else f"{head}{tail}"


def content_hash(schedule: str, command: str, database: str, username: str) -> str:
    """Identity of a pg_cron job's content (activity is not content: activate changes it)."""
    text = json.dumps([schedule, command, database, username], ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()[:32]
