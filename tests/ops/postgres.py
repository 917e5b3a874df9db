"""A real, throw-away PostgreSQL server for tests: Debian's binaries, run as a non-root user."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.ports import free_port

START_TIMEOUT_SECONDS = 120.0


def postgres_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/postgres"))
    if not found:
        raise AssertionError("no PostgreSQL server: install Debian's postgresql package (apt-get install postgresql)")
    return Path(found[-1]).parent


def _as_owner(command: list[str], owner: str | None) -> list[str]:
    # PostgreSQL refuses to run as root; as root, run it as the package's own user.
    return ["runuser", "-u", owner, "--", *command] if owner else command


@contextmanager
def postgres_server() -> Iterator[str]:
    """Start a server on a free loopback port; yields the URL of an empty ``dagster`` database."""
    binaries = postgres_bin()
    owner = "postgres" if os.geteuid() == 0 else None
    # Outside pytest's 0700 tmp tree, which the postgres user could not enter.
    root = Path(tempfile.mkdtemp(prefix="tmeet-pg-"))
    if owner:
        entry = pwd.getpwnam(owner)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    data, port = root / "data", free_port()
    subprocess.run(_as_owner([str(binaries / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                              "--no-sync", "-E", "UTF8"], owner), check=True, capture_output=True, timeout=300)
    log = (root / "server.log").open("ab")
    server = subprocess.Popen(
        _as_owner([str(binaries / "postgres"), "-D", str(data), "-p", str(port), "-h", "127.0.0.1", "-k", str(root),
                   "-c", "fsync=off", "-c", "max_connections=200"], owner),
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while subprocess.run([str(binaries / "pg_isready"), "-h", "127.0.0.1", "-p", str(port)],
                             capture_output=True).returncode != 0:
            if server.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"PostgreSQL did not start:\n{(root / 'server.log').read_text()[-2000:]}")
            time.sleep(0.5)
        subprocess.run([str(binaries / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "dagster"],
                       check=True, capture_output=True, timeout=60)
        # SQLAlchemy 2.1 maps a bare postgresql:// to psycopg 3; dagster-postgres brings psycopg2.
        yield f"postgresql+psycopg2://postgres@127.0.0.1:{port}/dagster"
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
        log.close()
        shutil.rmtree(root, ignore_errors=True)
