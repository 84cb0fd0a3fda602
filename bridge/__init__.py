"""pgbridge: move PostgreSQL scheduled jobs from pgAgent to pg_cron, and back.

The library API (what the ``pgbridge`` command calls, and what upgrade tooling imports)::

    import bridge

    catalog = bridge.inventory(pgagent="host=db1 dbname=pgagent")
    plan = bridge.plan(catalog, bridge.Target("1.6.7", "UTC", "postgres"))
    for job in plan.jobs:
        print(job.job_name, job.status, [c.schedule for c in job.cron_jobs])
"""

from bridge._version import __version__
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
from bridge.plan.target import Target
from bridge.plan.types import Plan, PlanOptions

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
