"""pgbridge: move PostgreSQL scheduled jobs from pgAgent to pg_cron, and back.

The library API (what the ``pgbridge`` command calls, and what upgrade tooling imports)::

    import bridge

    catalog = bridge.inventory(pgagent="host=db1 dbname=pgagent")
    plan = bridge.plan(catalog, bridge.Target("1.6.7", "UTC", "postgres"))
    for job in plan.jobs:
        print(job.job_name, job.status, [c.schedule for c in job.cron_jobs])

The names are loaded on first use, so importing a pure part (``bridge.schedule``,
``bridge.planner``, the reports) loads no database driver.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from bridge._version import __version__

if TYPE_CHECKING:
    from bridge.api import (
        ExportResult,
        MigrationResult,
        Selection,
        Verification,
        activate,
        export,
        inventory,
        migrate,
        plan,
        rollback,
        verify,
    )
    from bridge.errors import BridgeError
    from bridge.planner.target import Target
    from bridge.planner.types import Plan, PlanOptions

#: Where the public names that are not commands of :mod:`bridge.api` live.
_HOME = {
    "BridgeError": "bridge.errors",
    "Target": "bridge.planner.target",
    "Plan": "bridge.planner.types",
    "PlanOptions": "bridge.planner.types",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module 'bridge' has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOME.get(name, "bridge.api")), name)
    globals()[name] = value
    return value


__all__ = [
    "BridgeError",
    "ExportResult",
    "MigrationResult",
    "Plan",
    "PlanOptions",
    "Selection",
    "Target",
    "Verification",
    "__version__",
    "activate",
    "export",
    "inventory",
    "migrate",
    "plan",
    "rollback",
    "verify",
]
