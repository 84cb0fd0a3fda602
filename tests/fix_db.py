"""Real-PostgreSQL fixtures (a pytest plugin): where the server comes from, and per-test isolation.

Server, in this order:
1. ``PGBRIDGE_TEST_DSN``: a server you run (superuser; pg_cron preloaded; pgagent installed);
2. a throwaway cluster from the local binaries (:mod:`bridge.cluster`), removed at session end;
3. a Docker container built from ``tests/docker/Dockerfile`` via testcontainers, when an engine answers.
If none works, every database test fails with the reasons; nothing is silently skipped.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo as ci

from bridge.cluster import LocalCluster
from bridge.errors import BridgeError

TEMPLATE_DB = "pgbridge_test_template"
#: Databases the planner tests' steps run in: planning checks that step databases exist.
STEP_DATABASES = ("app", "other", "sales")
DOCKERFILE_DIR = Path(__file__).parent / "docker"


@dataclass
class TestServer:
    """A server with pgagent installable and pg_cron loaded; ``dsn(db)`` reaches any database."""

    __test__ = False  # not a test class

    base_dsn: str
    kind: str
    cron_database: str = "postgres"
    #: STEP_DATABASES this session created (and so drops at its end)
    created: tuple[str, ...] = ()
    #: The server's log file when the harness started the server itself (None otherwise).
    log_file: Path | None = None

    def dsn(self, dbname: str, **overrides: str) -> str:
        params = {**ci.conninfo_to_dict(self.base_dsn), "dbname": dbname, **overrides}
        return ci.make_conninfo("", **params)

    def connect(self, dbname: str, **kwargs: object) -> psycopg.Connection[tuple[object, ...]]:
        return psycopg.connect(self.dsn(dbname), autocommit=True, **kwargs)  # type: ignore[arg-type]


def _from_env() -> TestServer | None:
    dsn = os.environ.get("PGBRIDGE_TEST_DSN")
    return TestServer(dsn, "PGBRIDGE_TEST_DSN") if dsn else None


def _from_docker() -> tuple[TestServer, object]:
    from testcontainers.core.image import DockerImage  # optional: pip install '.[docker]'
    from testcontainers.postgres import PostgresContainer

    image = DockerImage(path=str(DOCKERFILE_DIR), tag="pgbridge-test-pg:latest")
    image.build()
    container = PostgresContainer(
        str(image), username="postgres", password="postgres", dbname="postgres"
    )
    container.start()
    dsn = ci.make_conninfo(
        "",
        host=container.get_container_host_ip(),
        port=container.get_exposed_port(5432),
        user="postgres",
        password="postgres",
        dbname="postgres",
    )
    return TestServer(dsn, "docker"), container


def _prepare(server: TestServer) -> None:
    """Find pg_cron's database and build the template every test database is cloned from."""
    with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
        row = conn.execute(
            "SELECT setting FROM pg_settings WHERE name = 'cron.database_name'"
        ).fetchone()
        if row is None:
            raise RuntimeError(
                f"{server.kind}: pg_cron is not loaded (shared_preload_libraries = 'pg_cron' "
                "and a fixed cron.database_name are required)"
            )
        server.cron_database = str(row[0])
        conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
        conn.execute(f"CREATE DATABASE {TEMPLATE_DB}")
        have = {r[0] for r in conn.execute("SELECT datname FROM pg_database")}
        server.created = tuple(d for d in STEP_DATABASES if d not in have)
        for name in server.created:
            conn.execute(f"CREATE DATABASE {name}")
    with psycopg.connect(server.dsn(TEMPLATE_DB), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION pgagent")
    with psycopg.connect(server.dsn(server.cron_database), autocommit=True) as conn:
        conn.execute("CREATE EXTENSION IF NOT EXISTS pg_cron")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[TestServer]:
    """The session's server (see the module docstring for where it comes from)."""
    reasons: list[str] = []
    server = _from_env()
    cleanup = None
    if server is None:
        cluster = LocalCluster()
        try:
            cluster.start()
        except BridgeError as exc:
            reasons.append(f"local binaries: {exc}")
        else:
            log = cluster.workdir / "server.log" if cluster.workdir else None
            server, cleanup = TestServer(cluster.dsn(), "local", log_file=log), cluster.stop
    if server is None:
        try:
            server, container = _from_docker()
            cleanup = container.stop  # type: ignore[attr-defined]
        except Exception as exc:  # no testcontainers, no engine, build failure, ...
            reasons.append(f"docker: {type(exc).__name__}: {exc}")
    if server is None:
        pytest.fail("no PostgreSQL for the database tests: " + "; ".join(reasons), pytrace=False)
    try:
        _prepare(server)
        yield server
    finally:
        if server.kind == "PGBRIDGE_TEST_DSN":
            with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
                conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
                for name in server.created:
                    conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        if cleanup is not None:
            cleanup()


@pytest.fixture
def db_name(pg_server: TestServer) -> Iterator[str]:
    """A fresh database (pgagent created) for one test, dropped afterwards."""
    name = f"pgbridge_t_{uuid.uuid4().hex[:12]}"
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
    try:
        yield name
    finally:
        with pg_server.connect("postgres") as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def db_dsn(pg_server: TestServer, db_name: str) -> str:
    """Superuser conninfo of the test's own database."""
    return pg_server.dsn(db_name)


@pytest.fixture
def db(pg_server: TestServer, db_name: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Superuser, autocommit connection to the test's own database (pgagent created)."""
    with pg_server.connect(db_name) as conn:
        yield conn


@pytest.fixture
def cron_dsn(pg_server: TestServer) -> str:
    return pg_server.dsn(pg_server.cron_database)


@pytest.fixture
def cron_db(pg_server: TestServer) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    """Superuser connection to pg_cron's database; cron jobs the test creates are removed after it.

    Tests that schedule jobs for other users remove those themselves.
    """
    with pg_server.connect(pg_server.cron_database) as conn:
        row = conn.execute("SELECT coalesce(max(jobid), 0) FROM cron.job").fetchone()
        assert row is not None
        high_water = int(row[0])  # type: ignore[call-overload]
        try:
            yield conn
        finally:
            if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
                conn.rollback()
            # Only jobs this test's role created since the test began: never anyone else's.
            conn.execute(
                "DELETE FROM cron.job WHERE jobid > %s AND username = current_user", [high_water]
            )


@pytest.fixture
def ledger_gone(cron_db: psycopg.Connection[tuple[object, ...]]) -> Iterator[None]:
    """The test starts and ends without a pgbridge ledger in pg_cron's database."""
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
    yield
    cron_db.execute("DROP SCHEMA IF EXISTS pgbridge CASCADE")
