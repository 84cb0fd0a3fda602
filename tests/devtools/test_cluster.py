"""The throwaway-cluster harness used by the demo and the tests."""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from bridge.devtools.cluster import CRON_DATABASE, LocalCluster, check_extensions, find_bindir
from bridge.errors import HarnessError


def test_cluster_starts_with_pg_cron_loaded_and_leaves_no_trace() -> None:
    cluster = LocalCluster(timezone="Europe/Berlin").start()
    workdir = cluster.workdir
    assert workdir is not None and workdir.exists()
    try:
        with psycopg.connect(cluster.dsn(), autocommit=True) as conn:
            row = conn.execute(
                "SELECT current_setting('shared_preload_libraries'), "
                "current_setting('cron.database_name'), current_setting('TimeZone'), "
                "inet_server_addr()::text"
            ).fetchone()
            assert row == ("pg_cron", CRON_DATABASE, "Europe/Berlin", "127.0.0.1/32")
            conn.execute("CREATE EXTENSION pgagent")  # available without preloading
    finally:
        cluster.stop()
    assert not workdir.exists()
    cluster.stop()  # harmless twice


def test_missing_extension_packages_are_named(tmp_path: Path) -> None:
    fake = tmp_path / "99" / "bin"
    fake.mkdir(parents=True)
    with pytest.raises(HarnessError, match="postgresql-99-cron, pgagent"):
        check_extensions(fake)


def test_bindir_override(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PGBRIDGE_PG_BINDIR", str(tmp_path))
    assert find_bindir() == tmp_path
