"""Fixtures live in plugin modules (psycopg's layout); see ``tests/fix_db.py`` for the server."""

pytest_plugins = ["tests.fix_db"]
