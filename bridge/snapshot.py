"""Snapshots: the whole catalog (both sides) as a versioned JSON document, for offline analysis.

A snapshot never holds a password: step connection strings are redacted when read, and the origin is
a redacted DSN. ``load`` accepts exactly the format versions this release knows and says so otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from . import conninfo
from ._version import __version__
from .errors import SnapshotError
from .model import HOURS, MINUTES, MONTHDAYS, MONTHS, WEEKDAYS, Catalog
from .serialize import from_jsonable, to_jsonable

FORMAT = "pgbridge-snapshot"
VERSION = 1


def dumps(catalog: Catalog) -> str:
    """The snapshot document for ``catalog`` (stable key order, UTF-8 text)."""
    doc = {
        "format": FORMAT,
        "version": VERSION,
        "pgbridge": __version__,
        "written_at": dt.datetime.now(dt.timezone.utc).isoformat(),
        "catalog": to_jsonable(catalog),
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def save(catalog: Catalog, path: str | Path) -> None:
    try:
        Path(path).write_text(dumps(catalog), encoding="utf-8")
    except OSError as exc:
        raise SnapshotError(f"cannot write snapshot {path}: {exc.strerror or exc}") from None


def loads(text: str, *, source: str = "snapshot") -> Catalog:
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            "write it again with 'pgbridge snapshot'"
        ) from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SnapshotError(f'{source} is not a pgbridge snapshot (no "format": "{FORMAT}")')
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise SnapshotError(
            f"{source} has snapshot format version {version!r}; this pgbridge reads "
            f"version {VERSION}: write it again with this pgbridge's 'pgbridge snapshot'"
        )
    try:
        catalog = from_jsonable(Catalog, doc.get("catalog"))
        return _checked(catalog)
    except (ValueError, TypeError) as exc:
        raise SnapshotError(f"{source} is malformed: {exc}") from None


_LENGTHS = {
    "minutes": MINUTES,
    "hours": HOURS,
    "weekdays": WEEKDAYS,
    "monthdays": MONTHDAYS,
    "months": MONTHS,
}


def _checked(catalog: Catalog) -> Catalog:
    """What types alone do not guarantee: array lengths, and no secret even in an edited file."""
    if catalog.pgagent is None:
        return replace(catalog, origin=conninfo.redact(catalog.origin))
    jobs = []
    for i, job in enumerate(catalog.pgagent.jobs):
        for j, sched in enumerate(job.schedules):
            for name, size in _LENGTHS.items():
                got = len(getattr(sched, name))
                if got != size:
                    raise ValueError(
                        f"$.catalog.pgagent.jobs[{i}].schedules[{j}].{name}: {got} values, "
                        f"expected {size}"
                    )
        steps = tuple(replace(step, connstr=conninfo.redact(step.connstr)) for step in job.steps)
        jobs.append(replace(job, steps=steps))
    agent = replace(catalog.pgagent, jobs=tuple(jobs))
    return replace(catalog, pgagent=agent, origin=conninfo.redact(catalog.origin))


def load(path: str | Path) -> Catalog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc}") from None
    return loads(text, source=f"snapshot {path}")
