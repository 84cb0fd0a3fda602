"""Snapshots: the whole catalog (both sides) as a versioned JSON document, for offline analysis.

A snapshot never holds a password: step connection strings are redacted when read, and the origin is
a redacted DSN. ``load`` accepts exactly the format versions this release knows and says so otherwise.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from . import __version__
from .errors import SnapshotError
from .model import Catalog
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
    if doc.get("version") != VERSION:
        raise SnapshotError(
            f"{source} has snapshot format version {doc.get('version')!r}; this pgbridge reads "
            f"version {VERSION}: write it again with this pgbridge's 'pgbridge snapshot'"
        )
    try:
        return from_jsonable(Catalog, doc.get("catalog"))
    except (ValueError, TypeError) as exc:
        raise SnapshotError(f"{source} is malformed: {exc}") from None


def load(path: str | Path) -> Catalog:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SnapshotError(f"snapshot {path} does not exist") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SnapshotError(f"cannot read snapshot {path}: {exc}") from None
    return loads(text, source=f"snapshot {path}")
