"""Progress of long phases: what the library reports, and the no-op it reports to by default.

Reading a 226 MB snapshot took 78 s with no output (issue 15). The phases that dominate a run
(reading a catalog or a snapshot, planning, applying, verifying, a fleet's servers) tell a
:class:`Progress` when they start, how far they got and when they finish; the library never
draws anything itself. The CLI passes a terminal one (:mod:`bridge.cli`); everyone else gets
:data:`SILENT`, which does nothing, so the loops cost one empty call per item.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Final, Protocol, TypeVar

T = TypeVar("T")


class Progress(Protocol):
    """Told about one phase at a time: ``start``, any number of ``advance``, ``finish``."""

    def start(self, phase: str, total: int | None = None, unit: str = "") -> None:
        """``phase`` begins; ``total`` items (of ``unit``) are to be done, or unknown (None)."""

    def advance(self, count: int = 1) -> None:
        """``count`` more items of the current phase are done."""

    def finish(self) -> None:
        """The current phase is over."""


class Silent:
    """The default: progress goes nowhere."""

    def start(self, phase: str, total: int | None = None, unit: str = "") -> None:
        pass

    def advance(self, count: int = 1) -> None:
        pass

    def finish(self) -> None:
        pass


SILENT: Final[Progress] = Silent()


@contextmanager
def phase(progress: Progress, name: str) -> Iterator[None]:
    """One phase of no count (a few queries, one parse), finished however it ends."""
    progress.start(name)
    try:
        yield
    finally:
        progress.finish()


def tracked(
    progress: Progress, phase: str, items: Iterable[T], total: int, unit: str = ""
) -> Iterator[T]:
    """``items`` as they are, the phase told of each one once it is done."""
    progress.start(phase, total, unit)
    try:
        for item in items:
            yield item
            progress.advance()
    finally:
        progress.finish()
