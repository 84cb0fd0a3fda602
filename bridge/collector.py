"""Bulk phases without Python's cyclic garbage collector.

Reading a catalog, planning it and loading a snapshot build hundreds of thousands of small objects
that live until the phase ends, and make no reference cycle. The collector starts every few
hundred new objects and walks the young ones again and again for nothing: a quarter of the time
of planning 10,000 jobs (``benchmarks/bench_plan.py``), a fifth of reading them. Reference counting
still frees everything else at once; what the phase made is handed to the collector's oldest
generation when it ends, where it would have ended up.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator

_lock = threading.Lock()
#: Phases running now (threads of a fleet plan several catalogs at once), and whether the
#: collector was on when the first of them began.
_running = 0
_was_on = False


@contextlib.contextmanager
def paused() -> Iterator[None]:
    """Run the block with the cyclic collector off. Phases may nest or run in several threads:
    the first to begin turns the collector off, the last to end restores it as the first found
    it (a caller who had turned it off keeps it off), also on error."""
    global _running, _was_on
    entered = False
    try:
        with _lock:
            if not _running:
                _was_on = gc.isenabled()
                gc.disable()
            _running += 1
            entered = True
        yield
    finally:
        if entered:
            with _lock:
                _running -= 1
                if not _running and _was_on:
                    if not gc.get_freeze_count():
                        # what the phases made joins the oldest generation at once (freeze,
                        # then unfreeze: two list splices) instead of being walked by the next
                        # young collection (a second for a 10,000-job plan); skipped when the
                        # caller froze objects, which unfreeze would thaw
                        gc.freeze()
                        gc.unfreeze()
                    gc.enable()
