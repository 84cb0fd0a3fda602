"""Several pgAgent catalogs, one pg_cron: nothing pgbridge creates, reads back or removes mixes
them up, on a real server (two databases with identical job ids), and 0.1.0 ledgers keep working."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from dataclasses import replace
from typing import Any

import psycopg
import pytest
from psycopg.types.json import Jsonb

import bridge
from bridge.api import activate, migrate, rollback, verify
from bridge.apply import ledger
from bridge.apply.selection import Selection
from bridge.catalog import snapshot
from bridge.catalog.load import read_catalog
from bridge.catalog.pgagent import read_pgagent
from bridge.devtools.pgagent_jobs import create_job
from bridge.errors import ForeignRow
from bridge.exporter.pgagent_sql import JobSpec, ScheduleSpec, StepSpec
from bridge.exporter.writer import export
from bridge.naming import catalog_identity, catalog_tag, content_hash, job_name, prefix
from bridge.planner.types import PlanOptions
from bridge.serialize import to_jsonable
from tests.catalogs import Conn
from tests.fix_db import NewCatalog, TestServer

fs = frozenset
TODAY = dt.date(2026, 11, 21)


def sample_jobs(conn: Conn, dbname: str) -> dict[str, int]:
    """The same three migratable jobs in every catalog (fresh catalogs: the same job ids)."""

    def step(code: str) -> StepSpec:
        return StepSpec("a", code, dbname=dbname)

    specs = [
        JobSpec(
            "purge", [step("SELECT 'purge'")], [ScheduleSpec("d", minutes=fs({30}), hours=fs({2}))]
        ),
        JobSpec("etl", [step("SELECT 'etl'")], [ScheduleSpec("h", minutes=fs({5}))], job_class=3),
        JobSpec("off", [step("SELECT 'off'")], [ScheduleSpec("w", minutes=fs({0}))], enabled=False),
    ]
    return {spec.name: create_job(conn, spec) for spec in specs}


def enabled(conn: Conn) -> dict[int, bool]:
    return {
        int(r[0]): bool(r[1]) for r in conn.execute("SELECT jobid, jobenabled FROM pgagent.pga_job")
    }


def tag_of(conn: Conn) -> str:
    row = conn.execute(
        "SELECT system_identifier::text, current_database() FROM pg_control_system()"
    ).fetchone()
    assert row is not None
    return catalog_tag(catalog_identity(row[0], row[1]))


def pgbridge_jobs(cron_db: Conn) -> set[str]:
    return {
        str(r[0])
        for r in cron_db.execute("SELECT jobname FROM cron.job WHERE jobname LIKE 'pgagent-%'")
    }


def test_two_catalogs_with_the_same_job_ids_share_one_pg_cron(
    pg_server: TestServer, new_catalog: NewCatalog, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    (a_name, a_dsn), (b_name, b_dsn), (_, c_dsn) = new_catalog(), new_catalog(), new_catalog()
    with pg_server.connect(a_name) as a, pg_server.connect(b_name) as b:
        ids = sample_jobs(a, a_name)
        assert sample_jobs(b, b_name) == ids  # identical job ids
        tag_a, tag_b = tag_of(a), tag_of(b)
        assert tag_a != tag_b

        first = migrate(a_dsn, cron_dsn, apply=True, today=TODAY)
        second = migrate(b_dsn, cron_dsn, apply=True, today=TODAY)
        for result in (first, second):
            assert result.findings == () and result.count("create") == 3
            assert result.verification is not None and result.verification.ok
        names = pgbridge_jobs(cron_db)
        assert len(names) == 6
        assert {n for n in names if n.startswith(prefix(tag_a))} == {
            job_name(i, n, catalog=tag_a) for n, i in ids.items()
        }
        assert not any(enabled(a)[ids[n]] or enabled(b)[ids[n]] for n in ("purge", "etl"))
        assert migrate(b_dsn, cron_dsn, apply=True, today=TODAY).count("unchanged") == 3

        # Exported together: every job of both catalogs comes back, none replaces another.
        both = export(cron_dsn, pgagent=c_dsn, apply=True)
        restored = [j for j in both.plan.jobs if j.origin == "ledger"]
        assert sorted(j.key for j in restored) == sorted(
            f"pgagent:{t}:{i}" for t in (tag_a, tag_b) for i in ids.values()
        )
        assert len(both.created) == 6 and both.replaced == ()
        # Into catalog A: A's originals are still there (no copy), B's jobs are written.
        into_a = export(cron_dsn, pgagent=a_dsn, apply=True)
        assert sorted(k for k, _ in into_a.created) == sorted(
            f"pgagent:{tag_b}:{i}" for i in ids.values()
        )
        assert [f.code for f in into_a.notes] == ["EXPORT_ORIGINAL_PRESENT"] * 3
        a.execute("DELETE FROM pgagent.pga_job WHERE jobid <> ALL(%s)", [list(ids.values())])

        # B rolls back alone: A's pg_cron jobs stay, A's pgAgent jobs stay disabled.
        back = rollback(b_dsn, cron_dsn)
        assert back.count("unschedule") == 3 and back.count("restore-pgagent") == 2
        assert all(n.startswith(prefix(tag_a)) for n in pgbridge_jobs(cron_db))
        assert len(pgbridge_jobs(cron_db)) == 3
        assert enabled(b) == {ids["purge"]: True, ids["etl"]: True, ids["off"]: False}
        assert enabled(a) == {ids["purge"]: False, ids["etl"]: False, ids["off"]: False}
        stays = verify(a_dsn, cron_dsn, today=TODAY)
        assert stays.checked == 3 and stays.findings == ()
        assert verify(b_dsn, cron_dsn, today=TODAY).checked == 0
        assert rollback(b_dsn, cron_dsn).changes == ()
        assert len(pgbridge_jobs(cron_db)) == 3

        # Then A, on its own.
        assert rollback(a_dsn, cron_dsn).count("unschedule") == 3
        assert pgbridge_jobs(cron_db) == set()
        assert enabled(a) == {ids["purge"]: True, ids["etl"]: True, ids["off"]: False}


def test_force_never_takes_over_another_catalogs_job(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    ids = sample_jobs(db, db_name)
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    # Another catalog's migration owns the name this catalog plans for 'purge' (as if the tags of
    # two catalogs collided).
    name = job_name(ids["purge"], "purge", catalog=tag_of(db))
    cron_db.execute(
        "UPDATE pgbridge.cron_jobs SET source = 'other/catalog' WHERE jobname = %s", [name]
    )
    cron_db.execute(
        "UPDATE pgbridge.pgagent_jobs SET source = 'other/catalog' WHERE pgagent_job_id = %s",
        [ids["purge"]],
    )
    for force in (False, True):
        result = migrate(db_dsn, cron_dsn, apply=True, force=force, today=TODAY)
        (taken,) = [f for f in result.findings if f.code == "MIGRATE_NAME_TAKEN"]
        assert "created by pgbridge for another pgAgent catalog (other/catalog" in taken.message
        assert "--force never takes over" in taken.remedy
        row = cron_db.execute(
            "SELECT source FROM pgbridge.cron_jobs WHERE jobname = %s", [name]
        ).fetchone()
        assert row == ("other/catalog",)
    # The ledger itself refuses to hand a row to another catalog.
    with psycopg.connect(cron_dsn) as conn, pytest.raises(ForeignRow):
        (led,) = [j for j in ledger.read(conn, "other/catalog")[0] if j.jobname == name]
        ledger.record_job(conn, replace(led, source="mine/catalog"))


# pgbridge 0.1.0's ledger, verbatim (bridge/ledger.py and bridge/migrate.py of 0.1.0).
LEDGER_0_1_0 = """
CREATE SCHEMA IF NOT EXISTS pgbridge;
COMMENT ON SCHEMA pgbridge IS 'pgbridge: ledger of the pgAgent to pg_cron migration';
CREATE TABLE IF NOT EXISTS pgbridge.cron_jobs (
    jobname        text        NOT NULL,
    username       text        NOT NULL,
    jobid          bigint      NOT NULL,
    source         text        NOT NULL,
    pgagent_job_id integer     NOT NULL,
    schedule_ids   integer[]   NOT NULL,
    content_hash   text        NOT NULL,
    schedule       text,
    command        text,
    database       text,
    planned_active boolean,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (jobname, username)
);
CREATE TABLE IF NOT EXISTS pgbridge.pgagent_jobs (
    source           text        NOT NULL,
    pgagent_job_id   integer     NOT NULL,
    previous_enabled boolean     NOT NULL,
    state            text        NOT NULL CHECK (state IN ('cutover', 'migrated')),
    definition       jsonb,
    context          jsonb,
    updated_at       timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source, pgagent_job_id)
);
"""
RECORD_JOB_0_1_0 = (
    "INSERT INTO pgbridge.cron_jobs (jobname, username, jobid, source, pgagent_job_id, "
    "schedule_ids, content_hash, schedule, command, database, planned_active) "
    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
RECORD_SOURCE_0_1_0 = (
    "INSERT INTO pgbridge.pgagent_jobs (source, pgagent_job_id, previous_enabled, state, "
    "definition, context) VALUES (%s, %s, %s, %s, %s, %s)"
)
SOURCE_0_1_0 = "SELECT system_identifier FROM pg_control_system()"


def migrate_like_0_1_0(db: Conn, db_dsn: str, cron_dsn: str, cron_db: Conn) -> dict[str, Any]:
    """What pgbridge 0.1.0's ``migrate --apply`` left behind: its ledger, its job names."""
    plan = migrate(db_dsn, cron_dsn, today=TODAY).plan  # a dry run: only the content
    assert plan is not None
    catalog = read_pgagent(db)
    (system,) = db.execute(SOURCE_0_1_0).fetchone() or (None,)
    source = f"{system}/{catalog.database}"
    user = str((cron_db.execute("SELECT current_user").fetchone() or ("",))[0])
    context = {"options": to_jsonable(PlanOptions()), "timezone": catalog.timezone}
    cron_db.execute(LEDGER_0_1_0)
    names = {}
    for job in plan.jobs:
        if job.status not in ("exact", "changed"):
            continue
        (c,) = job.cron_jobs
        old = job_name(job.job_id, job.job_name, catalog="")  # 0.1.0: no catalog tag
        names[job.job_name] = old
        (jobid,) = cron_db.execute(
            "SELECT cron.schedule_in_database(%s, %s, %s, %s, NULL, %s)",
            [old, c.schedule, c.command, c.database, c.active],
        ).fetchone() or (0,)
        cron_db.execute(
            RECORD_JOB_0_1_0,
            [old, user, jobid, source, job.job_id, list(c.schedule_ids),
             content_hash(c.schedule, c.command, c.database, user),
             c.schedule, c.command, c.database, c.active],
        )  # fmt: skip
        original = catalog.job(job.job_id)
        cron_db.execute(
            RECORD_SOURCE_0_1_0,
            [source, job.job_id, original.enabled, "migrated", Jsonb(to_jsonable(original)),
             Jsonb(context)],
        )  # fmt: skip
    db.execute("UPDATE pgagent.pga_job SET jobenabled = false")
    return names


