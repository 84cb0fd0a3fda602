"""Which pg_cron binary a server runs, as far as the evidence pins it, and which release to plan for.

The binary can be newer than the extension's SQL version, and several releases register the same
settings (1.6.0 to 1.6.7 look alike in ``pg_settings``), so a release is known as a range: settings
the loaded library registers give a floor (and, when visible, a ceiling: a missing GUC means an
older binary), the SQL version another floor, and schedules that ``cron.schedule`` accepts or
rejects (tried read-only) split ranges where parsers differ. Pure: the reader gathers, this decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from bridge.model import PgCronSide
from bridge.schedule.versions import (
    CronVersion,
    Probe,
    behaviour_starts,
    cron_version,
    extversion_floor,
    extversion_floors,
    release_name,
    settings_table,
)

Release = tuple[int, int, int]


@dataclass(frozen=True)
class Evidence:
    """The binary is at least ``low`` and older than ``below`` (None: no ceiling)."""

    low: Release
    below: Release | None
    facts: tuple[str, ...] = ()

    def classes(self) -> tuple[Release, ...]:
        """First releases of the behaviour entries this range overlaps, clipped to ``low``."""
        starts = behaviour_starts()
        out = []
        for i, start in enumerate(starts):
            end = starts[i + 1] if i + 1 < len(starts) else None
            if (end is None or end > self.low) and (self.below is None or start < self.below):
                out.append(max(start, self.low))
        return tuple(out)

    def needs(self, probe: Probe) -> bool:
        """True when the releases in range disagree on ``probe``."""
        return len({probe.accepted_by(cron_version(c)) for c in self.classes()}) > 1

    def narrowed(self, probe: Probe, accepted: bool) -> Evidence:
        """The range left once ``cron.schedule`` accepted (or rejected) ``probe.schedule``."""
        starts = behaviour_starts()
        kept = [c for c in self.classes() if probe.accepted_by(cron_version(c)) == accepted]
        if not kept:  # contradicts the data: keep what the settings said
            return self
        last = max(s for s in starts if s <= kept[-1])
        after = [s for s in starts if s > last]
        below = after[0] if after else None
        if self.below is not None and (below is None or self.below < below):
            below = self.below
        verb = "accepts" if accepted else "rejects"
        return Evidence(kept[0], below, (*self.facts, f"cron.schedule {verb} {probe.schedule!r}"))

    def describe(self) -> str:
        low = release_name(self.low)
        if self.below is None:
            return f"{low} or later"
        return f"at least {low} and older than {release_name(self.below)}"


def from_settings(names: Iterable[str], extversion: str | None) -> Evidence:
    """What visible ``cron.*`` settings and the extension's SQL version prove."""
    present = set(names)
    low: Release = (1, 0, 0)
    below: Release | None = None
    facts = []
    for setting in settings_table():
        if setting.name in present:
            low = max(low, setting.since)
        elif below is None or setting.since < below:
            below = setting.since
    facts.append(
        f"settings: {release_name(low)} or later"
        + (f", older than {release_name(below)}" if below else "")
    )
    floor = _floor(extversion)
    if floor is not None:
        facts.append(f"extension SQL version {extversion} (first shipped in {release_name(floor)})")
        if floor > low and (below is None or floor < below):
            low = floor
    elif extversion is not None:
        facts.append(f"extension SQL version {extversion!r} is no pg_cron version: no floor")
    return Evidence(low, below, tuple(facts))


def _floor(extversion: str | None) -> Release | None:
    """The first release shipping this SQL version; None when there is none or it is no pg_cron
    version (a snapshot or a patched server may report anything): then it gives no floor."""
    if extversion is None:
        return None
    try:
        return extversion_floor(extversion)
    except ValueError:
        return None


def _same(a: CronVersion, b: CronVersion) -> bool:
    return replace(a, release=(0, 0, 0)) == replace(b, release=(0, 0, 0))


@dataclass(frozen=True)
class Choice:
    """The release to plan for, and the releases in range that would behave differently."""

    release: str
    others: tuple[str, ...]
    evidence: Evidence


def choose(
    low: str, below: str | None, extversion: str | None, facts: Iterable[str] = ()
) -> Choice:
    """The most likely release in [low, below): the newest whose SQL version is the installed one
    (binaries are usually updated together with ``ALTER EXTENSION UPDATE``), else the newest."""
    top = cron_version(below).release if below else None
    ev = Evidence(cron_version(low).release, top, tuple(facts))
    classes = ev.classes() or (ev.low,)
    chosen = classes[-1]
    floor = _floor(extversion)
    if floor is not None:
        ceiling = min((f for f in extversion_floors() if f > floor), default=None)
        matching = [
            c for c in classes if (ceiling is None or c < ceiling) and _class_end(c) > floor
        ]
        if matching:
            chosen = matching[-1]
    planned = cron_version(chosen)
    others: list[Release] = []
    for c in classes:  # one name per distinct behaviour (1.6.0 and 1.6.1 share the day-early bug)
        seen = [planned, *(cron_version(o) for o in others)]
        if not any(_same(cron_version(c), v) for v in seen):
            others.append(c)
    return Choice(release_name(chosen), tuple(release_name(o) for o in others), ev)


def _class_end(start: Release) -> Release:
    return min((s for s in behaviour_starts() if s > start), default=(999, 0, 0))


def detected(side: PgCronSide) -> Choice | None:
    """The release to plan for from what was read of a server; None when its settings were hidden."""
    if side.binary_at_least in ("unknown", ""):
        return None
    return choose(
        side.binary_at_least, side.binary_below, side.extension_version, side.release_evidence
    )
