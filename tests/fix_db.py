"""Real-PostgreSQL fixtures (a pytest plugin): where the server comes from, and per-test isolation.

Server, in this order:
1. ``PGBRIDGE_TEST_DSN``: a server you run (superuser; pg_cron preloaded; pgagent installed);
2. a throwaway cluster from the local binaries (:mod:`bridge.cluster`), removed at session end;
3. a Docker container built from ``tests/docker/Dockerfile`` via testcontainers, when an engine answers.
If none works, every database test fails with the reasons; nothing is silently skipped.

The pg_cron matrix: tests marked ``pgcron_matrix`` also run against a throwaway cluster per
upstream pg_cron archive named in ``PGBRIDGE_PGCRON_ARCHIVES`` (built once and cached,
:mod:`tests.pgcron_tree`), as ``test_x[pg_cron-1.6.5]``. On those clusters ``cron.timezone`` is
Europe/Berlin and the server's TimeZone America/New_York (two DST zones that change on different
days; a test database's own TimeZone follows cron.timezone, see ``db_name``), and on releases with
``cron.match_dom_and_dow`` it is on. Each cluster starts once and serves the whole session.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
from psycopg import conninfo as ci

from bridge.catalog.pgcron import read_pgcron
from bridge.catalog.release import detected
from bridge.devtools.cluster import LocalCluster, find_bindir
from bridge.errors import BridgeError
from bridge.schedule import CronTarget, cron_version
from tests.pgcron_tree import Archive, TreeError, archives_from_env, server_tree

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


#: pgAgent's zone (the server's TimeZone) and cron.timezone on the matrix clusters.
MATRIX_AGENT_ZONE = "America/New_York"
MATRIX_CRON_ZONE = "Europe/Berlin"
SYSTEM = "system"


def _default_server() -> tuple[TestServer, object]:
    reasons: list[str] = []
    server = _from_env()
    cleanup: object = None
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
        raise RuntimeError("no PostgreSQL for the database tests: " + "; ".join(reasons))
    return server, cleanup


def _archive_server(archive: Archive) -> tuple[TestServer, object]:
    settings = {"cron.timezone": f"'{MATRIX_CRON_ZONE}'"}
    if cron_version(archive.release).match_dom_and_dow_setting:
        settings["cron.match_dom_and_dow"] = "on"
    cluster = LocalCluster(
        bindir=server_tree(archive, find_bindir()),
        timezone=MATRIX_AGENT_ZONE,
        extra_settings=settings,
    )
    cluster.start()
    return TestServer(cluster.dsn(), f"pg_cron {archive.release}"), cluster.stop


def matrix() -> dict[str, Archive | None]:
    """The pg_cron flavours of this session: the default server, and one per archive."""
    try:
        archives = archives_from_env()
    except TreeError as exc:
        raise pytest.UsageError(str(exc)) from None
    return {SYSTEM: None, **{a.release: a for a in archives}}


class Servers:
    """One server per flavour, started on first use and kept for the session."""

    def __init__(self) -> None:
        self._flavours = matrix()
        self._servers: dict[str, TestServer] = {}
        self._failed: dict[str, str] = {}
        self._cleanups: list[object] = []

    def get(self, flavour: str) -> TestServer:
        if flavour in self._failed:
            pytest.fail(self._failed[flavour], pytrace=False)
        if flavour not in self._servers:
            try:
                archive = self._flavours[flavour]
                server, cleanup = _default_server() if archive is None else _archive_server(archive)
                if cleanup is not None:
                    self._cleanups.append(cleanup)
                _prepare(server)
            except (BridgeError, TreeError, RuntimeError, psycopg.Error) as exc:
                self._failed[flavour] = f"pg_cron flavour {flavour}: {exc}"
                pytest.fail(self._failed[flavour], pytrace=False)
            self._servers[flavour] = server
        return self._servers[flavour]

    def close(self) -> None:
        for server in self._servers.values():
            if server.kind == "PGBRIDGE_TEST_DSN":
                with psycopg.connect(server.dsn("postgres"), autocommit=True) as conn:
                    conn.execute(f"DROP DATABASE IF EXISTS {TEMPLATE_DB}")
                    for name in server.created:
                        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        for cleanup in reversed(self._cleanups):
            cleanup()  # type: ignore[operator]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "pgcron_matrix: run against every pg_cron of the session (PGBRIDGE_PGCRON_ARCHIVES)",
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("pgcron_matrix") is None:
        return
    if "pg_server" not in metafunc.fixturenames:
        return
    names = list(matrix())
    metafunc.parametrize("pg_flavour", names, indirect=True, ids=[f"pg_cron-{n}" for n in names])


@pytest.fixture(scope="session")
def pg_servers() -> Iterator[Servers]:
    servers = Servers()
    try:
        yield servers
    finally:
        servers.close()


@pytest.fixture(scope="session")
def pg_default_server(pg_servers: Servers) -> TestServer:
    """The default server, for module- or session-scoped fixtures (``pg_server`` is per test)."""
    return pg_servers.get(SYSTEM)


@pytest.fixture
def pg_flavour(request: pytest.FixtureRequest) -> str:
    """The pg_cron flavour of this test: ``system`` unless the matrix parametrises it."""
    return str(getattr(request, "param", SYSTEM))


def _packaged_pg_cron() -> str | None:
    """The release of the distribution's pg_cron for the local server (Debian: the package)."""
    major = find_bindir().parent.name
    try:
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Version}", f"postgresql-{major}-cron"],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
    except OSError:
        return None
    version = out.stdout.strip().split("-")[0].split("+")[0]
    return version if out.returncode == 0 and version.count(".") == 2 else None