def test_a_ledger_of_0_1_0_keeps_working_and_is_renamed_in_place(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    ids = sample_jobs(db, db_name)
    old_names = migrate_like_0_1_0(db, db_dsn, cron_dsn, cron_db)
    assert pgbridge_jobs(cron_db) == set(old_names.values())

    # Read as it is: verify says only that the names are old; export gives the originals back.
    before = verify(db_dsn, cron_dsn, today=TODAY)
    assert before.ok and before.checked == 3
    assert {f.code for f in before.findings} == {"VERIFY_LEGACY_NAME"}
    # without the switch's instant (issue 14): judged from the transaction's start + LATE
    runs = verify(db_dsn, cron_dsn, today=TODAY, runs=True).runs
    assert len(runs) == 3 and all(r.expected == 0 for r in runs)
    restored = [j for j in export(cron_dsn).plan.jobs if j.origin == "ledger"]
    assert sorted(j.key for j in restored) == sorted(
        f"pgagent:{tag_of(db)}:{i}" for i in ids.values()
    )

    # The next migration renames them in place; the ledger keeps the pgAgent jobs' states.
    moved = migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    assert moved.count("create") == 3 and moved.count("remove") == 3 and moved.findings == ()
    tag = tag_of(db)
    assert pgbridge_jobs(cron_db) == {job_name(i, n, catalog=tag) for n, i in ids.items()}
    # the column added in place; no instant, as no job was handed over (pgAgent was off already)
    stamps = cron_db.execute("SELECT switched_at FROM pgbridge.pgagent_jobs").fetchall()
    assert stamps == [(None,)] * 3
    active = dict(
        cron_db.execute(
            "SELECT jobname, active FROM cron.job WHERE jobname LIKE 'pgagent-%'"
        ).fetchall()
    )
    assert active == {job_name(i, n, catalog=tag): n != "off" for n, i in ids.items()}
    after = verify(db_dsn, cron_dsn, today=TODAY)
    assert after.checked == 3 and after.findings == ()
    assert migrate(db_dsn, cron_dsn, apply=True, today=TODAY).count("unchanged") == 3

    back = rollback(db_dsn, cron_dsn)
    assert back.count("unschedule") == 3 and pgbridge_jobs(cron_db) == set()
    assert enabled(db) == {ids["purge"]: True, ids["etl"]: True, ids["off"]: False}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", *args], capture_output=True, text=True, check=False,
        stdin=subprocess.DEVNULL, timeout=120,
    )  # fmt: skip


