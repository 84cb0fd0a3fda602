"""pg_cron job names: deterministic, unique per (job, schedule, part), readable, <= 63 bytes."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.naming import MAX_BYTES, job_name, slug


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1, "Nightly purge of old audit rows"), {}, "pgagent-1-nightly-purge-of-old-audit-rows"),
        ((7, "ETL: load (v2)!"), {"schedule_id": 12}, "pgagent-7-etl-load-v2-s12"),
        ((7, "ETL"), {"schedule_id": 12, "part": 2}, "pgagent-7-etl-s12-2"),
        ((3, "Größe prüfen"), {}, "pgagent-3-größe-prüfen"),
        ((4, "!!!"), {}, "pgagent-4"),
        ((5, "x" * 100), {}, "pgagent-5-" + "x" * 53),
        ((5, "x" * 100), {"schedule_id": 99}, "pgagent-5-" + "x" * 49 + "-s99"),
    ],
)
def test_names(args: tuple[int, str], kwargs: dict[str, int], expected: str) -> None:
    assert job_name(*args, **kwargs) == expected


def test_slug() -> None:
    assert (
        slug("  Weekly VACUUM FULL -- public.audit_log ") == "weekly-vacuum-full-public-audit-log"
    )


@given(
    st.integers(1, 2**31 - 1),
    st.text(max_size=200),
    st.one_of(st.none(), st.integers(1, 2**31 - 1)),
    st.one_of(st.none(), st.integers(1, 99)),
)
def test_always_within_limit_and_unique_prefix(
    job_id: int, name: str, schedule_id: int | None, part: int | None
) -> None:
    got = job_name(job_id, name, schedule_id=schedule_id, part=part)
    assert len(got.encode()) <= MAX_BYTES
    assert got.startswith(f"pgagent-{job_id}")
    assert got == job_name(job_id, name, schedule_id=schedule_id, part=part)  # deterministic
    suffix = (f"-s{schedule_id}" if schedule_id else "") + (f"-{part}" if part else "")
    assert got.endswith(suffix)
    assert "\n" not in got and "'" not in got
