"""The migration plan: the exact pg_cron jobs a pgAgent catalog becomes, and every way they differ.

Pure: a :class:`~bridge.model.Catalog` and a :class:`Target` in, a :class:`Plan` out; no I/O, no
printing. Each pgAgent job gets a status (``exact``, ``changed``, ``manual``, ``skipped``), the
pg_cron jobs to create, and findings (stable code, severity, the job/step/schedule concerned, a
message and a remedy). Step SQL is analysed but never rewritten: a single step is carried byte for
byte; several steps are wrapped, visibly, in one ``DO`` block that commits after each step and
applies each step's on-error policy, and that wrapping is itself reported.
"""
