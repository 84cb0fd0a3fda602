"""The functions a plan calls: the library's release AND the extension's SQL version (issue 16).

Pure: catalogs built in memory; tests/apply/test_extension_outdated.py proves it on a server.
"""

from __future__ import annotations

import pytest

from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.findings import Severity
from bridge.model import PgCronSide
from bridge.planner.build import make_plan
from bridge.planner.calls import set_active
from bridge.planner.target import target_findings, target_from
from bridge.planner.types import PlanOptions
from bridge.report.plan import plan_sql
from tests.factories import catalog_of


def side(low: str, below: str | None, extversion: str) -> PgCronSide:
    return PgCronSide(
        database="postgres",
        extension_version=extversion,
        loaded=True,
        binary_at_least=low,
        binary_below=below,
    )


@pytest.mark.parametrize(
    ("low", "below", "extversion", "alter_job", "severity", "update_to"),
    [
        ("1.4.2", "1.5.0", "1.4-1", True, None, None),
        ("1.4.2", "1.5.0", "1.4", True, Severity.WARNING, "1.4-1"),
        ("1.4.2", "1.5.0", "1.3", False, Severity.ERROR, "1.4-1"),
        ("1.4.0", "1.5.0", "1.2", False, Severity.ERROR, "1.4"),
        ("1.6.8", None, "1.5", True, Severity.WARNING, "1.6"),
        ("1.6.8", None, "1.6", True, None, None),
        ("1.6.8", None, "7.0-patched", True, None, None),  # no pg_cron version: not held against
    ],
)
def test_sql_version_limits_the_functions_and_is_reported(
    low: str,
    below: str | None,
    extversion: str,
    alter_job: bool,
    severity: Severity | None,
    update_to: str | None,
) -> None:
    read = side(low, below, extversion)
    target = target_from(read)
    assert target.cron_target().version.has_function("cron.alter_job")  # the library has it
    assert target.has_function("cron.alter_job") is alter_job
    assert target.has_function("cron.schedule_in_database") is alter_job
    assert target.outdated_sql() == update_to
    found = [f for f in target_findings(read, target) if f.code == "TARGET_EXTENSION_OUTDATED"]
    assert [f.severity for f in found] == ([severity] if severity else [])
    for f in found:
        assert f"SQL version {extversion}" in f.message and update_to in f.message
        assert f.remedy.startswith("ALTER EXTENSION pg_cron UPDATE in database 'postgres'")
        assert ("no cron.alter_job" in f.message) is (not alter_job)
    switch = set_active(7, False, target).sql
    assert switch.startswith("SELECT cron.alter_job") is alter_job
    assert switch.startswith("UPDATE cron.job SET active") is (not alter_job)


def test_a_declared_release_is_what_the_plan_is_for() -> None:
    """--target-pg-cron says what the server has: the read SQL version does not override it."""
    target = target_from(side("1.4.2", "1.5.0", "1.3"), release="1.6.8")
    assert target.extension_version is None and target.outdated_sql() is None
    assert target.has_function("cron.alter_job")
    older = target_from(side("1.4.2", "1.5.0", "1.4-1"), release="1.3.1")
    assert not older.has_function("cron.alter_job")  # the declared release limits as before


def test_the_script_creates_nothing_when_schedule_would_crash_the_library() -> None:
    job = JobSpec(
        "here",
        [StepSpec("a", "SELECT 1", dbname="postgres")],
        [ScheduleSpec("d", minutes=frozenset({30}), hours=frozenset({2}))],
    )
    for extversion, creates in (("1.3", False), ("1.4-1", True)):
        catalog = catalog_of(job, pgcron=side("1.4.2", "1.5.0", extversion))
        assert catalog.pgcron is not None
        plan = make_plan(catalog, target_from(catalog.pgcron), PlanOptions())
        script = plan_sql(plan)
        assert ("SELECT cron.schedule(" in script) is creates
        assert ("nothing is created" in script) is not creates


def test_an_unread_release_is_not_claimed_but_sql_before_1_4_stops_the_plan() -> None:
    """The cron.* settings hidden from the role: the release is only assumed (1.4.0). SQL 1.3
    may be a real 1.3 library or a 1.4+ one that its named cron.schedule crashes: an error that
    names the unread release and offers --target-pg-cron; SQL 1.4 or later: nothing to say."""
    for extversion, severity in (("1.3", Severity.ERROR), ("1.4", None), ("1.6", None)):
        read = side("unknown", None, extversion)
        target = target_from(read)
        found = [f for f in target_findings(read, target) if f.code == "TARGET_EXTENSION_OUTDATED"]
        assert [f.severity for f in found] == ([severity] if severity else [])
        for f in found:
            assert "could not be read" in f.message and "older than its library" not in f.message
            assert "--target-pg-cron 1.3.x" in f.remedy
    declared = target_from(side("unknown", None, "1.3"), release="1.3.1")
    assert not [f for f in target_findings(None, declared) if f.severity is Severity.ERROR]