def test_unknown_selectors_are_usage_errors_everywhere(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    sample_jobs(db, db_name)
    for command, what in (
        (("rollback", "--pgagent", db_dsn, "--pgcron", cron_dsn), "pgAgent job"),  # no ledger yet
        (("export", "--pgcron", cron_dsn), "pg_cron job"),
        (("migrate", "--pgagent", db_dsn, "--pgcron", cron_dsn), "pgAgent job"),
    ):
        for option in ("--job", "--exclude"):
            proc = run_cli(*command, option, "nosuch")
            assert proc.returncode == 2, proc.stdout + proc.stderr
            assert proc.stderr.strip() == f"pgbridge: error: no {what} with id or name 'nosuch'"
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    proc = run_cli("rollback", "--pgagent", db_dsn, "--pgcron", cron_dsn, "--job", "nosuch")
    assert proc.returncode == 2 and "no pgAgent job with id or name 'nosuch'" in proc.stderr
    assert len(pgbridge_jobs(cron_db)) == 3  # nothing was rolled back
    proc = run_cli("export", "--pgcron", cron_dsn, "--job", "etl", "--timezone", "UTC")
    assert proc.returncode == 2  # 'etl' is a pgAgent job name, not a pg_cron one


def test_export_keeps_the_job_class(
    db: Conn,
    db_name: str,
    db_dsn: str,
    new_catalog: NewCatalog,
    cron_dsn: str,
    cron_db: Conn,
    ledger_gone: None,
) -> None:
    db.execute("INSERT INTO pgagent.pga_jobclass (jclname) VALUES ('Nightly batches')")
    (custom,) = db.execute(
        "SELECT jclid FROM pgagent.pga_jobclass WHERE jclname = 'Nightly batches'"
    ).fetchone() or (0,)
    for name, jclid in (("export me", 3), ("custom class", custom)):
        create_job(
            db,
            JobSpec(
                name,
                [StepSpec("a", "SELECT 1", dbname=db_name)],
                [ScheduleSpec("d", minutes=fs({1}))],
                job_class=int(jclid),
            ),
        )
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    _, other = new_catalog()
    result = export(cron_dsn, pgagent=other, apply=True)
    assert len(result.created) == 2
    with psycopg.connect(other) as conn:
        rows = conn.execute(
            "SELECT j.jobname, c.jclname FROM pgagent.pga_job j JOIN pgagent.pga_jobclass c ON c.jclid = j.jobjclid ORDER BY 1"
        ).fetchall()
    assert rows == [("custom class", "Nightly batches"), ("export me", "Data Export")]


def test_names_are_the_same_from_a_snapshot(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str, tmp_path: Any
) -> None:
    ids = sample_jobs(db, db_name)
    path = tmp_path / "catalog.json"
    snapshot.save(read_catalog(db_dsn), path)
    live = bridge.plan(pgagent=db_dsn, pgcron=cron_dsn, today=TODAY)
    offline = bridge.plan(snapshot=path, pgcron=cron_dsn, today=TODAY)
    assert live.catalog == offline.catalog and live.catalog.endswith(f"/{db_name}")
    assert live.catalog_tag == offline.catalog_tag == tag_of(db)
    names = [c.name for j in live.jobs for c in j.cron_jobs]
    assert names == [c.name for j in offline.jobs for c in j.cron_jobs]
    assert names == [job_name(i, n, catalog=live.catalog_tag) for n, i in ids.items()]


def test_a_catalog_known_by_its_database_alone_is_a_warning(
    db: Conn, db_name: str, db_dsn: str, cron_dsn: str
) -> None:
    sample_jobs(db, db_name)
    catalog = read_catalog(db_dsn, cron_dsn)
    assert catalog.pgagent is not None and catalog.pgagent.system_identifier is not None
    assert "PLAN_CATALOG_BY_DATABASE_ONLY" not in {f.code for f in bridge.plan(catalog).findings}
    # As a role that may not call pg_control_system() reads it (or a 0.1.0 snapshot holds it):
    blind = replace(catalog, pgagent=replace(catalog.pgagent, system_identifier=None))
    plan = bridge.plan(blind)
    (warning,) = [f for f in plan.findings if f.code == "PLAN_CATALOG_BY_DATABASE_ONLY"]
    assert warning.severity.value == "warning" and db_name in warning.message
    assert (plan.catalog, plan.catalog_tag) == (db_name, catalog_tag(db_name))


def test_activate_switches_only_its_own_catalog(
    pg_server: TestServer, new_catalog: NewCatalog, cron_dsn: str, cron_db: Conn, ledger_gone: None
) -> None:
    (a_name, a_dsn), (b_name, b_dsn) = new_catalog(), new_catalog()
    with pg_server.connect(a_name) as a, pg_server.connect(b_name) as b:
        ids = sample_jobs(a, a_name)
        sample_jobs(b, b_name)
        for dsn in (a_dsn, b_dsn):
            migrate(dsn, cron_dsn, apply=True, cutover=True, today=TODAY)
        on = activate(b_dsn, cron_dsn, selection=Selection(jobs=("etl",)))
        assert on.count("activate") == 1 and on.count("disable-pgagent") == 1
        active = {
            str(r[0])
            for r in cron_db.execute(
                "SELECT jobname FROM cron.job WHERE jobname LIKE 'pgagent-%' AND active"
            )
        }
        assert active == {job_name(ids["etl"], "etl", catalog=tag_of(b))}
        assert enabled(a)[ids["etl"]] and not enabled(b)[ids["etl"]]
        for dsn in (a_dsn, b_dsn):
            assert verify(dsn, cron_dsn, today=TODAY).findings == ()


def test_reexport_replaces_a_0_1_0_export_of_the_same_job_only(
    db: Conn, db_name: str, db_dsn: str, new_catalog: NewCatalog, cron_dsn: str, ledger_gone: None
) -> None:
    ids = sample_jobs(db, db_name)
    migrate(db_dsn, cron_dsn, apply=True, today=TODAY)
    _, other = new_catalog()
    with psycopg.connect(other, autocommit=True) as conn:
        # What pgbridge 0.1.0's export left: its tag names the job id only.
        for name in ("purge", "someone else's purge"):
            tagged = JobSpec(name, description=f'[pgbridge export "pgagent:{ids["purge"]}"]')
            create_job(conn, tagged)
        result = export(cron_dsn, pgagent=other, apply=True)
        assert f"pgagent:{tag_of(db)}:{ids['purge']}" in result.replaced
        names = sorted(str(r[0]) for r in conn.execute("SELECT jobname FROM pgagent.pga_job"))
    assert names == ["etl", "off", "purge", "someone else's purge"]
