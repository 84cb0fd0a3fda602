"""pgAgent's rule: which ``pga_next_schedule`` body a catalog's fingerprint stands for."""

from __future__ import annotations

import pytest

from bridge.schedule import body_of


@pytest.mark.parametrize(
    ("fingerprint", "body"),
    [("4.2", "4.2"), ("4.1", "4.1"), ("<=4.0", "<=4.0"), ("unknown", "4.2"), ("", "4.2")],
)
def test_the_body_a_fingerprint_stands_for(fingerprint: str, body: str) -> None:
    """The planner, its guards and verify --runs all take the body from here: 4.1 and <=4.0
    as read (fingerprint in catalog/pgagent_rows.py), 4.2 for anything else."""
    assert body_of(fingerprint) == body