@pytest.fixture
def pg_cron_release(pg_flavour: str, pg_server: TestServer) -> str:
    """The pg_cron release the test's server really runs: the archive's for the matrix clusters,
    the distribution package's for the local default cluster (Debian 12: 1.4.2, Debian 13: 1.6.5);
    for a server named in PGBRIDGE_TEST_DSN what pgbridge detects (nothing else can tell)."""
    if pg_flavour != SYSTEM:
        return pg_flavour
    packaged = _packaged_pg_cron() if pg_server.kind == "local" else None
    if packaged is not None:
        return packaged
    with psycopg.connect(pg_server.dsn(pg_server.cron_database)) as conn:
        conn.read_only = True
        choice = detected(read_pgcron(conn))
    assert choice is not None, "the test role must see the cron.* settings"
    return choice.release


@pytest.fixture
def pg_cron_target(pg_server: TestServer, pg_cron_release: str) -> CronTarget:
    """pg_cron as the test's server runs it: release, cron.timezone, the DOM/DOW switch."""
    with pg_server.connect(pg_server.cron_database) as conn:
        settings = dict(
            conn.execute("SELECT name, setting FROM pg_settings WHERE name LIKE 'cron.%'")
        )
    return CronTarget.of(
        pg_cron_release,
        str(settings.get("cron.timezone", "GMT")),
        match_dom_and_dow=settings.get("cron.match_dom_and_dow") == "on",
    )


@pytest.fixture
def pg_server(pg_servers: Servers, pg_flavour: str) -> TestServer:
    """The server of this test's flavour (see the module docstring for where it comes from)."""
    return pg_servers.get(pg_flavour)


@pytest.fixture
def db_name(pg_server: TestServer, pg_flavour: str) -> Iterator[str]:
    """A fresh database (pgagent created) for one test, dropped afterwards.

    On the matrix clusters its TimeZone (pgAgent's zone) is cron.timezone's, so tests written for
    one zone on both sides hold; tests of different zones say ``timezone=MATRIX_AGENT_ZONE``."""
    name = f"pgbridge_t_{uuid.uuid4().hex[:12]}"
    with pg_server.connect("postgres") as conn:
        conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        if pg_flavour != SYSTEM:
            conn.execute(f"ALTER DATABASE {name} SET TimeZone = '{MATRIX_CRON_ZONE}'")
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


NewCatalog = Callable[[], tuple[str, str]]


@pytest.fixture
def new_catalog(pg_server: TestServer) -> Iterator[NewCatalog]:
    """Make databases with an empty pgAgent catalog: (name, superuser DSN); dropped afterwards."""
    made: list[str] = []

    def make() -> tuple[str, str]:
        name = f"pgbridge_c_{uuid.uuid4().hex[:12]}"
        with pg_server.connect("postgres") as conn:
            conn.execute(f"CREATE DATABASE {name} TEMPLATE {TEMPLATE_DB}")
        made.append(name)
        return name, pg_server.dsn(name)

    yield make
    with pg_server.connect("postgres") as conn:
        for name in made:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
