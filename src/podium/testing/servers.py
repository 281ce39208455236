"""Real servers on 127.0.0.1 for tests: PostgreSQL, Redis and a MongoDB-wire server.

Each starts in a temporary folder on a free port and is stopped by PID. Used by the
test suite's fixtures and usable by plugin authors' own suites.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("PODIUM_PG_BIN", "/usr/lib/postgresql/15/bin"))


class ServerUnavailable(RuntimeError):
    """The server's binary is not installed here."""


def _which(name: str) -> str | None:
    """A binary beside this Python (a venv's bin/) first, then on PATH."""
    beside = Path(sys.executable).parent / name
    return str(beside) if beside.exists() else shutil.which(name)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


def _as_postgres(args: list[str]) -> list[str]:
    return args if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--", *args]


@contextmanager
def postgres_server(dbname: str = "podium") -> Iterator[str]:
    """A throwaway PostgreSQL server; yields a SQLAlchemy URL (psycopg 3)."""
    if not (PG_BIN / "initdb").exists():
        raise ServerUnavailable(f"PostgreSQL binaries not found in {PG_BIN}")
    data = Path(tempfile.mkdtemp(prefix="podium-pg-"))
    if os.geteuid() == 0:
        shutil.chown(data, "postgres", "postgres")
    port = free_port()
    quiet: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-U", "postgres",
                                 "-A", "trust", "-E", "UTF8", "--no-sync"]), check=True, **quiet)
    opts = f"-c listen_addresses=127.0.0.1 -p {port} -k {data} -c fsync=off"
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(data / "log"),
                                 "-w", "-o", opts, "start"]), check=True, **quiet)
    try:
        subprocess.run(_as_postgres([str(PG_BIN / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                                     "-U", "postgres", dbname]), check=True, **quiet)
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/{dbname}"
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "immediate",
                                     "-w", "stop"]), **quiet)
        shutil.rmtree(data, ignore_errors=True)


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server; yields a redis:// URL."""
    binary = _which("redis-server")
    if binary is None:
        raise ServerUnavailable("redis-server is not installed (apt-get install redis-server)")
    folder = tempfile.mkdtemp(prefix="podium-redis-")
    port = free_port()
    proc = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder,
                             "--save", "", "--appendonly", "no"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@contextmanager
def mongo_wire_server() -> Iterator[str]:
    """A MongoDB-wire server (nx-27017, pure Python on SQLite); yields a mongodb:// URL."""
    binary = _which("nx-27017")
    if binary is None:
        raise ServerUnavailable("nx-27017 is not installed (pip install nx-27017)")
    folder = tempfile.mkdtemp(prefix="podium-mongo-")
    port = free_port()
    proc = subprocess.Popen([binary, "--db", "memory", "--host", "127.0.0.1", "-p", str(port),
                             "--log-file", f"{folder}/nx.log"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"mongodb://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)
