"""The one-time migration against real servers: apply, converge, cut over, verify, roll back."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from bridge.api import activate, export, migrate, rollback, verify
from bridge.apply.results import MigrationResult
from bridge.apply.selection import Selection
from bridge.apply.session import LOCK_KEY
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import ConnectionFailed, MigrationLocked, PrivilegeError
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from tests.catalogs import Conn, cron_name
from tests.fix_db import TestServer

fs = frozenset
TODAY = dt.date(2026, 11, 21)


@pytest.fixture
def catalog(db: Conn, db_name: str, ledger_gone: None) -> dict[str, int]:
    """Three migratable jobs and one manual one, steps running in the test's own database."""

    def step(name: str, code: str, **kw: Any) -> StepSpec:
        return StepSpec(name, code, dbname=db_name, **kw)

    ids = {
        "purge": create_job(
            db,
            JobSpec(
                "purge",
                [step("a", "DELETE FROM t WHERE false")],
                [ScheduleSpec("d", minutes=fs({30}), hours=fs({2}))],
            ),
        ),
        "etl": create_job(
            db,
            JobSpec(
                "etl",
                [step("a", "SELECT 1"), step("b", "SELECT 2", on_error="i")],
                [ScheduleSpec("h", minutes=fs({5}))],
            ),
        ),
        "off": create_job(
            db,
            JobSpec(
                "off", [step("a", "SELECT 3")], [ScheduleSpec("w", minutes=fs({0}))], enabled=False
            ),
        ),
        "shell": create_job(
            db,
            JobSpec(
                "shell", [StepSpec("a", "echo", kind="b")], [ScheduleSpec("s", minutes=fs({1}))]
            ),
        ),
    }
    db.execute("CREATE TABLE t (x int)")
    return ids


def pgagent_enabled(db: Conn) -> dict[int, bool]:
    return {
        int(r[0]): bool(r[1]) for r in db.execute("SELECT jobid, jobenabled FROM pgagent.pga_job")
    }


def cron_jobs(cron_db: Conn) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in cron_db.execute(
            "SELECT jobname, schedule, command, database, active FROM cron.job "
            "WHERE jobname LIKE 'pgagent-%' ORDER BY jobname"
        )
    ]


def expected_cron(result: MigrationResult) -> list[tuple[Any, ...]]:
    assert result.plan is not None
    return sorted(
        (c.name, c.schedule, c.command, c.database, c.active and j.enabled)
        for j in result.plan.jobs
        if j.job_id in result.selected
        for c in j.cron_jobs
    )


def test_dry_run_changes_nothing(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn, db: Conn
) -> None:
    before = pgagent_enabled(db)
    result = migrate(db_dsn, cron_dsn, today=TODAY)
    assert not result.applied and result.changes == ()
    assert set(result.selected) == {catalog["purge"], catalog["etl"], catalog["off"]}  # not shell
    assert cron_jobs(cron_db) == [] and pgagent_enabled(db) == before
    row = cron_db.execute("SELECT to_regnamespace('pgbridge')").fetchone()
    assert row is not None and row[0] is None  # not even the ledger


