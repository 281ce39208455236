"""Running a service: N uvicorn worker processes on one socket, kept alive by a supervisor.

``serve(options)`` binds the socket, then starts the workers (uvicorn's multiprocess
supervisor: a worker that dies is replaced; SIGTERM or SIGINT stops every worker gracefully,
in-flight requests first; a supervisor killed outright takes its workers with it). Each worker loads its models once, with one OpenMP/BLAS thread
(N workers on N cores must not fight over them), and follows its aliases on its own.
Prometheus figures of all workers meet in a shared folder (``PROMETHEUS_MULTIPROC_DIR``).

Workers are fresh processes (spawned), so they get their options as JSON in one environment
variable, read once by ``worker_app`` — the worker's entry point. A worker that cannot load
its models because the registry or the artifact store cannot be reached waits and tries
again (backing off up to a minute) instead of dying and being restarted in a tight loop; a
model that cannot be served (a bad package) still fails the worker at once.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from podium._internal.orphans import exit_with_parent
from podium.serving.options import ServeOptions

__all__ = ["serve", "worker_app", "start_with_backoff", "OPTIONS_ENV", "check_refs"]

T = TypeVar("T")

OPTIONS_ENV = "PODIUM_SERVE_OPTIONS"
SUPERVISOR_ENV = "PODIUM_SUPERVISOR_PID"
_CRASH_LIMIT, _CRASH_WINDOW_S = 10, 30
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 1.0, 60.0

logger = logging.getLogger("podium.serving")


def check_refs(registry: Any, refs: list[str]) -> list[tuple[str, int]]:
    """Resolve and verify every ref before any worker starts, so that a typo or a tampered or
    unsigned package fails once and clearly (workers check again when they load)."""
    return [(str(info.name), int(info.version)) for info in (registry.verify(ref) for ref in refs)]


def serve(options: ServeOptions) -> None:
    """Serve ``options.refs`` until SIGINT or SIGTERM (blocks)."""
    import uvicorn

    from podium.errors import SpecError

    if not options.refs:
        raise SpecError("Nothing to serve: name at least one model (podium serve churn@champion).")
    if options.registry_url is None or options.artifacts_url is None:  # the current project's
        from podium.config import load_settings

        settings = load_settings()
        options = options.model_copy(update={
            "registry_url": options.registry_url or settings.resolved_registry_url,
            "artifacts_url": options.artifacts_url or settings.resolved_artifacts_url,
            "cache_dir": options.cache_dir or settings.cache_dir,
            "require_signed": options.require_signed or settings.require_signed,
            "trusted_keys": options.trusted_keys or [str(p) for p in settings.resolved_trusted_keys]})
    own_dir = options.metrics_dir is None
    metrics_dir = options.metrics_dir or tempfile.mkdtemp(prefix="podium-metrics-")
    for stale in Path(metrics_dir).glob("*.db"):  # figures of an earlier run would add up
        stale.unlink()
    options = options.model_copy(update={"metrics_dir": metrics_dir,
                                          "service_id": options.service_id or uuid.uuid4().hex})
    # Children are spawned from this process: what they inherit is set here, once.
    os.environ[OPTIONS_ENV] = options.model_dump_json()
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    config = uvicorn.Config(
        "podium.serving.workers:worker_app", factory=True, host=options.host, port=options.port,
        workers=options.resolved_workers, access_log=False, log_level="info", lifespan="on",
        timeout_graceful_shutdown=int(options.graceful_timeout) or None, server_header=False,
        limit_concurrency=options.max_concurrency,
        ws="none",  # no WebSocket route: a worker need not import a WebSocket library
    )
    per_worker = _worker_sockets(config, config.workers)
    try:
        _supervisor(config, per_worker).run()
    finally:
        for sock in {s for socks in per_worker for s in socks}:
            sock.close()
        if own_dir:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def worker_app() -> Any:
    """One worker's app: options from the environment, models loaded, one thread for math."""
    from threadpoolctl import threadpool_limits

    from podium.registry import Registry
    from podium.registry.signing import TrustPolicy
    from podium.serving.app import create_app

    options = ServeOptions.model_validate_json(os.environ[OPTIONS_ENV])
    # a killed supervisor must not leave its workers serving on: they stop, gracefully
    exit_with_parent(int(os.environ.get(SUPERVISOR_ENV) or os.getppid()), sig=signal.SIGTERM,
                     grace=options.graceful_timeout + 5)
    threadpool_limits(1)
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    assert options.registry_url is not None and options.artifacts_url is not None  # set by serve()
    trust = TrustPolicy.from_files(options.trusted_keys, require_signed=options.require_signed)
    registry = Registry(options.registry_url, options.artifacts_url, cache_dir=options.cache_dir, trust=trust)
    app = start_with_backoff(lambda: create_app(registry, options.refs, auth=options.auth, options=options))
    release_free_memory()
    return app


