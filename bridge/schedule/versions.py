"""What each pg_cron release accepts and gets wrong, loaded from ``bridge/data``.

Behaviour per release is data (``pg_cron_versions.json``) so the parser, the translator and the
reports read one table, and a new release is one entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any

#: Names accepted for the upstream head: the newest release pgbridge knows.
_MAIN_ALIASES = ("main", "head")


def parse_release(text: str) -> tuple[int, int, int]:
    """``"1.4.2"`` -> (1, 4, 2); ``"1.4"`` and ``"1.4-1"`` (extversions) -> (1, 4, 0)."""
    if text.strip().lower() in _MAIN_ALIASES:
        return newest_release()
    core = text.strip().split("-")[0]
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", core):  # int() also takes "1_0", other digits
        raise ValueError(f"not a pg_cron version: {text!r}")
    parts = [int(p) for p in core.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return (parts[0], parts[1], parts[2])


def release_name(release: tuple[int, int, int]) -> str:
    return ".".join(map(str, release))


@dataclass(frozen=True)
class CronVersion:
    """Capabilities and hazards of one pg_cron release (binary)."""

    release: tuple[int, int, int]
    seconds_interval: bool
    interval_parsed_first: bool
    last_day: bool
    restart_macro: bool
    reversed_ranges_wrap: bool
    step_above_max_rejected: bool
    yearly_never_fires: bool
    timezone_setting: bool
    match_dom_and_dow_setting: bool
    date_fields_from_tomorrow: bool
    jobname_max_bytes: int | None
    hazards: tuple[str, ...]

    @property
    def name(self) -> str:
        return release_name(self.release)

    @property
    def newer_than_known(self) -> bool:
        """A release after the newest one in the data: planned with the newest behaviour."""
        return self.release > newest_release()

    def __str__(self) -> str:
        return self.name

    def has_function(self, name: str) -> bool:
        """Whether this release's SQL API has ``name`` ("cron.alter_job"): the release that
        brought each function is written once, in the data."""
        return self.release >= function_since(name)


@lru_cache(maxsize=1)
def _data() -> dict[str, Any]:
    text = resources.files("bridge").joinpath("data/pg_cron_versions.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[tuple[int, int, int], dict[str, object]], ...]:
    rows = _data()["releases"]
    return tuple(sorted((_plain_release(str(r["release"])), r) for r in rows))


def _plain_release(text: str) -> tuple[int, int, int]:
    parts = tuple(int(p) for p in text.split("."))
    assert len(parts) == 3, text
    return (parts[0], parts[1], parts[2])


def newest_release() -> tuple[int, int, int]:
    """The newest release the data describes."""
    return _table()[-1][0]


def behaviour_starts() -> tuple[tuple[int, int, int], ...]:
    """The first release of each behaviour entry, oldest first."""
    return tuple(start for start, _ in _table())


@dataclass(frozen=True)
class CronSetting:
    """A ``cron.*`` GUC the loaded library registers, and the first release that has it."""

    name: str
    since: tuple[int, int, int]
    capability: str


@lru_cache(maxsize=1)
def settings_table() -> tuple[CronSetting, ...]:
    return tuple(
        CronSetting(str(s["name"]), _plain_release(str(s["since"])), str(s["capability"]))
        for s in _data()["settings"]
    )


@cache
def function_since(name: str) -> tuple[int, int, int]:
    """The first release whose SQL API has the function ``name``."""
    for f in _data()["functions"]:
        if f["name"] == name:
            return _plain_release(str(f["since"]))
    raise KeyError(name)


def extversion_floor(extversion: str) -> tuple[int, int, int]:
    """The first binary release that ships the SQL script version ``extversion``."""
    known = _data()["extversions"]
    if extversion in known:
        return _plain_release(str(known[extversion]))
    return parse_release(extversion)


def function_names() -> tuple[str, ...]:
    """Every SQL function whose first release the data names (``cron.alter_job``, ...)."""
    return tuple(str(f["name"]) for f in _data()["functions"])


def sql_has_function(extversion: str, name: str) -> bool:
    """Whether the extension's SQL version ``extversion`` defines ``name``: a binary newer than
    its extension (``CREATE EXTENSION pg_cron VERSION '1.3'``, or never ``ALTER EXTENSION
    UPDATE``d) has only the functions its SQL scripts created. An extversion that is no pg_cron
    version (a patched build) is not held against it."""
    try:
        floor = extversion_floor(extversion)
    except ValueError:
        return True
    return floor >= function_since(name)


def newest_extversion(release: tuple[int, int, int]) -> str | None:
    """The newest SQL version the binary ``release`` ships (what ``ALTER EXTENSION pg_cron
    UPDATE`` reaches); None before the first one the data knows."""
    shipped = sorted((_plain_release(str(v)), str(k)) for k, v in _data()["extversions"].items())
    reached = [k for floor, k in shipped if floor <= release]
    return reached[-1] if reached else None


def extversion_floors() -> tuple[tuple[int, int, int], ...]:
    """The first binary release of every SQL script version, oldest first."""
    return tuple(sorted({_plain_release(str(v)) for v in _data()["extversions"].values()}))


@dataclass(frozen=True)
class Probe:
    """A schedule whose acceptance by ``cron.schedule`` tells releases apart."""

    schedule: str
    column: str
    negated: bool

    def accepted_by(self, version: CronVersion) -> bool:
        return bool(getattr(version, self.column)) != self.negated


@lru_cache(maxsize=1)
def probes() -> tuple[Probe, ...]:
    out = []
    for p in _data()["probes"]:
        column = str(p["accepted_when"])
        out.append(Probe(str(p["schedule"]), column.lstrip("!"), column.startswith("!")))
    return tuple(out)


@lru_cache(maxsize=64)
def cron_version(release: str | tuple[int, int, int]) -> CronVersion:
    """The behaviour of ``release`` ("1.4.2", "1.6", "1.4-1", "main").

    A version without a patch level means its first patch release, the most hazardous reading:
    "1.6" behaves as 1.6.0 (day-early bug). Say "1.6.7" when the patch level is known. A release
    newer than any in the data behaves as the newest known one (``newer_than_known`` says so).
    """
    key = release if isinstance(release, tuple) else parse_release(release)
    if key < (1, 0, 0):
        raise ValueError(f"unknown pg_cron release {release!r}")
    chosen: dict[str, object] | None = None
    for start, row in _table():
        if start <= key:
            chosen = row
    assert chosen is not None
    max_bytes = chosen["jobname_max_bytes"]
    hazards = chosen["hazards"]
    assert isinstance(hazards, list)
    return CronVersion(
        release=key,
        jobname_max_bytes=None if max_bytes is None else int(str(max_bytes)),
        hazards=tuple(str(h) for h in hazards),
        **{
            name: bool(chosen[name])
            for name in (
                "seconds_interval",
                "interval_parsed_first",
                "last_day",
                "restart_macro",
                "reversed_ranges_wrap",
                "step_above_max_rejected",
                "yearly_never_fires",
                "timezone_setting",
                "match_dom_and_dow_setting",
                "date_fields_from_tomorrow",
            )
        },
    )


def known_releases() -> tuple[CronVersion, ...]:
    """One version per behaviour change, oldest first."""
    return tuple(cron_version(start) for start, _ in _table())


@dataclass(frozen=True)
class CronTarget:
    """Where pg_cron expressions will run: the release, ``cron.timezone`` and the DOM/DOW switch."""

    version: CronVersion
    timezone: str = "GMT"
    match_dom_and_dow: bool = False

    @classmethod
    def of(
        cls, release: str, timezone: str = "GMT", *, match_dom_and_dow: bool = False
    ) -> CronTarget:
        return cls(cron_version(release), timezone, match_dom_and_dow)

    @property
    def zone(self) -> str:
        """The zone schedules are evaluated in: GMT before 1.5, ``cron.timezone`` after."""
        return self.timezone if self.version.timezone_setting else "GMT"

    @property
    def and_logic(self) -> bool:
        """True when the server ANDs day-of-month and day-of-week (the 1.6.8 switch is on)."""
        return self.match_dom_and_dow and self.version.match_dom_and_dow_setting
