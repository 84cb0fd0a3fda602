"""What each pg_cron release accepts and gets wrong, loaded from ``bridge/data``.

Behaviour per release is data (``pg_cron_versions.json``) so the parser, the translator and the
reports read one table, and a new release is one entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

#: Names accepted for the untagged upstream head that introduced ``cron.match_dom_and_dow``.
_MAIN_ALIASES = ("main", "head")


def parse_release(text: str) -> tuple[int, int, int]:
    """``"1.4.2"`` -> (1, 4, 2); ``"1.4"`` and ``"1.4-1"`` (extversions) -> (1, 4, 0)."""
    if text.strip().lower() in _MAIN_ALIASES:
        return (1, 6, 8)
    core = text.strip().split("-")[0]
    if not re.fullmatch(r"[0-9]+(\.[0-9]+){0,2}", core):  # int() also takes "1_0", other digits
        raise ValueError(f"not a pg_cron version: {text!r}")
    parts = [int(p) for p in core.split(".")]
    while len(parts) < 3:
        parts.append(0)
    return (parts[0], parts[1], parts[2])


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
        return ".".join(map(str, self.release))

    def __str__(self) -> str:
        return self.name


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[tuple[int, int, int], dict[str, object]], ...]:
    text = resources.files("bridge").joinpath("data/pg_cron_versions.json").read_text("utf-8")
    rows = json.loads(text)["releases"]
    return tuple(sorted((parse_release(str(r["release"])), r) for r in rows))


@lru_cache(maxsize=64)
def cron_version(release: str | tuple[int, int, int]) -> CronVersion:
    """The behaviour of ``release`` ("1.4.2", "1.6", "1.4-1", "main").

    A version without a patch level means its first patch release, the most hazardous reading:
    "1.6" behaves as 1.6.0 (day-early bug). Say "1.6.7" when the patch level is known.
    """
    key = release if isinstance(release, tuple) else parse_release(release)
    if key < (1, 0, 0) or key > (1, 6, 8):
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