def release_free_memory() -> None:
    """Give the heap's free pages back to the system (glibc's ``malloc_trim``; elsewhere nothing).

    Loading a model (reading the package, building its request models, warming it up) leaves
    freed memory that glibc keeps in the process: ~11 MB a worker with the diamonds champion.
    """
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the memory stays, nothing breaks
        pass


def start_with_backoff(start: Callable[[], T], *, first: float = _BACKOFF_FIRST_S, most: float = _BACKOFF_MAX_S,
                       sleep: Callable[[float], None] = time.sleep) -> T:
    """``start()``, tried again after 1, 2, 4… (at most ``most``) seconds while it fails for
    want of the registry or the artifact store; a ``PodiumError`` (a bad ref, a bad package)
    is raised at once."""
    from podium.errors import PodiumError

    delay = first
    while True:
        try:
            return start()
        except PodiumError:
            raise
        except Exception as exc:  # noqa: BLE001  an outage of what the worker loads from
            logger.error("cannot start serving (%s: %s); trying again in %.0fs",
                         type(exc).__name__, str(exc).strip().splitlines()[0] if str(exc).strip() else "", delay)
            sleep(delay)
            delay = min(delay * 2, most)


def _worker_sockets(config: Any, workers: int) -> list[list[socket.socket]]:
    """The listening socket(s) of each worker: one of its own, all bound to the same port with
    ``SO_REUSEPORT``, so that the kernel spreads new connections evenly over the workers.

    With one shared socket, the worker that wakes first accepts every connection waiting (a
    client opening 8 at once gets one worker and one core). The port is first bound the usual
    way, alone, so that a port in use fails as it always did; where ``SO_REUSEPORT`` is missing
    (or for a Unix socket) every worker shares that one socket.
    """
    first: socket.socket = config.bind_socket()
    if workers < 2 or not hasattr(socket, "SO_REUSEPORT") or first.family not in (socket.AF_INET,
                                                                                  socket.AF_INET6):
        return [[first]] * max(workers, 1)
    family, address = first.family, first.getsockname()
    first.close()
    per_worker = []
    for _ in range(workers):
        sock = socket.socket(family=family)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
        sock.set_inheritable(True)
        per_worker.append([sock])
    return per_worker


def _supervisor(config: Any, per_worker: list[list[Any]]) -> Any:
    """uvicorn's supervisor (it replaces dead workers), plus three duties.

    Worker i always listens on ``per_worker[i]`` (its replacement too: connections the kernel
    queued on a dead worker's socket wait there for the new one); a dead worker's live
    Prometheus gauges are retired; and workers dying over and over (a crash loop: a model that
    kills its process on load) stop the service instead of spinning.
    """
    from prometheus_client import multiprocess
    from uvicorn.supervisors import Multiprocess
    from uvicorn.supervisors.multiprocess import Process

    class Supervisor(Multiprocess):
        deaths: list[float] = []

        def init_processes(self) -> None:
            for socks in per_worker:
                process = Process(self.config, socks)
                process.start()
                self.processes.append(process)

        def keep_subprocess_alive(self) -> None:
            before = {p.pid for p in self.processes}
            for idx, socks in enumerate(per_worker):  # uvicorn replaces a worker with self.sockets
                self.sockets = socks
                self._keep_alive(idx)
            for pid in before - {p.pid for p in self.processes}:
                if pid is not None:
                    multiprocess.mark_process_dead(pid)
                now = time.monotonic()
                self.deaths = [t for t in self.deaths if now - t < _CRASH_WINDOW_S] + [now]
                if len(self.deaths) > _CRASH_LIMIT:
                    logger.error("%d workers died within %ds: stopping (see the errors above)",
                                 len(self.deaths), _CRASH_WINDOW_S)
                    self.should_exit.set()

        def _keep_alive(self, idx: int) -> None:
            """uvicorn's check of one worker (``keep_subprocess_alive`` looks at every one)."""
            processes, self.processes = self.processes, [self.processes[idx]]
            try:
                super().keep_subprocess_alive()
            finally:
                processes[idx] = self.processes[0]
                self.processes = processes

        def restart_all(self) -> None:  # SIGHUP: each worker replaced in turn, on its own socket
            processes = self.processes
            try:
                for idx, socks in enumerate(per_worker):
                    self.sockets, self.processes = socks, [processes[idx]]
                    super().restart_all()
                    processes[idx] = self.processes[0]
            finally:
                self.processes = processes

    return Supervisor(config, sockets=[s for socks in per_worker for s in socks])
