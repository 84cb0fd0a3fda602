"""Snapshots: the whole catalog (both sides) as a versioned JSON document, for offline analysis.

A snapshot never holds a password: step connection strings are redacted when read, and the origin is
a redacted DSN. ``load`` accepts exactly the format versions this release knows and says so otherwise.

A snapshot is also an input anyone can edit, so ``load`` admits only what a catalog read from
PostgreSQL could hold (no NUL, valid UTF-8, column ranges, years 1..9999, versions where versions
belong) within sane limits of size and nesting, and names the first field that does not fit.
"""

from __future__ import annotations

import datetime as dt
import json
import stat
from dataclasses import replace
from pathlib import Path
from typing import Any

from bridge import collector
from bridge._version import __version__
from bridge.errors import SnapshotError
from bridge.model import HOURS, MINUTES, MONTHDAYS, MONTHS, WEEKDAYS, Catalog
from bridge.pg import conninfo
from bridge.progress import SILENT, Progress, phase, tracked
from bridge.schedule.versions import parse_release
from bridge.serialize import from_jsonable, to_jsonable

FORMAT = "pgbridge-snapshot"
VERSION = 1

#: Limits far above any real catalog (a snapshot nests about ten levels deep).
MAX_BYTES = 512 * 2**20
MAX_DEPTH = 32


def _without_output(catalog: Catalog) -> Catalog:
    """The catalog without any step output of the run log (snapshots carry only aggregates)."""
    if catalog.pgagent is None:
        return catalog
    jobs = []
    for job in catalog.pgagent.jobs:
        if job.history is not None and any(s.last_error for s in job.history.steps):
            steps = tuple(replace(s, last_error="") for s in job.history.steps)
            job = replace(job, history=replace(job.history, steps=steps))
        jobs.append(job)
    return replace(catalog, pgagent=replace(catalog.pgagent, jobs=tuple(jobs)))


def dumps(catalog: Catalog) -> str:
    """The snapshot document for ``catalog`` (stable key order, UTF-8 text); no step output."""
    catalog = _without_output(catalog)
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


def _too_big(source: str, size: int) -> SnapshotError:
    return SnapshotError(
        f"{source} is {size / 2**20:.0f} MiB; pgbridge reads snapshots up to "
        f"{MAX_BYTES // 2**20} MiB"
    )


#: The types of JSON values that hold no other value.
_LEAVES = frozenset({str, int, float, bool, type(None)})


def _too_deep(doc: Any) -> str | None:
    """The path of the first value nested deeper than :data:`MAX_DEPTH` (iteratively). Only the
    containers are walked, level by level, and paths are spelled out only when one is too deep."""
    level = [doc] if isinstance(doc, (dict, list)) else []
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        for value in level:
            members = value.values() if isinstance(value, dict) else value
            if not set(map(type, members)) <= _LEAVES:  # most members are: skip them in C
                below += [v for v in members if isinstance(v, (dict, list))]
        level = below
    if not any(level):  # the containers at MAX_DEPTH are empty: no value deeper
        return None
    return _deep_path(doc)


def _deep_path(doc: Any) -> str | None:
    """The path :func:`_too_deep` names: the first too deep value, depth first from the end."""
    todo: list[tuple[Any, str, int]] = [(doc, "$", 0)]
    while todo:
        value, path, depth = todo.pop()
        if depth > MAX_DEPTH:
            return path
        if isinstance(value, dict):
            todo += [(v, f"{path}.{k}", depth + 1) for k, v in value.items()]
        elif isinstance(value, list):
            todo += [(v, f"{path}[{i}]", depth + 1) for i, v in enumerate(value)]
    return None


def loads(text: str, *, source: str = "snapshot") -> Catalog:
    with collector.paused():
        return _catalog(_document(text, source), source)


def _document(text: str, source: str) -> Any:
    """The JSON document of a snapshot's text (refused when too big or nested too deeply)."""
    if len(text) > MAX_BYTES:
        raise _too_big(source, len(text))
    try:
        doc: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SnapshotError(
            f"{source} is not valid JSON (line {exc.lineno}, column {exc.colno}): "
            "write it again with 'pgbridge snapshot'"
        ) from None
    except RecursionError:
        raise SnapshotError(
            f"{source} is nested too deeply to be a pgbridge snapshot (more than "
            f"{MAX_DEPTH} levels)"
        ) from None
    deep = _too_deep(doc)
    if deep is not None:
        raise SnapshotError(f"{source} is malformed: {deep}: nested more than {MAX_DEPTH} levels")
    return doc


