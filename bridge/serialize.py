"""Dataclasses <-> JSON-ready values, driven by type hints (one converter for every model type).

Used by snapshots and by ``--format json`` reports, so both always agree with :mod:`bridge.model`.
Datetimes are ISO 8601 strings with offset, dates and times ISO strings, enums their values, tuples
lists. :func:`from_jsonable` rebuilds the typed objects and raises ``ValueError`` naming the path of
the first value that does not fit: a wrong type, a string PostgreSQL could not have stored (NUL, a
lone surrogate), an instant outside years 1..9999, or a value outside the domain an ``Annotated``
field declares (:class:`Bounds`, :data:`PLAIN`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
import sys
import types
import typing
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class Bounds:
    """``Annotated[int, Bounds(lo, hi)]``: the integers the PostgreSQL column can hold."""

    low: int
    high: int

    def check(self, value: Any, path: str) -> None:
        if not self.low <= value <= self.high:
            raise ValueError(f"{path}: {value} is outside {self.low}..{self.high}")


@dataclass(frozen=True)
class Plain:
    """``Annotated[str, PLAIN]``: text PostgreSQL itself writes (versions, zone names, codes),
    which never holds a control or formatting character."""

    def check(self, value: Any, path: str) -> None:
        if not value.isprintable():
            bad = next(ch for ch in value if not ch.isprintable())
            raise ValueError(f"{path}: control character U+{ord(bad):04X} in {value!r}")


PLAIN = Plain()
INT4 = Bounds(-(2**31), 2**31 - 1)
INT8 = Bounds(-(2**63), 2**63 - 1)

_SURROGATE = re.compile("[\ud800-\udfff]")
_FAR_YEAR = re.compile(r"[+-]|\d{5}|0000")


def _text(data: str, path: str) -> str:
    """A string as PostgreSQL could have stored it: no NUL, valid UTF-8 (no lone surrogate)."""
    if "\0" in data:
        raise ValueError(f"{path}: contains a NUL character (PostgreSQL text never does)")
    found = _SURROGATE.search(data)
    if found:
        raise ValueError(
            f"{path}: contains a lone surrogate U+{ord(found.group()):04X} (not valid UTF-8)"
        )
    return data


#: ``field(metadata=NOT_JSON)``: a value kept for the text reports only (derived from others).
NOT_JSON = {"json": False}
#: Values that are already JSON (exact types: an enum deriving from str or int is not one).
_JSON_READY = frozenset({str, int, float, bool, type(None)})
#: Each dataclass's JSON field names, looked up once per class (a plan serialises thousands of
#: jobs; issue 16).
_FIELDS: dict[type, tuple[str, ...]] = {}


def to_jsonable(value: Any) -> Any:
    """Turn model objects into dicts, lists, strings, numbers, booleans and None."""
    kind = type(value)
    if kind in _JSON_READY:
        return value
    names = _FIELDS.get(kind)
    if names is None and dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = _FIELDS[kind] = tuple(
            f.name for f in dataclasses.fields(value) if f.metadata.get("json", True)
        )
    if names is not None:
        return {name: to_jsonable(getattr(value, name)) for name in names}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, (dt.datetime, dt.date, dt.time)):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [v if type(v) in _JSON_READY else to_jsonable(v) for v in value]
    if isinstance(value, (set, frozenset)):
        return [to_jsonable(v) for v in sorted(value)]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def _hints(cls: type) -> dict[str, Any]:
    module = sys.modules[cls.__module__]
    return typing.get_type_hints(cls, vars(module), include_extras=True)


def _convert(tp: Any, data: Any, path: str) -> Any:
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        value = _convert(args[0], data, path)
        for rule in tp.__metadata__:
            rule.check(value, path)
        return value
    if origin is Literal:
        if data not in args:
            raise ValueError(f"{path}: {data!r} is not one of {', '.join(map(repr, args))}")
        return data
    if origin in (Union, types.UnionType):
        if data is None and type(None) in args:
            return None
        errors = []
        for arg in (a for a in args if a is not type(None)):
            try:
                return _convert(arg, data, path)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{path}: unexpected null")
    if origin is tuple:
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a list, got {type(data).__name__}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_convert(args[0], v, f"{path}[{i}]") for i, v in enumerate(data))
        if len(args) != len(data):
            raise ValueError(f"{path}: expected {len(args)} items, got {len(data)}")
        return tuple(
            _convert(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, data, strict=True))
        )
    if origin is dict:
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected an object")
        return {str(k): _convert(args[1], v, f"{path}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return from_jsonable(tp, data, path)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise ValueError(f"{path}: {data!r} is not a valid {tp.__name__}") from None
    if tp in (dt.datetime, dt.date, dt.time):
        if not isinstance(data, str):
            raise ValueError(f"{path}: expected an ISO {tp.__name__} string")
        try:
            value = tp.fromisoformat(data)
        except ValueError:
            far = tp is not dt.time and _FAR_YEAR.match(data)
            why = "has a year outside 1..9999" if far else f"is not an ISO {tp.__name__}"
            raise ValueError(f"{path}: {_text(data, path)!r} {why}") from None
        if isinstance(value, dt.datetime):
            if value.utcoffset() is None:
                raise ValueError(f"{path}: {data!r} has no UTC offset")
            try:
                value.astimezone(dt.timezone.utc)
            except OverflowError:
                raise ValueError(f"{path}: {data!r} is outside years 1..9999 in UTC") from None
        return value
    if tp is bool:
        if not isinstance(data, bool):
            raise ValueError(f"{path}: expected true/false, got {data!r}")
        return data
    if tp is int:
        if isinstance(data, bool) or not isinstance(data, int):
            raise ValueError(f"{path}: expected an integer, got {data!r}")
        return data
    if tp is float:
        if isinstance(data, bool) or not isinstance(data, (int, float)) or data != data:
            raise ValueError(f"{path}: expected a number, got {data!r}")
        return float(data)
    if tp is str:
        if not isinstance(data, str):
            raise ValueError(f"{path}: expected a string, got {data!r}")
        return _text(data, path)
    if tp is Any:
        return data
    raise ValueError(f"{path}: cannot read values of type {tp!r}")


def from_jsonable(cls: type[T], data: Any, path: str = "$") -> T:
    """Rebuild a dataclass of type ``cls`` from :func:`to_jsonable` output (strictly typed)."""
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected an object for {cls.__name__}")
    hints = _hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):  # type: ignore[arg-type]
        if f.name not in data:
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
                raise ValueError(f"{path}.{f.name}: missing")
            continue
        kwargs[f.name] = _convert(hints[f.name], data[f.name], f"{path}.{f.name}")
    unknown = set(data) - {f.name for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    if unknown:
        raise ValueError(f"{path}: unknown field(s) {', '.join(sorted(unknown))}")
    return cls(**kwargs)
