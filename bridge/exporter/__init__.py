"""EXPORT: pg_cron jobs back to pgAgent jobs.

``translate`` (pure: each pg_cron job as pgAgent schedules, or its original from the ledger),
``pgagent_sql`` (the SQL pgAdmin 4 sends to create a job) and ``writer`` (reads pg_cron and the
ledger, writes the jobs into a pgAgent catalog with ``--apply``).
"""
