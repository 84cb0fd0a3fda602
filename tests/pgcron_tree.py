"""Private PostgreSQL server trees with an upstream pg_cron, for the release matrix of the suite.

PostgreSQL finds ``lib/`` and ``share/`` relative to its ``bin/``, so a copy of the installed
server's trees with a pg_cron built by PGXS from an upstream source archive installed into it is a
relocatable server that leaves the system's pg_cron alone. Trees are cached, keyed by the archive's
hash and the server version, so a session builds each release once per machine, not once per run.

``PGBRIDGE_PGCRON_ARCHIVES`` names the archives (``os.pathsep``-separated paths to
``pg_cron-X.Y.Z.tar.gz``); the release is read from the file name. Building needs the server
headers at the server's exact version (``postgresql-server-dev-NN``), ``make`` and a C compiler;
``./dev setup`` installs them when archives are named. LLVM bitcode is not built (``with_llvm=no``):
it only feeds JIT, which these throwaway servers do not use.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

ARCHIVES_ENV = "PGBRIDGE_PGCRON_ARCHIVES"
CACHE_ENV = "PGBRIDGE_CACHE_DIR"
_RELEASE_IN_NAME = re.compile(r"pg_cron-(\d+\.\d+\.\d+)\.tar\.gz$")


class TreeError(RuntimeError):
    """A pg_cron archive could not be turned into a server tree (the message says why)."""


@dataclass(frozen=True)
class Archive:
    release: str
    path: Path


def archives_from_env() -> tuple[Archive, ...]:
    """The archives ``PGBRIDGE_PGCRON_ARCHIVES`` names, oldest release first."""
    found = []
    for item in os.environ.get(ARCHIVES_ENV, "").split(os.pathsep):
        if not item.strip():
            continue
        path = Path(item.strip()).resolve()
        match = _RELEASE_IN_NAME.search(path.name)
        if match is None:
            raise TreeError(f"{ARCHIVES_ENV}: {path.name} is not named pg_cron-X.Y.Z.tar.gz")
        if not path.is_file():
            raise TreeError(f"{ARCHIVES_ENV}: no such archive {path}")
        found.append(Archive(match.group(1), path))
    return tuple(sorted(found, key=lambda a: tuple(int(p) for p in a.release.split("."))))


def cache_root() -> Path:
    """``PGBRIDGE_CACHE_DIR``; as root ``/var/cache/pgbridge`` (the server runs as ``postgres``,
    which cannot enter root's home); else ``$XDG_CACHE_HOME/pgbridge`` or ``~/.cache/pgbridge``."""
    explicit = os.environ.get(CACHE_ENV)
    if explicit:
        return Path(explicit)
    if os.geteuid() == 0:
        return Path("/var/cache/pgbridge")
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "pgbridge"


def _pg_config(bindir: Path, flag: str) -> Path:
    out = subprocess.run(
        [str(bindir / "pg_config"), flag], capture_output=True, text=True, check=False
    )
    if out.returncode != 0 or not out.stdout.strip():
        raise TreeError(f"{bindir / 'pg_config'} {flag} failed: {out.stderr.strip()}")
    return Path(out.stdout.strip())


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 16), b""):
            digest.update(block)
    return digest.hexdigest()


@contextlib.contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Serialise builds of one tree across concurrent test sessions on the machine."""
    with open(path, "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def server_tree(archive: Archive, system_bindir: Path) -> Path:
    """The ``bin/`` of a cached server tree with ``archive``'s pg_cron; built when missing."""
    version = subprocess.run(
        [str(system_bindir / "pg_config"), "--version"], capture_output=True, text=True, check=True
    ).stdout.split()[1]
    key = f"pg{version}-pg_cron-{archive.release}-{_sha256(archive.path)[:12]}"
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    tree = root / key
    paths = {flag: _pg_config(system_bindir, flag) for flag in ("--sharedir", "--pkglibdir")}
    prefix = Path(os.path.commonpath([system_bindir, *paths.values()]))

    def inside(path: Path) -> Path:
        return tree / path.relative_to(prefix)

    with _locked(root / f"{key}.lock"):
        if not (tree / "pgbridge-tree.json").exists():
            _build(archive, system_bindir, paths, tree, prefix)
    return inside(system_bindir)


def _build(
    archive: Archive, bindir: Path, paths: dict[str, Path], tree: Path, prefix: Path
) -> None:
    staging = Path(tempfile.mkdtemp(prefix=f".{tree.name}-", dir=tree.parent))
    try:
        new = staging / "tree"
        for src in (bindir.parent, paths["--sharedir"]):
            shutil.copytree(src, new / src.relative_to(prefix), symlinks=False)
        pkglib = new / paths["--pkglibdir"].relative_to(prefix)
        share = new / paths["--sharedir"].relative_to(prefix)
        for stale in [
            *pkglib.glob("pg_cron.so"),
            *share.glob("extension/pg_cron*"),
            *pkglib.glob("bitcode/pg_cron*"),
        ]:
            if stale.is_dir():
                shutil.rmtree(stale)
            else:
                stale.unlink()
        src = staging / "src"
        src.mkdir()
        with tarfile.open(archive.path) as tar:
            if hasattr(tarfile, "data_filter"):  # Python 3.12, and 3.10.12/3.11.4 backports
                tar.extractall(src, filter="data")
            else:  # pragma: no cover - older interpreters: refuse paths leaving the folder
                for member in tar.getmembers():
                    if member.name.startswith("/") or ".." in Path(member.name).parts:
                        raise TreeError(f"{archive.path.name}: unsafe path {member.name!r}")
                tar.extractall(src)
        (top,) = [p for p in src.iterdir() if p.is_dir()]
        dest = staging / "dest"
        make = ["make", f"PG_CONFIG={bindir / 'pg_config'}", "with_llvm=no"]
        for args in (make, [*make, "install", f"DESTDIR={dest}"]):
            done = subprocess.run(
                args, cwd=top, capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL
            )
            if done.returncode != 0:
                tail = (done.stderr or done.stdout).strip().splitlines()[-3:]
                raise TreeError(
                    f"building pg_cron {archive.release} failed ({' '.join(args[:1] + args[3:])}): "
                    + " | ".join(tail)
                    + " (needs make, a C compiler and postgresql-server-dev at the server's "
                    "exact version; ./dev setup installs them)"
                )
        installed = dest / prefix.relative_to("/")
        shutil.copytree(installed, new, dirs_exist_ok=True)
        (new / "pgbridge-tree.json").write_text(
            json.dumps({"pg_cron": archive.release, "archive": archive.path.name}) + "\n"
        )
        for path in [new, *new.rglob("*")]:
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() or os.access(path, os.X_OK) else 0o644)
        if tree.exists():  # a half-built tree from an interrupted run
            shutil.rmtree(tree)
        new.rename(tree)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
