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
        if self.first == self.last:
            return str(self.first)
        if star and self.first == lo and self.last + self.step > hi:
            return "*" if self.step == 1 else f"*/{self.step}"
        if self.step == 1:
            return f"{self.first}-{self.last}"
        return f"{self.first}-{self.last}/{self.step}"


def _digits(value: int) -> int:
    return len(str(value))


@lru_cache(maxsize=8192)
def _runs(values: tuple[int, ...]) -> tuple[Run, ...]:
    n = len(values)
    # cost[i] = (elements, characters) of the best cover of values[i:]; pick[i] = (stop, step)
    # of its first segment, where step 0 means "plain values"
    cost: list[tuple[int, int]] = [(0, 0)] * (n + 1)
    pick: list[tuple[int, int]] = [(n, 0)] * (n + 1)
    width = [_digits(v) + 1 for v in values]
    for i in range(n - 1, -1, -1):
        best = (len(values) + 1, 0)
        step = 0
        plain = 0
        for j in range(i, n):
            plain += width[j]
            if j == i + 1:
                step = values[j] - values[i]
            elif j > i + 1 and values[j] - values[j - 1] != step:
                break
            rest = cost[j + 1]
            if j == i or (step > 1 and j - i < 3):
                # "1,3,5" reads better than "1-5/2": steps only from four values on
                candidate, choice = (j - i + 1 + rest[0], plain + rest[1]), (j + 1, 0)
            else:
                chars = width[i] + width[j] + (_digits(step) + 1 if step > 1 else 0)
                candidate, choice = (1 + rest[0], chars + rest[1]), (j + 1, step)
            if candidate < best:
                best, pick[i] = candidate, choice
        cost[i] = best
    out: list[Run] = []
    i = 0
    while i < n:
        stop, step = pick[i]
        if step:
            out.append(Run(values[i], values[stop - 1], step))
        else:
            out.extend(Run(v, v) for v in values[i:stop])
        i = stop
    return tuple(out)


def runs(values: Sequence[int]) -> list[Run]:
    """Fewest runs covering the ascending ``values`` exactly (ties: shortest text).

    A stepped run of fewer than four values is written as plain values (one element each).
    """
    return list(_runs(tuple(values)))


@lru_cache(maxsize=8192)
def cron_field(mask: int, lo: int, hi: int, *, star: bool = True) -> str:
    """A cron field for the values in ``mask`` (must be non-empty).

    With ``star`` false no element starts with ``*``: in the day-of-month and day-of-week fields a
    leading ``*`` switches pg_cron's day rule from OR to AND.
    """
    mask &= span(lo, hi)
    if not mask:
        raise ValueError("empty field")
    return ",".join(run.cron(lo, hi, star=star) for run in runs(values_of(mask)))
