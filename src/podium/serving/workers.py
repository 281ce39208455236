"""Running a service: N uvicorn worker processes, kept alive by a lean supervisor.

``serve(options)`` completes the options (``prepare``), then runs the supervisor
(``podium.serving.supervisor``: it binds one listening socket a worker, all on the same port,
starts the workers and replaces those that die; SIGTERM or SIGINT stops every worker
gracefully, in-flight requests first; a supervisor killed outright takes its workers with
it). Each worker (``run_worker``) is uvicorn on the socket it inherited, loads its models
once, with one OpenMP/BLAS thread (N workers on N cores must not fight over them), and
follows its aliases on its own. Prometheus figures of all workers meet in a shared folder
(``PROMETHEUS_MULTIPROC_DIR``).

Workers are fresh processes, so they get their options as JSON in one environment variable,
read once by ``worker_app`` — the worker's app factory. A worker that cannot load its models
because the registry or the artifact store cannot be reached waits and tries again (backing
off up to a minute) instead of dying and being restarted in a tight loop; a model that
cannot be served (a bad package) still fails the worker at once.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from podium._internal.orphans import exit_with_parent
from podium.serving.options import ServeOptions
from podium.serving.supervisor import (
    METRICS_OWNED_ENV,
    OPTIONS_ENV,
    SUPERVISOR_ENV,
    WORKER_FD_ENV,
    WORKER_PIPES_ENV,
)

__all__ = ["serve", "prepare", "worker_app", "run_worker", "start_with_backoff", "OPTIONS_ENV", "check_refs"]

T = TypeVar("T")

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")
_BACKOFF_FIRST_S, _BACKOFF_MAX_S = 1.0, 60.0

logger = logging.getLogger("podium.serving")


def check_refs(registry: Any, refs: list[str]) -> list[tuple[str, int]]:
    """Resolve and verify every ref before any worker starts, so that a typo or a tampered or
    unsigned package fails once and clearly (workers check again when they load)."""
    return [(str(info.name), int(info.version)) for info in (registry.verify(ref) for ref in refs)]


def serve(options: ServeOptions) -> None:
    """Serve ``options.refs`` until SIGINT or SIGTERM (blocks)."""
    from podium.serving import supervisor

    options, owned = prepare(options)
    try:
        code = supervisor.run(options.model_dump(mode="json"))
    finally:
        if owned:
            import shutil

            shutil.rmtree(str(options.metrics_dir), ignore_errors=True)
    if code:
        raise SystemExit(code)


def prepare(options: ServeOptions) -> tuple[ServeOptions, bool]:
    """The options completed (the current project's registry, a metrics folder, a service id)
    and this process's environment set for the workers it will start; and whether the metrics
    folder is the service's own (to remove at the end)."""
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
    owned = options.metrics_dir is None
    metrics_dir = options.metrics_dir or tempfile.mkdtemp(prefix="podium-metrics-")
    for stale in Path(metrics_dir).glob("*.db"):  # figures of an earlier run would add up
        stale.unlink()
    options = options.model_copy(update={"metrics_dir": metrics_dir, "workers": options.resolved_workers,
                                          "service_id": options.service_id or uuid.uuid4().hex})
    # Workers are started from this process (or the supervisor it becomes): what they inherit is set here.
    os.environ[OPTIONS_ENV] = options.model_dump_json()
    os.environ[SUPERVISOR_ENV] = str(os.getpid())
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir
    os.environ.pop(METRICS_OWNED_ENV, None)
    for var in _THREAD_VARS:
        os.environ[var] = "1"
    return options, owned


def run_worker() -> None:
    """A worker process (started by the supervisor): uvicorn serving ``worker_app`` on the
    listening socket it inherited, answering the supervisor's health checks."""
    import uvicorn

    options = ServeOptions.model_validate_json(os.environ[OPTIONS_ENV])
    config = uvicorn.Config(
        "podium.serving.workers:worker_app", factory=True, host=options.host, port=options.port,
        access_log=False, log_level="info", lifespan="on",
        timeout_graceful_shutdown=int(options.graceful_timeout) or None, server_header=False,
        limit_concurrency=options.max_concurrency,
        ws="none",  # no WebSocket route: a worker need not import a WebSocket library
    )
    server = uvicorn.Server(config)
    pipes = os.environ.get(WORKER_PIPES_ENV)
    if pipes:
        ping, pong = (int(fd) for fd in pipes.split(","))
        threading.Thread(target=_answer_pings, args=(ping, pong, lambda: server.started),
                         name="podium-health", daemon=True).start()
    sock = socket.socket(fileno=int(os.environ[WORKER_FD_ENV]))
    server.run(sockets=[sock])  # an app that cannot start exits with uvicorn's status 3: the supervisor stops


def _answer_pings(ping: int, pong: int, started: Callable[[], bool]) -> None:
    """The supervisor's health check: each byte it writes gets "1" (serving) or "0" (starting)."""
    while os.read(ping, 64):
        os.write(pong, b"1" if started() else b"0")


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
