"""The JSON Schemas (draft 2020-12) of every ``--format json`` document, built from the dataclasses
the documents are written from, so a renamed or dropped field changes the schema too.

``python -m bridge.devtools.schemas`` rewrites ``docs/schemas/``; ``tests/report/test_schemas.py``
checks the files are current and validates real outputs against them (issue 15).
"""

from __future__ import annotations

import collections.abc as abc
import dataclasses
import datetime as dt
import enum
import json
import sys
import types
import typing
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from bridge.apply.results import MigrationResult, Verification
from bridge.catalog import snapshot
from bridge.codes import CODES
from bridge.exporter.translate import ExportResult
from bridge.findings import Severity
from bridge.model import Catalog
from bridge.planner.types import Plan
from bridge.report import export, fleet, inventory, migration, plan

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BASE = "https://pgbridge.invalid/schemas/"  # a name, not a place: the files live in docs/schemas/

Schema = dict[str, Any]


class _Builder:
    """One schema with a ``$defs`` entry per dataclass (records are closed)."""

    def __init__(self) -> None:
        self.defs: dict[str, Schema] = {}
        self._classes: dict[str, type] = {}

    def of(self, tp: Any) -> Schema:
        origin, args = typing.get_origin(tp), typing.get_args(tp)
        if origin is Annotated:
            return self.of(args[0])
        if origin is Literal:
            return {"enum": list(args)}
        if origin in (Union, types.UnionType):
            return {"anyOf": [self.of(a) for a in args]}
        if origin in (tuple, list, set, frozenset, abc.Sequence, abc.Set):
            if origin is tuple and args and args[-1] is not Ellipsis:
                items = [self.of(a) for a in args]
                n = len(items)
                return {"type": "array", "prefixItems": items, "minItems": n, "maxItems": n}
            return {"type": "array", "items": self.of(args[0]) if args else {}}
        if origin in (dict, abc.Mapping):
            return {"type": "object", "additionalProperties": self.of(args[1]) if args else {}}
        if tp is type(None):
            return {"type": "null"}
        if tp is Any or tp is object:
            return {}
        if isinstance(tp, type):
            return self._plain(tp)
        raise TypeError(f"no schema for {tp!r}")

    def _plain(self, tp: type) -> Schema:
        if dataclasses.is_dataclass(tp):
            return self.record(tp)
        if issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if tp is bool:
            return {"type": "boolean"}
        if issubclass(tp, int):
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        if issubclass(tp, str):
            return {"type": "string"}
        if tp is dt.datetime:
            return {"type": "string", "format": "date-time"}
        if tp is dt.date:
            return {"type": "string", "format": "date"}
        if tp is dt.time:
            return {"type": "string", "format": "time"}
        if tp in (tuple, list):
            return {"type": "array"}
        if tp is dict:
            return {"type": "object"}
        raise TypeError(f"no schema for {tp!r}")

    def record(self, cls: type) -> Schema:
        name = cls.__name__
        if self._classes.setdefault(name, cls) is not cls:  # two records of one name
            name = f"{cls.__module__}.{cls.__qualname__}"
        if name not in self.defs:
            self.defs[name] = {}  # placeholder: recursive records refer to themselves
            module = sys.modules[cls.__module__]
            hints = typing.get_type_hints(cls, vars(module), include_extras=True)
            fields = [f for f in dataclasses.fields(cls) if f.metadata.get("json", True)]
            self.defs[name] = {
                "type": "object",
                "properties": {f.name: self.of(hints[f.name]) for f in fields},
                "required": [f.name for f in fields],
                "additionalProperties": False,
            }
        return {"$ref": f"#/$defs/{name}"}


def _document(
    name: str,
    version: int,
    title: str,
    head: dict[str, Schema],
    body: type | None = None,
    extra: dict[str, type] | None = None,
) -> Schema:
    """A document: ``format`` and ``version`` first, then ``head`` and the fields of ``body``."""
    b = _Builder()
    props: dict[str, Schema] = {"format": {"const": name}, "version": {"const": version}}
    props.update(head)
    if body is not None:
        b.record(body)
        props.update(b.defs[body.__name__]["properties"])
    for key, tp in (extra or {}).items():
        props[key] = b.of(tp)
    doc: Schema = {
        "$schema": DIALECT,
        "$id": f"{BASE}{name}.schema.json",
        "title": title,
        "type": "object",
        "properties": props,
        "required": list(props),
        "additionalProperties": False,
    }
    if body is not None and f'"#/$defs/{body.__name__}"' not in json.dumps(props):
        del b.defs[body.__name__]  # its fields are the document's own
    if b.defs:
        doc["$defs"] = dict(sorted(b.defs.items()))
    return doc


