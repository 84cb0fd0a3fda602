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
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar, Union

T = TypeVar("T")


@dataclass(frozen=True)
class Bounds:
    """``Annotated[int, Bounds(lo, hi)]``: the integers the PostgreSQL column can hold."""

    low: int
    high: int

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit, None when it does."""
        if not self.low <= value <= self.high:
            return f"{value} is outside {self.low}..{self.high}"
        return None


@dataclass(frozen=True)
class Plain:
    """``Annotated[str, PLAIN]``: text PostgreSQL itself writes (versions, zone names, codes),
    which never holds a control or formatting character."""

    def problem(self, value: Any) -> str | None:
        """Why ``value`` does not fit, None when it does."""
        if not value.isprintable():
            bad = next(ch for ch in value if not ch.isprintable())
            return f"control character U+{ord(bad):04X} in {value!r}"
        return None


PLAIN = Plain()
INT4 = Bounds(-(2**31), 2**31 - 1)
INT8 = Bounds(-(2**63), 2**63 - 1)

_SURROGATE = re.compile("[\ud800-\udfff]")
_FAR_YEAR = re.compile(r"[+-]|\d{5}|0000")


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


class _Misfit(ValueError):
    """A value that does not fit: why, and the path below the reader that refused it (its parts
    innermost first). Paths are only spelled out for the value refused, never for the others (a
    snapshot holds millions of values)."""

    def __init__(self, why: str, *where: str) -> None:
        super().__init__(why)
        self.why = why
        self.where = list(where)

    def at(self, path: str) -> ValueError:
        return ValueError(f"{path}{''.join(reversed(self.where))}: {self.why}")


#: A reader turns one JSON value into the typed value, raising :class:`_Misfit` when it does not fit.
Reader = Callable[[Any], Any]
#: One reader per type, built once from its type hints (not per value: a snapshot of 16,000 jobs
#: holds millions of values).
_READERS: dict[Any, Reader] = {}


def _reader(tp: Any) -> Reader:
    """The reader for values of type ``tp`` (cached)."""
    read = _READERS.get(tp)
    if read is None:
        read = _READERS[tp] = _build(tp)
    return read


def _refuse(why: str) -> Reader:
    def read(data: Any) -> Any:
        raise _Misfit(why)

    return read


def _text_problem(data: str) -> str | None:
    """Why PostgreSQL could not have stored ``data``: a NUL, or a lone surrogate (not UTF-8)."""
    if "\0" in data:
        return "contains a NUL character (PostgreSQL text never does)"
    if not data.isascii():  # O(1): CPython knows whether a string is ASCII
        found = _SURROGATE.search(data)
        if found:
            return f"contains a lone surrogate U+{ord(found.group()):04X} (not valid UTF-8)"
    return None


def _items(item: Reader, data: list[Any]) -> tuple[Any, ...]:
    """``data`` read by ``item`` each; a misfit is told with its index."""
    try:
        return tuple([item(v) for v in data])
    except _Misfit:
        pass
    for i, v in enumerate(data):  # again, to find the first that does not fit (readers are pure)
        try:
            item(v)
        except _Misfit as exc:
            exc.where.append(f"[{i}]")
            raise
    raise AssertionError("a reader refused a value once only")  # pragma: no cover


def _annotated(tp: Any) -> Reader:
    inner = _reader(typing.get_args(tp)[0])
    rules = tuple(tp.__metadata__)
    if len(rules) == 1 and type(rules[0]) is Bounds:
        bounds = rules[0]
        low, high = bounds.low, bounds.high

        def bounded(data: Any) -> Any:
            value = inner(data)
            if not low <= value <= high:  # Bounds.problem, inline: every id and count
                raise _Misfit(str(bounds.problem(value)))
            return value

        return bounded

    def read(data: Any) -> Any:
        value = inner(data)
        for rule in rules:
            why = rule.problem(value)
            if why is not None:
                raise _Misfit(why)
        return value

    return read


def _literal(args: tuple[Any, ...]) -> Reader:
    def read(data: Any) -> Any:
        if data not in args:
            raise _Misfit(f"{data!r} is not one of {', '.join(map(repr, args))}")
        return data

    return read


def _union(args: tuple[Any, ...]) -> Reader:
    nullable = type(None) in args
    arms = tuple(_reader(a) for a in args if a is not type(None))
    if nullable and len(arms) == 1:
        (arm,) = arms

        def optional(data: Any) -> Any:
            return None if data is None else arm(data)

        return optional

    def read(data: Any) -> Any:
        if data is None and nullable:
            return None
        first: _Misfit | None = None
        for each in arms:
            try:
                return each(data)
            except _Misfit as exc:
                first = first or exc
        raise first or _Misfit("unexpected null")

    return read


def _tuple(args: tuple[Any, ...]) -> Reader:
    if len(args) == 2 and args[1] is Ellipsis:
        item = _reader(args[0])
        if item is _bool:

            def flags(data: Any) -> Any:
                if not isinstance(data, list):
                    raise _Misfit(f"expected a list, got {type(data).__name__}")
                if set(map(type, data)) <= {bool}:
                    return tuple(data)
                return _items(_bool, data)

            return flags

        def many(data: Any) -> Any:
            if not isinstance(data, list):
                raise _Misfit(f"expected a list, got {type(data).__name__}")
            return _items(item, data)

        return many
    items = tuple(_reader(a) for a in args)

    def fixed(data: Any) -> Any:
        if not isinstance(data, list):
            raise _Misfit(f"expected a list, got {type(data).__name__}")
        if len(items) != len(data):
            raise _Misfit(f"expected {len(items)} items, got {len(data)}")
        out = []
        for i, (each, v) in enumerate(zip(items, data, strict=True)):
            try:
                out.append(each(v))
            except _Misfit as exc:
                exc.where.append(f"[{i}]")
                raise
        return tuple(out)

    return fixed


def _dict(args: tuple[Any, ...]) -> Reader:
    value = _reader(args[1])

    def read(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Misfit("expected an object")
        out = {}
        for k, v in data.items():
            try:
                out[str(k)] = value(v)
            except _Misfit as exc:
                exc.where.append(f".{k}")
                raise
        return out

    return read


def _dataclass(cls: type) -> Reader:
    """The reader of a dataclass: its fields and their readers looked up once, when first read
    (so that classes referring to each other are built lazily)."""
    fields: list[tuple[str, Reader, bool]] = []
    names: set[str] = set()
    #: The field names in order and their readers, when every field can be given by position.
    order: tuple[str, ...] = ()
    readers: tuple[Reader, ...] = ()
    ready = False

    def read(data: Any) -> Any:
        if not isinstance(data, dict):
            raise _Misfit(f"expected an object for {cls.__name__}")
        if not ready:
            prepare()
        if order and tuple(data) == order:  # every field, in order: as to_jsonable writes them
            try:
                return cls(*[each(v) for each, v in zip(readers, data.values(), strict=True)])
            except _Misfit:
                pass  # read again, field by field, to name the field
        kwargs: dict[str, Any] = {}
        for name, each, required in fields:
            if name in data:
                try:
                    kwargs[name] = each(data[name])
                except _Misfit as exc:
                    exc.where.append(f".{name}")
                    raise
            elif required:
                raise _Misfit("missing", f".{name}")
        if len(kwargs) != len(data):
            unknown = set(data) - names
            if unknown:
                raise _Misfit(f"unknown field(s) {', '.join(sorted(unknown))}")
        return cls(**kwargs)

    def prepare() -> None:
        nonlocal ready, order, readers
        hints = _hints(cls)
        every = dataclasses.fields(cls)
        for f in every:
            required = f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
            fields.append((f.name, _reader(hints[f.name]), required))
            names.add(f.name)
        if every and all(f.init and not f.kw_only for f in every):
            order = tuple(name for name, _, _ in fields)
            readers = tuple(each for _, each, _ in fields)
        ready = True

    return read


def _enum(cls: type[enum.Enum]) -> Reader:
    members = {m.value: m for m in cls}

    def read(data: Any) -> Any:
        try:
            return members[data]
        except (KeyError, TypeError):
            pass
        try:
            return cls(data)  # what the lookup by hash cannot find (an equal value of another type)
        except ValueError:
            raise _Misfit(f"{data!r} is not a valid {cls.__name__}") from None

    return read


def _when(tp: type[dt.date] | type[dt.time]) -> Reader:
    """ISO dates, times and datetimes (a datetime with a UTC offset, within years 1..9999 in UTC)."""
    parse = tp.fromisoformat
    expected = f"expected an ISO {tp.__name__} string"
    utc = dt.timezone.utc

    def read(data: Any) -> Any:
        if not isinstance(data, str):
            raise _Misfit(expected)
        try:
            value = parse(data)
        except ValueError:
            far = tp is not dt.time and _FAR_YEAR.match(data)
            why = "has a year outside 1..9999" if far else f"is not an ISO {tp.__name__}"
            problem = _text_problem(data)
            raise _Misfit(problem if problem is not None else f"{data!r} {why}") from None
        if isinstance(value, dt.datetime):
            if value.utcoffset() is None:
                raise _Misfit(f"{data!r} has no UTC offset")
            try:
                value.astimezone(utc)
            except OverflowError:
                raise _Misfit(f"{data!r} is outside years 1..9999 in UTC") from None
        return value

    return read


def _bool(data: Any) -> Any:
    if not isinstance(data, bool):
        raise _Misfit(f"expected true/false, got {data!r}")
    return data


def _int(data: Any) -> Any:
    if type(data) is not int and (isinstance(data, bool) or not isinstance(data, int)):
        raise _Misfit(f"expected an integer, got {data!r}")
    return data


def _float(data: Any) -> Any:
    if isinstance(data, bool) or not isinstance(data, (int, float)) or data != data:
        raise _Misfit(f"expected a number, got {data!r}")
    return float(data)


def _str(data: Any) -> Any:
    if not isinstance(data, str):
        raise _Misfit(f"expected a string, got {data!r}")
    why = _text_problem(data)
    if why is not None:
        raise _Misfit(why)
    return data


def _any(data: Any) -> Any:
    return data


_SCALARS: dict[Any, Reader] = {bool: _bool, int: _int, float: _float, str: _str, Any: _any}


def _build(tp: Any) -> Reader:
    """A new reader for ``tp`` (its parts' readers come from the cache)."""
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is Annotated:
        return _annotated(tp)
    if origin is Literal:
        return _literal(args)
    if origin in (Union, types.UnionType):
        return _union(args)
    if origin is tuple:
        return _tuple(args)
    if origin is dict:
        return _dict(args)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        return _dataclass(tp)
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return _enum(tp)
    if tp in (dt.datetime, dt.date, dt.time):
        return _when(tp)
    try:
        return _SCALARS[tp]
    except (KeyError, TypeError):
        return _refuse(f"cannot read values of type {tp!r}")


def from_jsonable(cls: type[T], data: Any, path: str = "$") -> T:
    """Rebuild a dataclass of type ``cls`` from :func:`to_jsonable` output (strictly typed).

    Each class's fields and type hints are looked up once, into one reader per type; a value's
    path is only spelled out for the first value that does not fit."""
    try:
        return _reader(cls)(data)  # type: ignore[no-any-return]
    except _Misfit as exc:
        raise exc.at(path) from None