@pytest.mark.pgcron_matrix
def test_apply_reapply_change_rollback(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn, db: Conn
) -> None:
    first = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert first.verification is not None and first.verification.ok
    assert first.count("create") == 3 and first.count("disable-pgagent") == 2  # 'off' was off
    assert cron_jobs(cron_db) == expected_cron(first)
    assert [r[4] for r in cron_jobs(cron_db)] == [True, True, False]  # etl, off (inactive), purge
    enabled = pgagent_enabled(db)
    assert not enabled[catalog["purge"]] and not enabled[catalog["etl"]]
    assert enabled[catalog["shell"]]  # manual: untouched

    again = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert {c.action for c in again.changes} == {"unchanged"}
    assert cron_jobs(cron_db) == expected_cron(first)

    # The source changes: the pg_cron job is updated in place (same id), and a schedule appears.
    db.execute(
        "UPDATE pgagent.pga_jobstep SET jstcode = 'DELETE FROM t WHERE x < 0' WHERE jstjobid = %s",
        [catalog["purge"]],
    )
    ids_before = dict(cron_db.execute("SELECT jobname, jobid FROM cron.job").fetchall())
    changed = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    (update,) = [c for c in changed.changes if c.action == "update"]
    assert update.pgagent_job_id == catalog["purge"]
    ids_after = dict(cron_db.execute("SELECT jobname, jobid FROM cron.job").fetchall())
    assert ids_after[update.cron_job] == ids_before[update.cron_job]
    # the step's text verbatim: alone, or inside a guard where pgAgent's zone has DST (1.6 matrix)
    code = "DELETE FROM t WHERE x < 0"
    assert any(
        r[2] == code or (r[2].startswith("DO $pgbridge$\n-- pgbridge guard") and code in r[2])
        for r in cron_jobs(cron_db)
    )
    assert changed.verification is not None and changed.verification.ok

    # Rollback removes exactly pgbridge's jobs and restores pgAgent; twice is harmless.
    cron_db.execute("SELECT cron.schedule('someone-else', '0 0 * * *', 'SELECT 42')")
    back = rollback(db_dsn, cron_dsn)
    assert back.count("unschedule") == 3 and back.count("restore-pgagent") == 2
    assert cron_jobs(cron_db) == []
    assert cron_db.execute(
        "SELECT count(*) FROM cron.job WHERE jobname = 'someone-else'"
    ).fetchone() == (1,)
    assert pgagent_enabled(db) == {
        catalog["purge"]: True, catalog["etl"]: True, catalog["off"]: False, catalog["shell"]: True,
    }  # fmt: skip
    assert rollback(db_dsn, cron_dsn).changes == ()


@pytest.mark.pgcron_matrix
def test_cutover_then_activate(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn, db: Conn
) -> None:
    result = migrate(db_dsn, cron_dsn, apply=True, cutover=True, today=TODAY)
    assert [r[4] for r in cron_jobs(cron_db)] == [False, False, False]  # nothing runs twice
    assert pgagent_enabled(db)[catalog["purge"]]  # pgAgent still in charge
    assert result.verification is not None and result.verification.ok
    assert verify(db_dsn, cron_dsn, today=TODAY).ok
    switched = activate(db_dsn, cron_dsn)
    assert switched.count("activate") == 3 and switched.count("disable-pgagent") == 2
    assert [r[4] for r in cron_jobs(cron_db)] == [True, True, False]  # 'off' stays inactive
    assert not pgagent_enabled(db)[catalog["purge"]]
    assert verify(db_dsn, cron_dsn, today=TODAY).ok
    assert activate(db_dsn, cron_dsn).changes == ()  # nothing left to switch


