"""PLAN (pure): the exact pg_cron jobs a pgAgent catalog becomes, and every way they differ.

A :class:`~bridge.model.Catalog` and a :class:`~bridge.planner.target.Target` in, a
:class:`~bridge.planner.types.Plan` out (``build.make_plan``); no I/O, no
printing. Each pgAgent job gets a status (``exact``, ``changed``, ``manual``, ``skipped``), the
pg_cron jobs to create, and findings (stable code, severity, the job/step/schedule concerned, a
message and a remedy). Step SQL is analysed but never rewritten: a single step is carried byte for
byte; several steps are wrapped, visibly, in one ``DO`` block that commits after each step and
applies each step's on-error policy, and that wrapping is itself reported.

Modules: ``target`` (the pg_cron a plan is for), ``steps`` (steps -> commands), ``wrapper`` (the
DO block), ``sqltext`` (step SQL analysis), ``expressions`` (schedules -> cron expressions), ``jobs``
(one job -> its plan), ``build`` (the whole plan), ``calls`` (the pg_cron API calls it becomes),
``types`` and ``work``.
"""
