"""Compress a set of field values into runs (``a``, ``a-b``, ``a-b/s``, ``*/s``).

One piece of code serves both the cron fields the translator emits and the plain-words
descriptions, so a schedule reads the same way in both.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from bridge.schedule.masks import span, values_of


@dataclass(frozen=True)
class Run:
    """An arithmetic run of values: ``first``, ``first + step``, ... up to ``last``."""

    first: int
    last: int
    step: int = 1

    @property
    def values(self) -> range:
        return range(self.first, self.last + 1, self.step)

    def cron(self, lo: int, hi: int, *, star: bool) -> str:
        """The run as one cron list element (``star`` allows ``*`` and ``*/s`` forms)."""
        return _element(self.first, self.last, self.step, lo, hi, star)


def _element(first: int, last: int, step: int, lo: int, hi: int, star: bool) -> str:
    if first == last:
        return str(first)
    if star and first == lo and last + step > hi:
        return "*" if step == 1 else f"*/{step}"
    if step == 1:
        return f"{first}-{last}"
    return f"{first}-{last}/{step}"


def _digits(value: int) -> int:
    return len(str(value))


@lru_cache(maxsize=8192)
def _cover(values: tuple[int, ...]) -> tuple[tuple[int, int, int], ...]:
    """The runs of :func:`runs` as ``(first, last, step)``: a cron field is written from these
    without making a :class:`Run` per value (most of a random minute field's cost)."""
    n = len(values)
    # best cover of values[i:]: elems[i] elements, chars[i] characters (compared in that order);
    # its first segment ends before stops[i], a run of step steps[i] (0 means plain values)
    elems, chars = [0] * (n + 1), [0] * (n + 1)
    stops, steps = [n] * (n + 1), [0] * (n + 1)
    width = [len(str(v)) + 1 for v in values]
    for i in range(n - 1, -1, -1):
        best_e, best_c, best_stop, best_step = 1 + elems[i + 1], width[i] + chars[i + 1], i + 1, 0
        if i + 1 < n:
            step = values[i + 1] - values[i]
            end = i + 2  # the run of this step from values[i] is values[i:end]
            while end < n and values[end] - values[end - 1] == step:
                end += 1
            # a stepped run of fewer than four values is written as plain values, which cost no
            # less than the plain value first (taken above): only longer runs can do better
            first = i + 1 if step == 1 else i + 3
            head = width[i] + (len(str(step)) + 1 if step > 1 else 0)
            for j in range(first, end):
                e, c = 1 + elems[j + 1], head + width[j] + chars[j + 1]
                if e < best_e or (e == best_e and c < best_c):
                    best_e, best_c, best_stop, best_step = e, c, j + 1, step
        elems[i], chars[i], stops[i], steps[i] = best_e, best_c, best_stop, best_step
    out: list[tuple[int, int, int]] = []
    i = 0
    while i < n:
        stop, step = stops[i], steps[i]
        if step:
            out.append((values[i], values[stop - 1], step))
        else:
            out.extend((v, v, 1) for v in values[i:stop])
        i = stop
    return tuple(out)


def cover(values: Sequence[int]) -> tuple[tuple[int, int, int], ...]:
    """:func:`runs` as ``(first, last, step)`` triples (no :class:`Run` made per run)."""
    return _cover(tuple(values))


def runs(values: Sequence[int]) -> list[Run]:
    """Fewest runs covering the ascending ``values`` exactly (ties: shortest text).

    A stepped run of fewer than four values is written as plain values (one element each).
    """
    return list(_runs(tuple(values)))


@lru_cache(maxsize=8192)
def _runs(values: tuple[int, ...]) -> tuple[Run, ...]:
    return tuple(Run(*run) for run in _cover(values))


@lru_cache(maxsize=8192)
def cron_field(mask: int, lo: int, hi: int, *, star: bool = True) -> str:
    """A cron field for the values in ``mask`` (must be non-empty).

    With ``star`` false no element starts with ``*``: in the day-of-month and day-of-week fields a
    leading ``*`` switches pg_cron's day rule from OR to AND.
    """
    mask &= span(lo, hi)
    if not mask:
        raise ValueError("empty field")
    return ",".join(_element(*run, lo, hi, star) for run in _cover(tuple(values_of(mask))))
