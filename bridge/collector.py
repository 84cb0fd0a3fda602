"""Bulk phases without Python's cyclic garbage collector.

Reading a catalog, planning it and loading a snapshot build hundreds of thousands of small objects
that live until the phase ends, and make no reference cycle. The collector starts every few
hundred new objects and walks the young ones again and again for nothing: a quarter of the time
of planning 10,000 jobs (``benchmarks/bench_plan.py``), a fifth of reading them. Reference counting still frees everything else at
once; the collector's setting is left as it was found, also on error, and what the phase made
is handed to the collector's oldest generation, where it would have ended up.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off (a no-op when the caller already turned it
    off, so the caller's choice is never undone)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        if not gc.get_freeze_count():
            # The objects made meanwhile join the oldest generation at once (freeze, then
            # unfreeze: two list splices). Otherwise the next allocation would walk all of them
            # in one young collection (a second for a 10,000-job plan) to promote them there.
            # Skipped when the caller froze objects: unfreeze would thaw theirs.
            gc.freeze()
            gc.unfreeze()
        gc.enable()
