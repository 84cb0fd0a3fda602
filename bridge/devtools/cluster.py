"""A throwaway PostgreSQL cluster from the local binaries, with pg_cron preloaded and pgagent available.

Used by ``pgbridge demo`` and by the test suite: ``initdb`` + ``pg_ctl`` in a temporary directory on a
free port, listening on loopback only, run as the ``postgres`` OS user when we are root (both programs
refuse to run as root). Nothing here touches an existing cluster.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from psycopg import conninfo as _ci

from bridge.errors import HarnessError

#: The database pg_cron's launcher lives in. Fixed, so tests can drop their own databases freely.
CRON_DATABASE = "postgres"


def _version_key(path: str) -> tuple[int, ...]:
    digits = Path(path).parent.name
    return tuple(int(p) for p in digits.split(".") if p.isdigit())


def find_bindir() -> Path:
    """Where ``initdb``/``pg_ctl`` live: ``PGBRIDGE_PG_BINDIR``, Debian's newest, or ``PATH``."""
    explicit = os.environ.get("PGBRIDGE_PG_BINDIR")
    if explicit:
        return Path(explicit)
    debian = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version_key)
    if debian:
        return Path(debian[-1]).parent
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    raise HarnessError(
        "no PostgreSQL server binaries found (initdb): install the server packages "
        "(./dev setup does it on Debian/Ubuntu) or set PGBRIDGE_PG_BINDIR"
    )


def _pg_config(bindir: Path, flag: str) -> str | None:
    exe = bindir / "pg_config"
    if not exe.exists():
        return None
    out = subprocess.run([str(exe), flag], capture_output=True, text=True, check=False)
    return out.stdout.strip() or None


def check_extensions(bindir: Path) -> None:
    """Fail with the package names when pg_cron or pgagent is not installed for this server."""
    sharedir = _pg_config(bindir, "--sharedir") or str(
        Path("/usr/share/postgresql") / bindir.parent.name
    )
    pkglibdir = _pg_config(bindir, "--pkglibdir") or str(bindir.parent / "lib")
    major = bindir.parent.name
    missing = []
    if (
        not Path(sharedir, "extension", "pg_cron.control").exists()
        or not Path(pkglibdir, "pg_cron.so").exists()
    ):
        missing.append(f"postgresql-{major}-cron")
    if not Path(sharedir, "extension", "pgagent.control").exists():
        missing.append("pgagent")
    if missing:
        raise HarnessError(
            f"PostgreSQL {major} is missing extension packages: {', '.join(missing)} "
            "(./dev setup installs them on Debian/Ubuntu)"
        )


