"""The lean supervisor process of ``podium serve``: ``python -m podium.serving.supervisor``.

``podium serve`` checks what it is asked (the refs resolve, the packages verify, the keys file
parses) and completes the options, then replaces itself with this module (``exec_serve``: the
same process id, signals and terminal, a fresh interpreter). A supervisor binds the listening
sockets, starts the workers and replaces those that die; it imports the standard library only
(no pydantic, uvicorn or multiprocessing, whose resource tracker would be one more process),
so it holds ~12 MB for the service's lifetime. Its options come as JSON in one environment
variable, as the workers' do.

Each worker is a fresh interpreter (``subprocess``) that inherits its own listening socket —
all bound to the same port with ``SO_REUSEPORT``, so that the kernel spreads new connections
over the workers (with one shared socket the worker that wakes first takes every connection
waiting) — and two pipes: the supervisor pings a worker every half second once it has
answered a first time, and a worker that stops answering for ``PING_TIMEOUT_S`` (hung) is
killed and replaced, as is one that dies. A replacement listens on the dead worker's socket:
connections the kernel queued there wait for it. SIGTERM or SIGINT stops every worker
gracefully (in-flight requests first); SIGHUP replaces the workers one at a time, each new
one serving before the old one stops. Workers dying over and over (a crash loop) stop the
service instead of spinning.
"""

from __future__ import annotations

import json
import logging
import os
import select
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from podium._internal.resources import usable_cores

if TYPE_CHECKING:
    from podium.serving.options import ServeOptions

__all__ = ["exec_serve", "main", "Supervisor", "bind_sockets", "OPTIONS_ENV", "SUPERVISOR_ENV", "WORKER_FD_ENV",
           "WORKER_PIPES_ENV", "METRICS_OWNED_ENV"]

OPTIONS_ENV = "PODIUM_SERVE_OPTIONS"
SUPERVISOR_ENV = "PODIUM_SUPERVISOR_PID"
WORKER_FD_ENV = "PODIUM_WORKER_FD"  # the worker's listening socket
WORKER_PIPES_ENV = "PODIUM_WORKER_PIPES"  # "PING_FD,PONG_FD": the supervisor's health check
METRICS_OWNED_ENV = "PODIUM_METRICS_DIR_OWNED"  # "1": the supervisor removes the metrics folder at the end
WORKER_CODE = "from podium.serving.workers import run_worker; run_worker()"
STARTUP_FAILURE = 3  # uvicorn's exit code for a worker whose app could not start
PING_TIMEOUT_S = 5.0
READY_TIMEOUT_S = 120.0  # a replacement's time to load its models (SIGHUP)
_CRASH_LIMIT, _CRASH_WINDOW_S = 10, 30
_CHECK_EVERY_S = 0.5

logger = logging.getLogger("podium.serving")


def exec_serve(options: ServeOptions) -> NoReturn:
    """Become the lean supervisor serving ``options`` (POSIX: ``execv``; elsewhere: serve here)."""
    from podium.serving.workers import prepare, serve

    if os.name != "posix":
        serve(options)
        raise SystemExit(0)
    options, owned = prepare(options)
    os.environ[METRICS_OWNED_ENV] = "1" if owned else ""
    source = str(Path(__file__).resolve().parents[2])  # this podium, whatever put it on sys.path
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "podium.serving.supervisor"])


def main() -> None:
    """The supervisor process: options from the environment (completed by ``prepare``)."""
    logging.basicConfig(level=logging.INFO,
                        format="%(asctime)s %(levelname)s [%(process)d] %(name)s: %(message)s")
    options = json.loads(os.environ[OPTIONS_ENV])
    metrics_dir = options.get("metrics_dir")
    try:
        code = run(options)
    finally:
        if metrics_dir and os.environ.get(METRICS_OWNED_ENV) == "1":
            shutil.rmtree(metrics_dir, ignore_errors=True)
    raise SystemExit(code)


def run(options: dict[str, Any]) -> int:
    """Bind, start the workers, supervise until SIGTERM or SIGINT; the exit status (0: stopped
    when asked; 1: the workers could not start, or kept dying)."""
    workers = int(options.get("workers") or 0) or usable_cores()
    sockets = bind_sockets(str(options.get("host") or "127.0.0.1"), int(options.get("port") or 0), workers)
    try:
        return Supervisor(sockets, graceful=float(options.get("graceful_timeout") or 0)).run()
    finally:
        for sock in {id(s): s for s in sockets}.values():
            sock.close()


