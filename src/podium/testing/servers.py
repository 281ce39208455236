"""Real servers on 127.0.0.1 for tests: PostgreSQL, Redis, a MongoDB-wire server and a Ray
cluster of several nodes.

Each starts in a temporary folder on free ports and is stopped by PID (never ``ray stop``,
which would end every Ray on the machine). Used by the
test suite's fixtures and usable by plugin authors' own suites.
"""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
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


@dataclass
class RayCluster:
    """A Ray cluster of ``ray start`` nodes on this machine; ``env`` is what a driver needs
    to join it (the cluster's token) besides ``address``."""

    address: str
    env: dict[str, str]
    nodes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    folder: Path = Path()


@contextmanager
def ray_cluster(nodes: int = 2, *, cpus: int = 1, object_store_mb: int = 100,
                env: Mapping[str, str] | None = None, timeout: float = 120.0,
                attempts: int = 3) -> Iterator[RayCluster]:
    """A head node and ``nodes - 1`` nodes joined to it with ``ray start --address``, each with
    ``cpus`` CPUs, as on separate machines (here on one). Every port is chosen free, the
    dashboard is off, token authentication is on with a fresh token. ``env`` is added to the
    nodes' environment (their workers see it: a ``PYTHONPATH``, say). A node that does not
    start (``ray start`` gives its raylet 30 s to register, which a loaded machine can miss, and
    a port chosen free may be taken before Ray binds it) is stopped and started again on fresh
    ports, up to ``attempts`` times. Stopped by PID."""
    binary = _which("ray")
    if binary is None:
        raise ServerUnavailable("ray is not installed (pip install 'podium[ray]')")
    folder = Path(tempfile.mkdtemp(prefix="podium-ray-"))  # short: Ray's socket paths are limited
    auth = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": secrets.token_hex(16), "RAY_USAGE_STATS_ENABLED": "0"}
    node_env = {**os.environ, **(env or {}), **auth}
    cluster = RayCluster("", auth, folder=folder)

    def launch(index: int, attempt: int, role: list[str]) -> bool:
        ports = {flag: str(free_port()) for flag in (
            "--node-manager-port", "--object-manager-port", "--min-worker-port", "--dashboard-agent-listen-port",
            "--dashboard-agent-grpc-port", "--runtime-env-agent-port", "--metrics-export-port")}
        log = folder / f"node{index}.{attempt}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                [binary, "start", *role, "--block", "--node-ip-address", "127.0.0.1", "--temp-dir", str(folder),
                 "--num-cpus", str(cpus), "--object-store-memory", str(object_store_mb * 1024**2),
                 "--max-worker-port", "0", "--disable-usage-stats", *[x for kv in ports.items() for x in kv]],
                stdout=out, stderr=subprocess.STDOUT, env=node_env, start_new_session=True)
        cluster.nodes.append(proc)
        deadline = time.monotonic() + timeout
        while b"Ray runtime started" not in log.read_bytes():  # printed once the node has joined
            if proc.poll() is not None or time.monotonic() > deadline:
                _stop_node(proc)
                cluster.nodes.remove(proc)
                return False
            time.sleep(0.1)
        return True

    def start(index: int) -> None:
        for attempt in range(1, attempts + 1):
            if index == 0:
                gcs = free_port()
                cluster.address = f"127.0.0.1:{gcs}"
                role = ["--head", "--port", str(gcs), "--include-dashboard=false", "--dashboard-port",
                        str(free_port()), "--ray-client-server-port", str(free_port())]
            else:
                role = ["--address", cluster.address]
            if launch(index, attempt, role):
                return
        log = folder / f"node{index}.{attempts}.log"
        raise RuntimeError(f"Ray node {index} did not start in {attempts} attempts:\n{log.read_text()[-2000:]}")

    try:
        for index in range(nodes):
            start(index)
        yield cluster
    finally:
        for proc in reversed(cluster.nodes):  # `ray start --block` ends its node's processes on SIGTERM
            if proc.poll() is None:
                proc.terminate()
        for proc in cluster.nodes:
            _stop_node(proc, grace=30)
        shutil.rmtree(folder, ignore_errors=True)


def _stop_node(proc: subprocess.Popen[bytes], grace: float = 10.0) -> None:
    """Stop a ``ray start --block`` node: SIGTERM ends its processes; then whatever is left of
    its process group (a raylet or GCS a failed start left behind, workers) is killed."""
    if proc.poll() is None:
        proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        pass
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(10)
