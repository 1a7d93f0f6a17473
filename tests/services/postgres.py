"""A throwaway PostgreSQL server for tests, from Debian's `postgresql` package.

Production parts that run on PostgreSQL (Dagster's instance storage, MeltanoLabs target-postgres)
are tested against a real server, not a stand-in: each test session gets a new cluster in a
temporary directory, listening on a free loopback port with a random password, and removed at the
end. `make postgresql` installs the package when it is missing (root on Debian); without it the
fixture fails with that instruction.

    def test_something(postgres_server: PostgresServer) -> None:
        url = postgres_server.create_database("dagster")  # postgresql://user:pw@127.0.0.1:port/dagster

`running_postgres()` is the same as a context manager, for code outside pytest (bench, demos).
PostgreSQL refuses to run as root, so as root the server runs as the package's `postgres` user.
"""

from __future__ import annotations

import contextlib
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest

SUPERUSER = "gather_test"
DEFAULT_DATABASE = "postgres"
# The package's system user (Debian's postgresql-common creates it); servers run as it under root.
SERVICE_USER = "postgres"
START_TIMEOUT_S = 60
INSTALL_HINT = (
    "PostgreSQL's server binaries (initdb, pg_ctl) were not found: run `make postgresql` "
    "(installs Debian's postgresql package as root) or set PG_BINDIR to their directory"
)


@dataclass(frozen=True)
class PostgresServer:
    """Connection details of a running test server (loopback, password authentication)."""

    host: str
    port: int
    user: str
    password: str
    bindir: Path

    def url(self, database: str = DEFAULT_DATABASE, scheme: str = "postgresql") -> str:
        """A connection URL, e.g. `postgresql+psycopg://...` with `scheme` for SQLAlchemy."""
        return (
            f"{scheme}://{quote(self.user, safe='')}:{quote(self.password, safe='')}"
            f"@{self.host}:{self.port}/{database}"
        )

    def psql(self, sql: str, database: str = DEFAULT_DATABASE) -> str:
        """Run SQL with the server's own psql; returns its unaligned, tuples-only output."""
        result = subprocess.run(
            [str(self.bindir / "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
             "-h", self.host, "-p", str(self.port), "-U", self.user, "-d", database, "-c", sql],
            env={**os.environ, "PGPASSWORD": self.password},
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise RuntimeError(f"psql failed ({result.returncode}): {result.stderr.strip()}")
        return result.stdout

    def create_database(self, name: str) -> str:
        """Create an empty database (names are test-chosen identifiers) and return its URL."""
        self.psql(f'CREATE DATABASE "{name}"')
        return self.url(name)


def find_bindir() -> Path | None:
    """Where initdb and pg_ctl are: PG_BINDIR, Debian's versioned directory, or PATH."""
    if os.environ.get("PG_BINDIR"):
        return Path(os.environ["PG_BINDIR"])
    debian = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda path: int(path.parent.name) if path.parent.name.isdigit() else 0,
    )
    for candidate in reversed(debian):
        if (candidate / "initdb").exists():
            return candidate
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _as_service_user() -> list[str]:
    """A command prefix that drops root to the package's user (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return []
    return ["runuser", "-u", SERVICE_USER, "--"]


@contextlib.contextmanager
def running_postgres(base: Path | None = None) -> Iterator[PostgresServer]:
    """Start a new cluster in a temporary directory; stop it and remove everything after."""
    bindir = find_bindir()
    if bindir is None:
        raise RuntimeError(INSTALL_HINT)
    root = Path(tempfile.mkdtemp(prefix="pg-", dir=base))
    data, sockets = root / "data", root / "run"
    sockets.mkdir()
    password = secrets.token_urlsafe(16)
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    if os.geteuid() == 0:
        service = pwd.getpwnam(SERVICE_USER)
        for path in (root, sockets, pwfile):
            os.chown(path, service.pw_uid, service.pw_gid)
    prefix = _as_service_user()
    port = _free_port()
    log = root / "server.log"
    try:
        subprocess.run(
            [*prefix, str(bindir / "initdb"), "-D", str(data), "-U", SUPERUSER,
             f"--pwfile={pwfile}", "--auth=scram-sha-256", "-E", "UTF8", "--no-sync"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        pwfile.unlink()
        options = (
            f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sockets} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
        )
        subprocess.run(
            [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-o", options,
             "-w", "-t", str(START_TIMEOUT_S), "start"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
        yield PostgresServer("127.0.0.1", port, SUPERUSER, password, bindir)
    except subprocess.CalledProcessError as error:
        server_log = log.read_text() if log.exists() else ""
        raise RuntimeError(
            f"PostgreSQL did not start: {error.stderr.strip()} {server_log[-2000:]}"
        ) from error
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                [*prefix, str(bindir / "pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
                capture_output=True, check=False,
            )  # fmt: skip
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the test session (each test makes its own database)."""
    if find_bindir() is None:
        pytest.fail(INSTALL_HINT)
    with running_postgres() as server:
        yield server