def bind_sockets(host: str, port: int, workers: int) -> list[socket.socket]:
    """The listening socket of each worker: one of its own, all bound to ``port`` with
    ``SO_REUSEPORT``, so that the kernel spreads new connections evenly over the workers.

    The port is first bound the usual way, alone, so that a port in use fails as it always did;
    where ``SO_REUSEPORT`` is missing every worker shares that one socket.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    first = _bound(family, (host, port), reuse_port=False)
    if workers < 2 or not hasattr(socket, "SO_REUSEPORT"):
        return [first] * max(workers, 1)
    address = first.getsockname()
    first.close()
    return [_bound(family, address, reuse_port=True) for _ in range(workers)]


def _bound(family: socket.AddressFamily, address: Any, *, reuse_port: bool) -> socket.socket:
    sock = socket.socket(family=family)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if reuse_port:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind(address)
    except OSError as exc:
        sock.close()
        logger.error("cannot listen on %s port %s: %s", address[0], address[1], exc.strerror or exc)
        raise SystemExit(1) from None
    sock.set_inheritable(True)
    return sock


@dataclass
class Worker:
    """One worker process, its socket and the two ends of its health-check pipes."""

    process: subprocess.Popen[bytes]
    ping: int  # the supervisor writes here
    pong: int  # and reads the answer here
    answered: bool = False  # pinged only once it has answered (its start-up takes a while)
    started: bool = False  # its server said it serves

    @property
    def pid(self) -> int:
        return self.process.pid

    def check(self, timeout: float) -> bool | None:
        """Whether its server serves (a pong), or None when it does not answer in ``timeout``."""
        try:
            os.write(self.ping, b"p")
            ready, _, _ = select.select([self.pong], [], [], timeout)
            if not ready:
                return None
            answer = os.read(self.pong, 64)
        except OSError:
            return None
        if not answer:  # the worker closed its end: it is going
            return None
        self.answered = True
        self.started = answer.endswith(b"1")
        return self.started

    def close(self) -> None:
        for fd in (self.ping, self.pong):
            try:
                os.close(fd)
            except OSError:
                pass


@dataclass
class Supervisor:
    """Starts one worker a socket and keeps each one running until asked to stop."""

    sockets: list[socket.socket]
    graceful: float = 10.0
    workers: list[Worker] = field(default_factory=list)
    deaths: list[float] = field(default_factory=list)
    _signals: list[int] = field(default_factory=list)

    def run(self) -> int:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda number, _frame: self._signals.append(number))
        logger.info("supervisor [%d] starting %d workers", os.getpid(), len(self.sockets))
        self.workers = [self._start(sock) for sock in self.sockets]
        code = 0
        try:
            while True:
                time.sleep(_CHECK_EVERY_S)
                if any(s in (signal.SIGINT, signal.SIGTERM) for s in self._signals):
                    break
                if signal.SIGHUP in self._signals:
                    self._signals.clear()
                    self.restart_all()
                failed = self.keep_alive()
                if failed:
                    code = 1
                    break
        finally:
            self.stop_all()
        logger.info("supervisor [%d] stopped", os.getpid())
        return code

    def _start(self, sock: socket.socket) -> Worker:
        ping_read, ping_write = os.pipe()
        pong_read, pong_write = os.pipe()
        env = {**os.environ, SUPERVISOR_ENV: str(os.getpid()), WORKER_FD_ENV: str(sock.fileno()),
               WORKER_PIPES_ENV: f"{ping_read},{pong_write}"}
        try:
            process = subprocess.Popen([sys.executable, "-c", WORKER_CODE], env=env,
                                       pass_fds=(sock.fileno(), ping_read, pong_write))
        finally:
            os.close(ping_read)
            os.close(pong_write)
        return Worker(process, ping_write, pong_read)

    def keep_alive(self) -> bool:
        """Replace dead or hung workers; True when the service must stop (a crash loop, or an
        app that cannot start)."""
        for idx, worker in enumerate(self.workers):
            if worker.process.poll() is None:
                if not worker.answered:
                    worker.check(0)  # its first answer, if it is up yet
                    continue
                if worker.check(PING_TIMEOUT_S) is not None:
                    continue
                logger.error("worker [%d] did not answer for %.0f s: killing it", worker.pid, PING_TIMEOUT_S)
                worker.process.kill()
            code = worker.process.wait()
            worker.close()
            _mark_dead(worker.pid)
            if code == STARTUP_FAILURE and not worker.started:
                logger.error("worker [%d] could not start its app: stopping (see the errors above)", worker.pid)
                return True
            now = time.monotonic()
            self.deaths = [t for t in self.deaths if now - t < _CRASH_WINDOW_S] + [now]
            if len(self.deaths) > _CRASH_LIMIT:
                logger.error("%d workers died within %ds: stopping (see the errors above)",
                             len(self.deaths), _CRASH_WINDOW_S)
                return True
            logger.info("worker [%d] died (exit %s); starting another", worker.pid, code)
            self.workers[idx] = self._start(self.sockets[idx])
        return False

    def restart_all(self) -> None:
        """Each worker replaced in turn, on its own socket; the old one stops once the new one serves."""
        for idx, old in enumerate(self.workers):
            new = self._start(self.sockets[idx])
            deadline = time.monotonic() + READY_TIMEOUT_S
            while not new.check(1.0) and time.monotonic() < deadline and new.process.poll() is None \
                    and not any(s in (signal.SIGINT, signal.SIGTERM) for s in self._signals):
                time.sleep(0.1)
            if not new.started:
                new.process.kill()
                new.process.wait()
                new.close()
                logger.error("new worker [%d] was not serving in time; keeping [%d]", new.pid, old.pid)
                return
            self._stop([old])
            self.workers[idx] = new

    def stop_all(self) -> None:
        self._stop(self.workers, mark=False)  # the service ends: its figures go with it

    def _stop(self, workers: list[Worker], *, mark: bool = True) -> None:
        """SIGTERM (they finish their requests within the graceful timeout), then SIGKILL."""
        for worker in workers:
            if worker.process.poll() is None:
                worker.process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.graceful + 10
        for worker in workers:
            try:
                worker.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            worker.close()
            if mark:
                _mark_dead(worker.pid)


def _mark_dead(pid: int) -> None:
    """A dead worker's live Prometheus gauges are retired (their files, in the metrics folder)."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return
    from prometheus_client import multiprocess  # imported only once a worker has gone

    multiprocess.mark_process_dead(pid)


if __name__ == "__main__":
    main()
