"""A throw-away PostgreSQL server for the tests, on 127.0.0.1 with a temporary data directory.

`DATABASE_URL_POSTGRES_TEST` points the tests at an existing server instead. Otherwise the
server binaries of Debian's `postgresql` package are used (`.ci/run` installs them); when
they are missing the PostgreSQL tests are reported as skipped, never as passed.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _binaries() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def postgres_server() -> Iterator[str | None]:
    """Yield a `postgresql+psycopg://` URL of a fresh database, or None when unavailable."""
    configured = os.environ.get("DATABASE_URL_POSTGRES_TEST")
    if configured:
        yield configured
        return
    bindir = _binaries()
    if bindir is None:
        yield None
        return
    root = Path(tempfile.mkdtemp(prefix="bot-pg-"))
    data = root / "data"
    run_as: list[str] = []
    if os.geteuid() == 0:
        # initdb refuses to run as root: hand the directory to the postgres user.
        user = pwd.getpwnam("postgres")
        os.chown(root, user.pw_uid, user.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = _free_port()
    subprocess.run(
        [
            *run_as,
            str(bindir / "initdb"),
            "-D",
            str(data),
            "-U",
            "bot",
            "-A",
            "trust",
            "--no-sync",
            "-E",
            "UTF8",
        ],
        check=True,
        capture_output=True,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -p {port} -k {root} -c fsync=off -c max_connections=200"
    )
    subprocess.run(
        [
            *run_as,
            str(bindir / "pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(root / "server.log"),
            "-w",
            "start",
        ],
        check=True,
        capture_output=True,
    )
    try:
        subprocess.run(
            [str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "bot", "bot"],
            check=True,
            capture_output=True,
        )
        yield f"postgresql+psycopg://bot@127.0.0.1:{port}/bot"
    finally:
        subprocess.run(
            [*run_as, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            check=False,
            capture_output=True,
        )
        shutil.rmtree(root, ignore_errors=True)
