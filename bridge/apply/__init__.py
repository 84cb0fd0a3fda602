"""APPLY (I/O): carry a plan out, verify it, switch it on, roll it back.

``session`` (the run's connections, named ``pgagent`` and ``pgcron``, and the migration lock),
``preflight`` (every privilege, before any write), ``reconcile`` (pg_cron made to hold the plan),
``switch`` (both commits inside one quiet minute), ``verify``, ``ledger`` (all SQL on schema
``pgbridge``), ``pgcron_jobs`` (the ``cron.job`` rows a run works on), ``jobstate`` (every write to
``pgagent.pga_job``), ``selection`` (``--job`` / ``--exclude``) and ``results``. The commands that
put these together are in :mod:`bridge.api`.
"""
