"""pgbridge: move PostgreSQL scheduled jobs from pgAgent to pg_cron, and back."""

__version__ = "0.1.0"
