"""Fixtures live in plugin modules (psycopg's layout); see ``tests/fix_db.py`` for the server.

Property tests explore fresh random examples on every developer run; under CI (``CI`` set) they
are derandomized, so a landing is judged on the same examples every time, and a failure found
locally is kept in hypothesis' example database to be fixed, not left to chance.
"""

import os

from hypothesis import settings

pytest_plugins = ["tests.fix_db"]

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