def free_port() -> int:
    with contextlib.closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class LocalCluster:
    """A private cluster; ``start()`` creates it, ``stop()`` removes every trace of it."""

    bindir: Path = field(default_factory=find_bindir)
    port: int = field(default_factory=free_port)
    timezone: str = "UTC"
    extra_settings: dict[str, str] = field(default_factory=dict)
    workdir: Path | None = None
    #: conninfo of a running primary: ``start()`` then makes a streaming hot standby of it
    #: (``pg_basebackup -R``) instead of a new cluster.
    primary: str | None = None
    _run_as: str | None = None

    @property
    def datadir(self) -> Path:
        assert self.workdir is not None
        return self.workdir / "data"

    @property
    def socket_dir(self) -> Path:
        assert self.workdir is not None
        return self.workdir

    @property
    def superuser(self) -> str:
        return self._run_as or pwd.getpwuid(os.getuid()).pw_name

    def dsn(self, dbname: str = CRON_DATABASE, user: str | None = None) -> str:
        """A conninfo string for one database of this cluster (TCP on loopback, trust auth)."""
        return _ci.make_conninfo(
            "", host="127.0.0.1", port=self.port, dbname=dbname, user=user or self.superuser
        )

    def _run(self, args: list[str], what: str) -> None:
        user = self._run_as
        try:
            proc = subprocess.run(
                args,
                capture_output=True,
                text=True,
                check=False,
                user=user,
                group=user,
                extra_groups=[] if user else None,
                cwd=str(self.workdir),
                stdin=subprocess.DEVNULL,
                env={**os.environ, "LC_ALL": "C.UTF-8", "LANG": "C.UTF-8"},
            )
        except OSError as exc:
            raise HarnessError(f"{what} failed: {exc}") from None
        if proc.returncode != 0:
            detail = (proc.stderr or proc.stdout).strip().splitlines()
            reason = detail[-1] if detail else f"exit code {proc.returncode}"
            log = [ln for ln in self.server_log().splitlines() if "FATAL" in ln or "ERROR" in ln]
            if log:  # pg_ctl only says "examine the log output"; the log says why
                reason += f"; server log: {log[-1].strip()}"
            raise HarnessError(f"{what} failed: {reason}")

    def start(self) -> LocalCluster:
        """Create and start the cluster; on failure nothing is left behind."""
        try:
            return self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> LocalCluster:
        check_extensions(self.bindir)
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise HarnessError(
                    "running as root needs a 'postgres' OS user to own the throwaway cluster "
                    "(initdb refuses root); install the PostgreSQL server package, which creates it"
                ) from None
            self._run_as = "postgres"
        self.workdir = Path(tempfile.mkdtemp(prefix="pgbridge-pg-"))
        if self._run_as:
            entry = pwd.getpwnam(self._run_as)
            os.chown(self.workdir, entry.pw_uid, entry.pw_gid)
        if self.primary is not None:
            self._basebackup(self.primary)
        else:
            self._initdb()
        self._configure()
        self._pg_ctl_start()
        return self

    def _basebackup(self, primary: str) -> None:
        self._run(
            [
                str(self.bindir / "pg_basebackup"),
                "-D",
                str(self.datadir),
                "-d",
                primary,
                "-R",  # standby.signal and primary_conninfo: a streaming standby
                "-X",
                "stream",
                "-c",
                "fast",
                "--no-sync",
            ],
            "pg_basebackup",
        )

    def _initdb(self) -> None:
        self._run(
            [
                str(self.bindir / "initdb"),
                "-D",
                str(self.datadir),
                "-U",
                self.superuser,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
                "--no-sync",
            ],
            "initdb",
        )

    def _configure(self) -> None:
        settings = {
            "listen_addresses": "'127.0.0.1'",
            "port": str(self.port),
            "unix_socket_directories": f"'{self.socket_dir}'",
            "shared_preload_libraries": "'pg_cron'",
            "cron.database_name": f"'{CRON_DATABASE}'",
            "cron.host": "'127.0.0.1'",
            "timezone": f"'{self.timezone}'",
            "log_timezone": f"'{self.timezone}'",
            "fsync": "off",
            "synchronous_commit": "off",
            "full_page_writes": "off",
            "max_connections": "100",
            **self.extra_settings,
        }
        with open(self.datadir / "postgresql.conf", "a", encoding="utf-8") as conf:
            conf.write("\n# pgbridge throwaway cluster\n")
            for name, value in settings.items():
                conf.write(f"{name} = {value}\n")

    def _pg_ctl_start(self) -> None:
        assert self.workdir is not None
        self._run(
            [
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.datadir),
                "-l",
                str(self.workdir / "server.log"),
                "-w",
                "-t",
                "60",
                "start",
            ],
            "pg_ctl start",
        )

    def _pg_ctl_stop(self) -> None:
        self._run(
            [str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", "fast", "-w", "stop"],
            "pg_ctl stop",
        )

    def restart(self, **settings: str) -> None:
        """Restart the server with ``settings`` added to its configuration (later lines win)."""
        self._pg_ctl_stop()
        self.extra_settings.update(settings)
        self._configure()
        self._pg_ctl_start()

    def stop(self) -> None:
        """Stop the server (fast) and delete its directory; safe to call twice."""
        if self.workdir is None:
            return
        if (self.datadir / "postmaster.pid").exists():
            with contextlib.suppress(HarnessError):
                self._pg_ctl_stop()
        shutil.rmtree(self.workdir, ignore_errors=True)
        self.workdir = None

    def server_log(self) -> str:
        if self.workdir is None:
            return ""
        try:
            return (self.workdir / "server.log").read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""


@contextlib.contextmanager
def local_cluster(**kwargs: object) -> Iterator[LocalCluster]:
    """Start a :class:`LocalCluster` for the duration of a ``with`` block."""
    cluster = LocalCluster(**kwargs)  # type: ignore[arg-type]
    try:
        yield cluster.start()
    finally:
        cluster.stop()