def _catalog(doc: Any, source: str) -> Catalog:
    """The catalog a snapshot document holds, checked (format, version, values)."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise SnapshotError(f'{source} is not a pgbridge snapshot (no "format": "{FORMAT}")')
    version = doc.get("version")
    if type(version) is not int or version != VERSION:
        raise SnapshotError(
            f"{source} has snapshot format version {version!r}; this pgbridge reads "
            f"version {VERSION}: write it again with this pgbridge's 'pgbridge snapshot'"
        )
    try:
        catalog = from_jsonable(Catalog, doc.get("catalog"), "$.catalog")
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
    """What types alone do not guarantee: array lengths, versions, no secret in an edited file."""
    side = catalog.pgcron
    if side is not None and side.binary_at_least != "unknown":
        try:
            parse_release(side.binary_at_least)
        except ValueError:
            raise ValueError(
                f"$.catalog.pgcron.binary_at_least: {side.binary_at_least!r} is not a pg_cron "
                "release (MAJOR.MINOR.PATCH) or 'unknown'"
            ) from None
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
        masked = [conninfo.redact(step.connstr) for step in job.steps]
        if any(m != step.connstr for m, step in zip(masked, job.steps, strict=True)):
            steps = tuple(
                replace(step, connstr=m) for m, step in zip(masked, job.steps, strict=True)
            )
            job = replace(job, steps=steps)
        jobs.append(job)
    agent = replace(catalog.pgagent, jobs=tuple(jobs))
    return _without_output(replace(catalog, pgagent=agent, origin=conninfo.redact(catalog.origin)))


#: How much of a snapshot file is read between two reports of progress.
CHUNK = 1 << 20


def read_text(path: str | Path, progress: Progress = SILENT) -> str:
    """A snapshot file's text, ``progress`` told of each megabyte read. The bytes go into one
    buffer of the file's size and are decoded once, so the peak is the buffer and the text:
    twice the file (three times when a character beyond Latin-1 makes Python store the text at
    two bytes a character)."""
    try:
        status = Path(path).stat()
        if not stat.S_ISREG(status.st_mode):
            return _read_stream(path, progress)
        size = status.st_size
        if size > MAX_BYTES:
            raise _too_big(f"snapshot {path}", size)
        buffer = bytearray(size)
        view = memoryview(buffer)
        with open(path, "rb") as file:
            offsets = range(0, size, CHUNK)
            read = tracked(progress, "reading snapshot", offsets, len(offsets), "MB")
            got = sum(file.readinto(view[at : at + CHUNK]) for at in read)
            if got != size or file.read(1):
                raise SnapshotError(f"snapshot {path} changed while it was read: read it again")
        return str(view, "utf-8")
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc}") from None


def _read_stream(path: str | Path, progress: Progress) -> str:
    """A pipe, ``/dev/stdin`` or a process substitution has no size to read into: read it a
    megabyte at a time until it ends (or passes the size limit)."""
    parts: list[bytes] = []
    total = 0
    progress.start("reading snapshot", None, "MB")
    try:
        with open(path, "rb") as file:
            while chunk := file.read(CHUNK):
                parts.append(chunk)
                total += len(chunk)
                if total > MAX_BYTES:
                    raise _too_big(f"snapshot {path}", total)
                progress.advance()
    finally:
        progress.finish()
    return b"".join(parts).decode("utf-8")


def load(path: str | Path, progress: Progress = SILENT) -> Catalog:
    """The catalog a snapshot file holds; ``progress`` is told of each megabyte read, then of
    the decoding (one step: the JSON document is parsed whole). The text is let go once parsed,
    before the catalog is built from the document."""
    text = read_text(path, progress)
    source = f"snapshot {path}"
    with phase(progress, "decoding snapshot"), collector.paused():
        doc = _document(text, source)
        del text
        return _catalog(doc, source)
