"""The package's layout keeps its promises: the pure core loads no database driver."""

from __future__ import annotations

import subprocess
import sys

import pytest

#: Modules that take values and return values: the schedule engine, planning, the export's
#: translation and every report. None of them may need psycopg (or a server) to import.
PURE = (
    "bridge",
    "bridge.schedule",
    "bridge.findings",
    "bridge.codes",
    "bridge.model",
    "bridge.planner.build",
    "bridge.planner.calls",
    "bridge.planner.guard",
    "bridge.planner.guarded",
    "bridge.schedule.guard",
    "bridge.exporter.translate",
    "bridge.report.plan",
    "bridge.report.inventory",
    "bridge.report.export",
    "bridge.report.migration",
    "bridge.planner.history",
    "bridge.report.history",
    "bridge.report.runs",
    "bridge.report.fleet",
)


@pytest.mark.parametrize("module", PURE)
def test_the_pure_core_loads_no_driver(module: str) -> None:
    probe = (
        f"import sys, {module}; print(sorted(m for m in sys.modules if m.startswith('psycopg')))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]", f"{module} loads {out.stdout.strip()}"


def test_the_driver_is_loaded_by_the_io_edges() -> None:
    """The probe can see a driver being loaded (so the test above is not vacuous)."""
    probe = "import sys, bridge.pg.connect; print('psycopg' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"


def test_the_public_api_is_reachable_from_the_package() -> None:
    probe = (
        "import bridge; "
        "print(all(callable(getattr(bridge, n)) for n in bridge.__all__ if n != '__version__'))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
