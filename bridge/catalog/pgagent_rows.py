"""pgAgent's catalog rows -> the model (pure): arrays, bounds, kinds and policies read the way
pgAgent reads them, every oddity kept as a :class:`~bridge.model.Diagnostic`."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any, cast

from bridge.findings import Severity
from bridge.model import (
    HOURS,
    MINUTES,
    MONTHDAYS,
    MONTHS,
    WEEKDAYS,
    Diagnostic,
    OnError,
    Schedule,
    ScheduleException,
    Step,
    StepKind,
)
from bridge.pg import conninfo

UTC = dt.timezone.utc

_RETURNS = re.compile(r"(?i)\b(?:RETURN|SELECT)\s+(\d+)")
_DIMS = re.compile(r"^\[(-?\d+):(-?\d+)\]=")


def diagnostic(code: str, severity: Severity, message: str) -> Diagnostic:
    return Diagnostic(code, severity, message)


def parse_bool_array(text: str | None) -> tuple[int, list[bool | None]] | None:
    """Parse PostgreSQL's text form of a one-dimensional ``bool[]`` (``[0:2]={t,f,NULL}``).

    Returns (lower bound, elements) or None for NULL and for shapes pgAgent cannot index (2-D).
    """
    if text is None:
        return None
    if text.startswith("{") and "{" not in text[1:] and "N" not in text and '"' not in text:
        # the common case, PostgreSQL's own output of a regular array: no bounds, NULLs or quotes
        return 1, list(map("t".__eq__, text[1:-1].split(","))) if len(text) > 2 else []
    lower = 1
    match = _DIMS.match(text)
    if match:
        lower = int(match.group(1))
        text = text[match.end() :]
    inner = text.strip()
    if not (inner.startswith("{") and inner.endswith("}")) or "{" in inner[1:-1]:
        return None
    body = inner[1:-1].strip()
    if not body:
        return lower, []
    values: list[bool | None] = []
    for item in body.split(","):
        token = item.strip().strip('"').lower()
        values.append(None if token == "null" else token in ("t", "true"))
    return lower, values


def normalise_array(
    text: str | None, size: int, field: str
) -> tuple[tuple[bool, ...], list[Diagnostic]]:
    """pgAgent's reading of an array: subscript ``s`` (1..size) is ``arr[s]``; NULL or absent = false.

    Irregular arrays are reported: pgAgent's "nothing selected = any" test compares the whole array
    with ``'{f,...}'``, which a NULL element, other bounds or another length defeat.
    """
    values, diags = _normalised(text, size, field)
    return values, list(diags)


@lru_cache(maxsize=4096)
def _normalised(
    text: str | None, size: int, field: str
) -> tuple[tuple[bool, ...], tuple[Diagnostic, ...]]:
    """:func:`normalise_array`, once per distinct text: a catalog's schedules repeat a few
    hundred arrays (the same hour, the same weekdays) thousands of times."""
    found = _normalise(text, size, field)
    return found[0], tuple(found[1])


def _normalise(
    text: str | None, size: int, field: str
) -> tuple[tuple[bool, ...], list[Diagnostic]]:
    parsed = parse_bool_array(text)
    diags: list[Diagnostic] = []
    if parsed is None:
        diags.append(
            diagnostic(
                "CATALOG_ARRAY_UNREADABLE",
                Severity.ERROR,
                f"{field} is NULL or not a one-dimensional array ({text!r}); read as nothing selected",
            )
        )
        return (False,) * size, diags
    lower, values = parsed
    if lower == 1 and len(values) == size and None not in values:
        return cast("tuple[bool, ...]", tuple(values)), diags  # regular: subscript s = element s
    by_subscript = {lower + i: v for i, v in enumerate(values)}
    normal = tuple(bool(by_subscript.get(s)) for s in range(1, size + 1))
    if lower != 1 or len(values) != size:
        diags.append(
            diagnostic(
                "CATALOG_ARRAY_SHAPE",
                Severity.WARNING,
                f"{field} has subscripts {lower}..{lower + len(values) - 1}, expected 1..{size}; "
                "read by subscript as pgAgent does (out-of-range elements ignored, missing = false)",
            )
        )
    if None in values:
        diags.append(
            diagnostic(
                "CATALOG_ARRAY_NULLS",
                Severity.WARNING,
                f"{field} contains NULL elements; read as false (pgAgent's own 'any' test is "
                "defeated by NULLs, so the running agent may not fire this field as a wildcard)",
            )
        )
    return normal, diags


def as_utc(value: dt.datetime | None) -> dt.datetime | None:
    return value.astimezone(UTC) if value is not None else None


def bound(
    value: dt.datetime | None, beyond: bool | None, positive: bool | None
) -> dt.datetime | None:
    if beyond:  # infinite, or outside the years Python can hold
        return (
            dt.datetime.max.replace(tzinfo=UTC) if positive else dt.datetime.min.replace(tzinfo=UTC)
        )
    return as_utc(value)


def fingerprint(prosrc: str | None) -> str:
    """Which ``pga_next_schedule`` body is installed: pgagent.sql's function differs between
    releases (4.2 compares ``date_part('MINUTE', runafter)``, 4.1 reads the year, up to 4.0
    ``pga_is_leap_year`` is fed the day)."""
    if not prosrc:
        return "unknown"
    if "date_part(''MINUTE'', runafter)" in prosrc or "date_part('MINUTE', runafter)" in prosrc:
        return "4.2"
    if (
        "pga_is_leap_year(date_part(''DAY''" in prosrc
        or "pga_is_leap_year(date_part('DAY'" in prosrc
    ):
        return "<=4.0"
    if "'YEAR', runafter" in prosrc or "''YEAR'', runafter" in prosrc:
        return "4.1"
    return "unknown"


def read_schema_version(
    version_src: str | None, extversion: str | None, diags: list[Diagnostic]
) -> int | None:
    """pgAgent's schema version, read from the body of ``pgagent_schema_version()``.

    The function is not called: reading must not run code that lives in the catalog it reads.
    """
    match = _RETURNS.search(version_src or "")
    if match:
        version: int | None = int(match.group(1))
    elif extversion:
        version = int(extversion.split(".")[0])
        diags.append(
            diagnostic(
                "CATALOG_VERSION_UNREADABLE",
                Severity.INFO,
                "pgagent_schema_version() has an unexpected body; version taken from the "
                f"extension ({extversion})",
            )
        )
    else:
        version = None
    if version is None:
        diags.append(
            diagnostic(
                "CATALOG_VERSION_UNSUPPORTED",
                Severity.WARNING,
                "pgagent_schema_version() is missing (pgAgent before 3.0); read as 3.x",
            )
        )
    elif version not in (3, 4):
        diags.append(
            diagnostic(
                "CATALOG_VERSION_UNSUPPORTED",
                Severity.WARNING,
                f"pgAgent schema version {version} is outside 3..4; read as 4.x",
            )
        )
    return version


def step_from_row(row: Sequence[Any]) -> Step:
    jstid, jobid, name, desc, enabled, kind, code, connstr, dbname, onerror = row
    diags: list[Diagnostic] = []
    try:
        step_kind = StepKind(kind)
    except ValueError:
        step_kind = StepKind.UNKNOWN
        diags.append(
            diagnostic(
                "STEP_KIND_UNKNOWN",
                Severity.ERROR,
                f"step kind {kind!r} is neither 's' (SQL) nor 'b' (batch); pgAgent stops the job here",
            )
        )
    try:
        policy = OnError(onerror)
    except ValueError:
        policy = OnError.UNKNOWN
        diags.append(
            diagnostic(
                "STEP_ONERROR_UNKNOWN", Severity.WARNING, f"on-error policy {onerror!r} is unknown"
            )
        )
    code = code or ""
    if not code.strip():
        diags.append(
            diagnostic(
                "STEP_EMPTY_CODE",
                Severity.WARNING,
                "the step has no code; pgAgent runs it as an empty query, which fails",
            )
        )
    connstr = connstr or ""
    had_password = bool(connstr) and conninfo.has_password(connstr)
    if had_password:
        diags.append(
            diagnostic(
                "STEP_CONNSTR_PASSWORD",
                Severity.WARNING,
                "the step's connection string holds a password; pgbridge masked it and never "
                "stores or prints it (pg_cron keeps no credentials: use ~/.pgpass)",
            )
        )
    if connstr:
        try:
            conninfo.parse(connstr)
        except ValueError as exc:
            diags.append(
                diagnostic(
                    "STEP_CONNSTR_MALFORMED", Severity.ERROR, f"connection string unparsable: {exc}"
                )
            )
    return Step(
        id=jstid,
        job_id=jobid,
        name=name,
        description=desc or "",
        enabled=bool(enabled),
        kind=step_kind,
        code=code,
        connstr=conninfo.redact(connstr),
        dbname=dbname or "",
        on_error=policy,
        connstr_had_password=had_password,
        diagnostics=tuple(diags),
    )


def schedule_from_row(row: Sequence[Any], exceptions: tuple[ScheduleException, ...]) -> Schedule:
    (jscid, jobid, name, desc, enabled, start, start_inf, start_pos, end, end_inf, end_pos,
     *arrays) = row  # fmt: skip
    diags: list[Diagnostic] = []
    normal: list[tuple[bool, ...]] = []
    for text, size, field in zip(
        arrays,
        (MINUTES, HOURS, WEEKDAYS, MONTHDAYS, MONTHS),
        ("jscminutes", "jschours", "jscweekdays", "jscmonthdays", "jscmonths"),
        strict=True,
    ):
        values, found = normalise_array(text, size, field)
        normal.append(values)
        diags += found
    start_at = bound(start, start_inf, start_pos)
    if start_at is None:
        diags.append(
            diagnostic(
                "CATALOG_NULL_START",
                Severity.ERROR,
                "jscstart is NULL: pgAgent computes no next run for this schedule, so it never fires",
            )
        )
    end_at = bound(end, end_inf, end_pos)
    if end_at is not None and end_at == dt.datetime.max.replace(tzinfo=UTC):
        end_at = None  # 'infinity' end = no end
    return Schedule(
        id=jscid,
        job_id=jobid,
        name=name,
        description=desc or "",
        enabled=bool(enabled),
        start=start_at,
        end=end_at,
        minutes=normal[0],
        hours=normal[1],
        weekdays=normal[2],
        monthdays=normal[3],
        months=normal[4],
        exceptions=exceptions,
        diagnostics=tuple(diags),
    )
