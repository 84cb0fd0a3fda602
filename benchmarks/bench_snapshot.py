"""Measurement: the peak memory of reading a snapshot file, as a multiple of its size, and the
CPU time of loading it.

Run: ``.venv/bin/python benchmarks/bench_snapshot.py [jobs] [--wide]`` (default 16,000 jobs,
about 100 MB). ``--wide`` puts one character beyond Latin-1 (a euro sign) in one job's name, so
Python holds the decoded text at two bytes a character.

The catalog is built in memory with the jobs of ``report_size.generated_specs`` and written with
``snapshot.save``; a fresh interpreter then loads it, and the growth of its peak resident set
(Linux: ``VmHWM`` after resetting it through ``/proc/self/clear_refs``, against ``VmRSS`` before)
is the figure, for the whole ``load`` and for reading the file alone (``snapshot.read_text``),
each with its CPU seconds (``time.process_time``).
"""

from __future__ import annotations

import dataclasses
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout

from benchmarks.report_size import generated_specs
from bridge.catalog import snapshot
from tests.factories import catalog_of

CHILD = """
import sys, time
from bridge.catalog import snapshot

def kib(field):
    for line in open("/proc/self/status"):
        if line.startswith(field):
            return int(line.split()[1])

before = kib("VmRSS:")
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")  # reset VmHWM to the current resident set
started = time.process_time()
got = getattr(snapshot, sys.argv[2])(sys.argv[1])
print(kib("VmHWM:") - before, time.process_time() - started)
"""


def measure(path: Path, what: str) -> tuple[float, float]:
    """(peak growth in MiB, CPU seconds) of ``snapshot.<what>(path)`` in a fresh interpreter."""
    out = subprocess.run(
        [sys.executable, "-c", CHILD, str(path), what],
        capture_output=True,
        text=True,
        check=True,
        cwd=Path(__file__).resolve().parent.parent,
    ).stdout.split()
    return int(out[0]) / 1024, float(out[1])


def main(jobs: int = 16_000, wide: bool = False) -> None:
    specs = generated_specs(jobs)
    if wide:
        specs[0] = dataclasses.replace(specs[0], name=specs[0].name + " \u20ac")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "catalog.json"
        snapshot.save(catalog_of(*specs), path)
        size = path.stat().st_size / 2**20
        print(f"snapshot of {jobs} jobs: {size:.1f} MiB")
        for what in ("read_text", "load"):
            grew, cpu = measure(path, what)
            print(
                f"{what}: peak RSS growth {grew:.0f} MiB = {grew / size:.2f}x the file, {cpu:.1f} s CPU"
            )


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if a != "--wide"]
    main(*(int(a) for a in args[:1]), wide="--wide" in sys.argv[1:])
