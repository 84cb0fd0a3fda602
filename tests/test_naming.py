"""pg_cron job names: deterministic, unique per (job, schedule, part), readable, <= 63 bytes."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.naming import MAX_BYTES, catalog_identity, catalog_tag, job_name, slug


@pytest.mark.parametrize(
    ("args", "kwargs", "expected"),
    [
        ((1, "Nightly purge"), {"catalog": "qwerty"}, "pgagent-qwerty-1-nightly-purge"),
        (
            (7, "ETL"),
            {"catalog": "qwerty", "schedule_id": 12, "part": 2},
            "pgagent-qwerty-7-etl-s12-2",
        ),
        (
            (5, "x" * 100),
            {"catalog": "qwerty", "schedule_id": 99},
            "pgagent-qwerty-5-" + "x" * 42 + "-s99",
        ),
        # without a catalog tag: the names pgbridge 0.1.0 gave (its ledgers are still read)
        ((1, "Nightly purge of old audit rows"), {}, "pgagent-1-nightly-purge-of-old-audit-rows"),
        ((7, "ETL: load (v2)!"), {"schedule_id": 12}, "pgagent-7-etl-load-v2-s12"),
        ((7, "ETL"), {"schedule_id": 12, "part": 2}, "pgagent-7-etl-s12-2"),
        ((3, "Größe prüfen"), {}, "pgagent-3-größe-prüfen"),
        ((4, "!!!"), {}, "pgagent-4"),
        ((5, "x" * 100), {}, "pgagent-5-" + "x" * 53),
        ((5, "x" * 100), {"schedule_id": 99}, "pgagent-5-" + "x" * 49 + "-s99"),
    ],
)
def test_names(args: tuple[int, str], kwargs: dict[str, Any], expected: str) -> None:
    assert job_name(*args, **{"catalog": "", **kwargs}) == expected


@pytest.mark.parametrize(
    ("system", "database", "identity"),
    [
        ("7714434732335578605", "postgres", "7714434732335578605/postgres"),
        (None, "pgagent", "pgagent"),
    ],
)
def test_catalog_identity_and_tag(system: str | None, database: str, identity: str) -> None:
    assert catalog_identity(system, database) == identity
    tag = catalog_tag(identity)
    assert len(tag) == 6 and tag.isalpha() and tag.islower() and tag == catalog_tag(identity)


def test_catalog_tags_tell_catalogs_apart() -> None:
    identities = [
        catalog_identity(str(7714434732335578605 + n), db)
        for n in range(200)
        for db in ("postgres", "pgagent", "app")
    ]
    assert len({catalog_tag(i) for i in identities}) == len(identities)


def test_slug() -> None:
    assert (
        slug("  Weekly VACUUM FULL -- public.audit_log ") == "weekly-vacuum-full-public-audit-log"
    )


@given(
    st.sampled_from(["", catalog_tag("1/postgres")]),
    st.integers(1, 2**31 - 1),
    st.text(max_size=200),
    st.one_of(st.none(), st.integers(1, 2**31 - 1)),
    st.one_of(st.none(), st.integers(1, 99)),
)
def test_always_within_limit_and_unique_prefix(
    tag: str, job_id: int, name: str, schedule_id: int | None, part: int | None
) -> None:
    got = job_name(job_id, name, catalog=tag, schedule_id=schedule_id, part=part)
    assert len(got.encode()) <= MAX_BYTES
    assert got.startswith(f"pgagent-{tag}-{job_id}" if tag else f"pgagent-{job_id}")
    again = job_name(job_id, name, catalog=tag, schedule_id=schedule_id, part=part)
    assert got == again  # deterministic
    suffix = (f"-s{schedule_id}" if schedule_id else "") + (f"-{part}" if part else "")
    assert got.endswith(suffix)
    assert "\n" not in got and "'" not in got