def test_selection_and_manual_jobs(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    only = migrate(db_dsn, cron_dsn, apply=True, selection=Selection(jobs=("etl",)), today=TODAY)
    assert only.selected == (catalog["etl"],) and len(cron_jobs(cron_db)) == 1
    rest = migrate(
        db_dsn,
        cron_dsn,
        apply=True,
        selection=Selection(exclude=(str(catalog["off"]),)),
        today=TODAY,
    )
    assert set(rest.selected) == {catalog["purge"], catalog["etl"]}
    with pytest.raises(Exception, match="no pgAgent job with id or name 'nope'"):
        migrate(db_dsn, cron_dsn, selection=Selection(jobs=("nope",)))


def test_drift_is_reported_and_hand_edits_kept(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn, db: Conn
) -> None:
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    name = cron_name(db, catalog["purge"], "purge")
    cron_db.execute("UPDATE cron.job SET schedule = '45 2 * * *' WHERE jobname = %s", [name])
    db.execute("UPDATE pgagent.pga_job SET jobenabled = true WHERE jobid = %s", [catalog["etl"]])
    report = verify(db_dsn, cron_dsn, today=TODAY)
    assert not report.ok
    assert {f.code for f in report.findings} == {"VERIFY_SCHEDULE_DRIFT", "VERIFY_BOTH_ACTIVE"}
    # The remedy says what each choice does: a plain re-run keeps the edit, --force undoes it.
    (drift,) = [f for f in report.findings if f.code == "VERIFY_SCHEDULE_DRIFT"]
    assert "migrate keeps hand edits" in drift.remedy and "again with --force" in drift.remedy
    # A hand edit is not overwritten without --force; the re-run fixes the pgAgent side.
    rerun = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert [f.code for f in rerun.findings] == ["MIGRATE_HAND_EDITED"]
    assert not pgagent_enabled(db)[catalog["etl"]]
    forced = migrate(db_dsn, cron_dsn, apply=True, force=True, today=TODAY)
    assert forced.verification is not None and forced.verification.ok
    # An equivalent rewrite of a schedule is not drift: the fire times are the same.
    cron_db.execute("UPDATE cron.job SET schedule = '30 2 1-31 * *' WHERE jobname = %s", [name])
    assert {f.code for f in verify(db_dsn, cron_dsn, today=TODAY).findings} == set()


def test_name_taken_by_someone_else(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    name = cron_name(db, catalog["purge"], "purge")
    cron_db.execute("SELECT cron.schedule(%s, '1 1 * * *', 'SELECT 1')", [name])
    result = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert "MIGRATE_NAME_TAKEN" in {f.code for f in result.findings}
    row = cron_db.execute("SELECT command FROM cron.job WHERE jobname = %s", [name]).fetchone()
    assert row == ("SELECT 1",)
    # The job that could not be put in place stays with pgAgent; the others moved.
    enabled = pgagent_enabled(db)
    assert enabled[catalog["purge"]] and not enabled[catalog["etl"]]
    assert result.verification is not None and result.verification.ok


def test_manual_jobs_without_pg_cron_jobs_are_never_disabled(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str
) -> None:
    result = migrate(
        db_dsn, cron_dsn, apply=True, selection=Selection(include_manual=True), today=TODAY
    )
    assert catalog["shell"] not in result.selected  # nothing would run it
    assert pgagent_enabled(db)[catalog["shell"]]


def test_step_database_change_reaches_pg_cron(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    db.execute(
        "UPDATE pgagent.pga_jobstep SET jstdbname = 'postgres' WHERE jstjobid = %s",
        [catalog["purge"]],
    )
    report = verify(db_dsn, cron_dsn, today=TODAY)
    assert {f.code for f in report.findings} == {"VERIFY_SOURCE_CHANGED"}
    result = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert result.count("update") == 1 and result.findings == ()
    name = cron_name(db, catalog["purge"], "purge")
    row = cron_db.execute("SELECT database FROM cron.job WHERE jobname = %s", [name]).fetchone()
    assert row == ("postgres",)  # moved in place (the upsert alone does not before 1.6.3)
    assert verify(db_dsn, cron_dsn, today=TODAY).findings == ()


def test_verify_uses_the_options_of_the_migration(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    create_job(
        db,
        JobSpec(
            "split",
            [StepSpec("a", "SELECT 1", dbname=db_name), StepSpec("b", "VACUUM", dbname=db_name)],
            [ScheduleSpec("d", minutes=fs({7}))],
        ),
    )
    from bridge.planner.types import PlanOptions

    done = migrate(db_dsn, cron_dsn, apply=True, options=PlanOptions(split_steps=True), today=TODAY)
    assert done.count("create") == 2
    assert verify(db_dsn, cron_dsn, today=TODAY).findings == ()  # not re-planned without split
    # options this release cannot read: planned with the defaults (no split), and said so
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET context = jsonb_set(context, '{options}', "
        '\'{"split_steps": "maybe"}\')'
    )
    (changed,) = verify(db_dsn, cron_dsn, today=TODAY).findings
    assert changed.code == "VERIFY_SOURCE_CHANGED"
    assert "(planned with the default options: the ledger holds none" in changed.message


def test_rollback_and_activate_by_name(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    migrate(db_dsn, cron_dsn, apply=True, cutover=True, today=TODAY)
    on = activate(db_dsn, cron_dsn, selection=Selection(jobs=("etl",)))
    assert {c.pgagent_job_id for c in on.changes} == {catalog["etl"]}
    back = rollback(db_dsn, cron_dsn, selection=Selection(exclude=("etl",)))
    assert catalog["etl"] not in {c.pgagent_job_id for c in back.changes}
    assert {r[0] for r in cron_jobs(cron_db)} == {cron_name(db, catalog["etl"], "etl")}
    with pytest.raises(Exception, match="no pgAgent job with id or name 'nope'"):
        rollback(db_dsn, cron_dsn, selection=Selection(jobs=("nope",)))
    assert rollback(db_dsn, cron_dsn, selection=Selection(jobs=("etl",))).count("unschedule") == 1


def test_activate_finishes_after_a_crash(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    migrate(db_dsn, cron_dsn, apply=True, cutover=True, today=TODAY)
    with pytest.raises(Crash):
        activate(db_dsn, cron_dsn, on_phase=crash_at("target-committed"))
    assert pgagent_enabled(db)[catalog["purge"]]  # the source side did not commit
    report = verify(db_dsn, cron_dsn, today=TODAY)
    assert "VERIFY_BOTH_ACTIVE" in {f.code for f in report.findings}
    again = activate(db_dsn, cron_dsn)
    assert again.count("disable-pgagent") == 2
    assert verify(db_dsn, cron_dsn, today=TODAY).ok


def test_concurrent_migrations_are_serialised(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, pg_server: TestServer
) -> None:
    with pg_server.connect(pg_server.cron_database) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", [LOCK_KEY])
        with pytest.raises(MigrationLocked, match="another pgbridge run"):
            migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
        threading.Timer(
            1.0, lambda: holder.execute("SELECT pg_advisory_unlock(%s)", [LOCK_KEY])
        ).start()
        result = migrate(db_dsn, cron_dsn, apply=True, wait_lock=20, today=TODAY)
        assert result.count("create") == 3


def test_missing_privileges_write_nothing(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    cron_db.execute("DROP ROLE IF EXISTS pgbridge_weak")
    cron_db.execute("CREATE ROLE pgbridge_weak LOGIN")
    try:
        db.execute("GRANT USAGE ON SCHEMA pgagent TO pgbridge_weak")
        db.execute("GRANT SELECT ON ALL TABLES IN SCHEMA pgagent TO pgbridge_weak")
        cron_db.execute("GRANT USAGE ON SCHEMA cron TO pgbridge_weak")
        weak_src = db_dsn.replace("user=postgres", "user=pgbridge_weak")
        weak_dst = cron_dsn.replace("user=postgres", "user=pgbridge_weak")
        with pytest.raises(PrivilegeError) as info:
            migrate(weak_src, weak_dst, apply=True, today=TODAY)
        message = str(info.value)
        assert "cron.schedule_in_database" in message
        assert "UPDATE on pgagent.pga_job" in message
        assert "CREATE on database" in message
        assert cron_jobs(cron_db) == []
        row = cron_db.execute("SELECT to_regnamespace('pgbridge')").fetchone()
        assert row is not None and row[0] is None
    finally:
        db.execute("DROP OWNED BY pgbridge_weak")
        cron_db.execute("DROP OWNED BY pgbridge_weak")
        cron_db.execute("DROP ROLE pgbridge_weak")


PHASES = ["preflight", "target-committed", "source-committed"]


class Crash(Exception):
    pass


def crash_at(phase: str) -> Callable[[str], None]:
    def hook(name: str) -> None:
        if name == phase:
            raise Crash(phase)

    return hook


def assert_converged(
    db: Conn, cron_db: Conn, catalog: dict[str, int], db_dsn: str, cron_dsn: str
) -> None:
    final = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert final.verification is not None and final.verification.ok, final.verification
    assert cron_jobs(cron_db) == expected_cron(final)  # no duplicate, no lost job
    assert len(cron_jobs(cron_db)) == 3
    enabled = pgagent_enabled(db)
    assert not enabled[catalog["purge"]] and not enabled[catalog["etl"]]
    assert migrate(db_dsn, cron_dsn, apply=True, today=TODAY).count("create") == 0


@pytest.mark.parametrize("phase", PHASES)
def test_crash_at_each_phase_then_rerun_converges(
    phase: str, catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    with pytest.raises(Crash):
        migrate(db_dsn, cron_dsn, apply=True, on_phase=crash_at(phase), today=TODAY)
    assert_converged(db, cron_db, catalog, db_dsn, cron_dsn)


@pytest.mark.parametrize("phase", PHASES)
def test_connection_dropped_at_each_phase_then_rerun_converges(
    phase: str,
    catalog: dict[str, int],
    db: Conn,
    db_dsn: str,
    cron_dsn: str,
    cron_db: Conn,
    pg_server: TestServer,
) -> None:
    def drop(name: str) -> None:
        if name == phase:
            with pg_server.connect("postgres") as admin:
                admin.execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'pgbridge' AND pid <> pg_backend_pid()"
                )

    try:
        migrate(db_dsn, cron_dsn, apply=True, on_phase=drop, today=TODAY)
    except ConnectionFailed as exc:
        assert "run the same command again" in str(exc)
    assert_converged(db, cron_db, catalog, db_dsn, cron_dsn)


@pytest.mark.parametrize("phase", PHASES)
def test_process_killed_at_each_phase_then_rerun_converges(
    phase: str, catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    script = textwrap.dedent(
        f"""
        import os, datetime
        from bridge.api import migrate
        def die(name):
            if name == {phase!r}:
                os._exit(9)
        migrate({db_dsn!r}, {cron_dsn!r}, apply=True, on_phase=die,
                today=datetime.date(2026, 11, 21))
        """
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 9, proc.stderr
    assert_converged(db, cron_db, catalog, db_dsn, cron_dsn)


@pytest.mark.pgcron_matrix
def test_cli_migrate_verify_rollback(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, check=False,
            stdin=subprocess.DEVNULL,
        )  # fmt: skip

    dry = run("migrate", "--pgagent", db_dsn, "--pgcron", cron_dsn)
    assert dry.returncode == 0, dry.stderr
    assert (
        "Dry run: nothing changed. migrate --apply would create or update 3 pg_cron jobs"
        in dry.stdout
    )
    # the review before --apply names the pg_cron jobs it would write, exact jobs too (issue 15)
    assert re.search(r"\[EXACT\] job \d+: purge\n.*\n  -> pgagent-[\w-]+-purge: .30 2 ", dry.stdout)
    assert "exact jobs (-v" not in dry.stdout
    done = run("migrate", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--apply")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "3 pg_cron jobs created" in done.stdout
        and "verify: 3 pg_cron jobs checked, all match" in done.stdout
    )
    assert run("verify", "--pgagent", db_dsn, "--pgcron", cron_dsn).returncode == 0
    cron_db.execute("DELETE FROM cron.job WHERE jobname LIKE 'pgagent-%-purge'")
    drift = run("verify", "--pgagent", db_dsn, "--pgcron", cron_dsn)
    assert drift.returncode == 1 and "VERIFY_CRON_JOB_MISSING" in drift.stdout
    back = run("rollback", "--pgagent", db_dsn, "--pgcron", cron_dsn)
    assert back.returncode == 0, back.stderr
    assert cron_jobs(cron_db) == []


@pytest.mark.slow
def test_migrated_job_really_runs_under_pg_cron(
    db: Conn, db_dsn: str, db_name: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    db.execute("CREATE TABLE ticks (at timestamptz NOT NULL DEFAULT now())")
    job = create_job(
        db,
        JobSpec(
            "tick",
            [StepSpec("a", "INSERT INTO ticks DEFAULT VALUES", dbname=db_name)],
            [ScheduleSpec("every minute")],  # all-empty minutes... but hours set below
        ),
    )
    db.execute(
        "UPDATE pgagent.pga_schedule SET jscminutes = array_fill(true, ARRAY[60]) WHERE jscjobid = %s",
        [job],
    )
    result = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    (cron,) = [c for j in result.plan.jobs for c in j.cron_jobs]  # type: ignore[union-attr]
    assert cron.schedule == "* * * * *"
    deadline = time.monotonic() + 150
    status = None
    while time.monotonic() < deadline:
        row = cron_db.execute(
            "SELECT d.status, d.return_message FROM cron.job_run_details d JOIN cron.job j "
            "USING (jobid) WHERE j.jobname = %s ORDER BY d.runid DESC LIMIT 1",
            [cron.name],
        ).fetchone()
        if row is not None and row[0] in ("succeeded", "failed"):
            status = row
            break
        time.sleep(2)
    assert status is not None, "pg_cron did not run the job within 150 s"
    assert status[0] == "succeeded", status
    count = db.execute("SELECT count(*) FROM ticks").fetchone()
    assert count is not None and count[0] >= 1


def test_missing_step_database_is_manual_and_apply_errors_name_the_job(
    catalog: dict[str, int], db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    from bridge.errors import QueryFailed
    from bridge.planner.types import PlanOptions

    ghost = create_job(
        db,
        JobSpec(
            "ghost db",
            [StepSpec("a", "SELECT 1", dbname="no_such_db")],
            [ScheduleSpec("d", minutes=fs({1}), hours=fs({1}))],
        ),
    )
    dry = migrate(db_dsn, cron_dsn, today=TODAY)
    assert dry.plan is not None
    (job,) = [j for j in dry.plan.jobs if j.job_id == ghost]
    assert job.status == "manual" and "STEP_DATABASE_MISSING" in {f.code for f in job.findings}
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)  # the manual job is left alone
    assert pgagent_enabled(db)[ghost]
    # an error the server raises while applying names the job it hit
    with pytest.raises(QueryFailed, match=rf"pgAgent job {ghost} \('ghost db'\): database"):
        migrate(
            db_dsn,
            cron_dsn,
            apply=True,
            selection=Selection(jobs=(str(ghost),), include_manual=True),
            today=TODAY,
        )
    with pytest.raises(QueryFailed, match=rf"pgAgent job {catalog['purge']} \('purge'\): role"):
        migrate(
            db_dsn,
            cron_dsn,
            apply=True,
            options=PlanOptions(run_as="no_such_role"),
            selection=Selection(jobs=("purge",)),
            today=TODAY,
        )
    assert pgagent_enabled(db)[ghost]  # nothing of a failed run was kept


def test_a_tracker_sees_each_phase_of_a_migration_verify_and_rollback(
    catalog: dict[str, int], db_dsn: str, cron_dsn: str, cron_db: Conn
) -> None:
    """Progress (issue 15): reading, planning, applying and verifying (and the run log of
    verify --runs, and export), each started, advanced and finished in order; the live read is
    one phase (a constant number of queries)."""
    from tests.test_progress import Recorder

    jobs = len(catalog)  # every pgAgent job is planned; the three selected ones are verified
    recorder = Recorder()
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY, tracker=recorder)
    assert recorder.phases() == [
        ("reading catalog", 0),
        ("planning", jobs),
        ("applying", 6),
        ("verifying", 3),
    ]
    recorder = Recorder()
    assert verify(db_dsn, cron_dsn, today=TODAY, tracker=recorder).ok
    assert recorder.phases() == [("reading catalog", 0), ("verifying", 3), ("planning", jobs)]
    recorder = Recorder()
    verify(db_dsn, cron_dsn, today=TODAY, runs=True, tracker=recorder)
    assert recorder.phases() == [
        ("reading catalog", 0),
        ("verifying", 3),
        ("planning", jobs),
        ("reading pgAgent's run log", 0),
        ("checking runs", 3),
    ]
    # export: read only, then into the same catalog (the originals are there: nothing written)
    (rows,) = cron_db.execute("SELECT count(*) FROM cron.job").fetchone() or (0,)
    ledgered = [j for j in export(cron_dsn).plan.jobs if j.origin == "ledger"]
    ours = tuple(str(i) for j in ledgered for i in j.cron_jobs)
    assert len(ledgered) == 3
    for apply in (False, True):
        recorder = Recorder()
        done = export(cron_dsn, pgagent=db_dsn, select=ours, apply=apply, tracker=recorder)
        assert recorder.phases() == [
            ("reading catalog", 0),
            ("reading pgAgent's time zone", 0),
            ("translating", rows),
            *([("exporting", len(done.plan.jobs))] if apply else []),
        ]
    assert done.applied and not done.created
    recorder = Recorder()
    rollback(db_dsn, cron_dsn, tracker=recorder)
    assert recorder.phases() == [("applying", 1)]  # one batch: the three unschedule calls