_INT_MAP = {"type": "object", "additionalProperties": {"type": "integer"}}


def _closed(**props: Schema) -> Schema:
    return {"type": "object", "properties": props, "required": list(props),
            "additionalProperties": False}  # fmt: skip


_INT = {"type": "integer"}


def _fleet_kind(kind: str, member_format: str) -> Schema:
    """What a fleet of ``kind`` holds: its roll-up (``bridge.report.fleet.rollup``) and, per
    server, that server's own document or its error."""
    counts = {"servers": _INT, "read": _INT, "unreadable": _INT}
    if kind == "plan":
        code = _closed(
            code={"enum": sorted(CODES)}, severity={"enum": [s.value for s in Severity]},
            jobs=_INT, servers=_INT, first_jobs={"type": "array", "items": {"type": "string"}},
        )  # fmt: skip
        rollup = _closed(**counts, statuses=_INT_MAP, codes={"type": "array", "items": code})
    else:
        rollup = _closed(**counts, jobs=_INT, steps=_INT, schedules=_INT, pg_cron_jobs=_INT)
    member = _closed(
        server={"type": "string"},
        ok={"type": "boolean"},
        error={"type": ["string", "null"]},
        document={"anyOf": [{"$ref": f"{member_format}.schema.json"},
                            {"type": "null"}]},
    )  # fmt: skip
    return {
        "if": {"properties": {"kind": {"const": kind}}},
        "then": {"properties": {"rollup": rollup, "servers": {"items": member}}},
    }


def schemas() -> dict[str, Schema]:
    """Format name -> its schema, for every JSON document pgbridge writes."""
    out = [
        _document(
            inventory.FORMAT, inventory.VERSION, "pgbridge inventory --format json", {},
            extra={"catalog": Catalog},
        ),
        _document(
            snapshot.FORMAT, snapshot.VERSION, "pgbridge snapshot file",
            {"pgbridge": {"type": "string"}, "written_at": {"type": "string", "format": "date-time"}},
            extra={"catalog": Catalog},
        ),
        _document(
            plan.FORMAT, Plan.__dataclass_fields__["format_version"].default,  # type: ignore[arg-type]
            "pgbridge plan --format json", {"summary": _INT_MAP}, Plan,
        ),
        _document(
            migration.FORMAT, migration.VERSION,
            "pgbridge migrate / activate / rollback --format json", {}, MigrationResult,
        ),
        _document(
            migration.VERIFY_FORMAT, migration.VERIFY_VERSION, "pgbridge verify --format json",
            {"ok": {"type": "boolean"}}, Verification,
        ),
        _document(export.FORMAT, export.VERSION, "pgbridge export --format json", {}, ExportResult),
        _document(
            fleet.FORMAT, fleet.VERSION, "pgbridge plan / inventory --fleet --format json",
            {"kind": {"enum": list(fleet.MEMBER_FORMATS)}, "rollup": {"type": "object"},
             "servers": {"type": "array"}},
        ),
    ]  # fmt: skip
    out[-1]["allOf"] = [_fleet_kind(k, f) for k, f in fleet.MEMBER_FORMATS.items()]
    props = out[2]["properties"]
    props.pop("format_version", None)  # written as "version"
    out[2]["required"] = list(props)
    sched = out[0]["$defs"]["Schedule"]  # the inventory says each pgAgent schedule in words
    sched["properties"]["in_words"] = {"type": "string"}
    sched["required"].append("in_words")
    for doc in out:  # a finding's code is one of the register's (bridge/codes.py)
        finding = doc.get("$defs", {}).get("Finding")
        if finding is not None:
            finding["properties"]["code"] = {"enum": sorted(CODES)}
    return {s["properties"]["format"]["const"]: s for s in out}


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, schema in schemas().items():
        path = directory / f"{name}.schema.json"
        path.write_text(json.dumps(schema, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":  # pragma: no cover
    for p in write(Path(sys.argv[1] if len(sys.argv) > 1 else "docs/schemas")):
        print(p)
