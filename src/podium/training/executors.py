"""Where trials run: a local process pool, inline in this process, or a Ray cluster.

They differ only in how they are built. Each receives the ``Problem`` once (a worker
keeps it) and then runs trials; ``close(kill=True)`` abandons trials past the budget.
"""

from __future__ import annotations

import dataclasses
import gc
import multiprocessing
import os
import shutil
import socket
import tempfile
import threading
from abc import ABC, abstractmethod
from concurrent.futures import Future, ProcessPoolExecutor, wait
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium._internal.lazy import require
from podium._internal.mapped import map_arrays
from podium._internal.process import release_memory
from podium._internal.resources import affordable_workers, memory_headroom, resident_bytes, usable_cores
from podium._internal.named import Named
from podium._internal.orphans import exit_with_parent
from podium.candidates import candidate_registry
from podium.candidates.device import cuda_initialised, device_used
from podium.errors import NotFoundError, SpecError
from podium.training.leaderboard import Trial, TrialResult
from podium.training.problem import ForecastProblem, Problem
from podium.training.trial import run_trial

__all__ = ["Executor", "LocalExecutor", "InlineExecutor", "RayExecutor", "executor_kinds", "make_executor",
           "gpu_request", "ray_temp_root"]


class Executor(ABC):
    n_jobs: int = 1
    #: why there are fewer workers than cores, where the memory left decided it (said in the run's notes)
    memory_limited: str | None = None

    @abstractmethod
    def start(self, problem: Problem | ForecastProblem) -> None: ...

    @abstractmethod
    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]: ...

    @abstractmethod
    def close(self, *, kill: bool = False) -> None: ...


class InlineExecutor(Executor):
    """Runs each trial at submit time, in this process: for tests and debugging."""

    def start(self, problem: Problem | ForecastProblem) -> None:
        self._problem = problem

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        future: Future[TrialResult] = Future()
        future.set_result(run_trial(self._problem, trial, deadline))
        return future

    def close(self, *, kill: bool = False) -> None:
        pass


_worker_problem: Problem | ForecastProblem | None = None


def _init_worker(problem: Problem | ForecastProblem, parent_pid: int) -> None:
    global _worker_problem
    exit_with_parent(parent_pid)  # a killed `podium run` or `watch` leaves no worker behind
    _worker_problem = problem
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # one trial a core: nested threads would fight over the cores


def _run_in_worker(trial: Trial, deadline: float | None) -> TrialResult:
    assert _worker_problem is not None
    try:
        return run_trial(_worker_problem, trial, deadline)
    finally:
        release_memory()  # the trial's model is gone: its pages go back, the worker stays small


class LocalExecutor(Executor):
    """A pool of ``n_jobs`` processes on this machine.

    ``n_jobs`` 0 means a worker a core this process may use (``usable_cores``: its CPU affinity
    and its cgroup's quota), as many as the memory left affords (``memory_limited`` then says
    so). A forked worker shares this process's pages; what it adds is its trial's rows and model
    and the pages it writes: budgeted at half of what this process holds when the pool is made
    (measured on a 300,000-row table: 47-195 MB of a worker's own pages beside a 326-MB parent;
    on titanic, a second worker added ~6 MB to the cgroup's peak charge).

    Workers are forked: they start at once with the libraries already imported, and a
    caller's script needs no ``__main__`` guard. They end when this process ends, even by
    SIGKILL (``exit_with_parent``). Once this process has started CUDA (a final fit on the
    GPU, in a watcher that runs again) they are spawned instead: a forked child cannot use
    CUDA then.

    Before they fork, ``start`` moves the training data (a ``Problem``'s frames, targets and
    folds) into one read-only memory-mapped file (``map_arrays``) and the problem holds views
    of it from then on, in this process too: the rows are in memory once, and each process
    counts only the pages it reads (a trial on a subsample reads its rows, not the table).
    """

    def __init__(self, n_jobs: int = 0) -> None:
        cores = usable_cores()
        headroom, resident = memory_headroom(), resident_bytes()
        each = None if resident is None else resident // 2
        self.n_jobs = n_jobs if n_jobs > 0 else affordable_workers(cores, each, headroom)
        if self.n_jobs < cores and n_jobs <= 0 and headroom is not None and each is not None:
            self.memory_limited = (f"{self.n_jobs} trial worker{'s' * (self.n_jobs > 1)} for {cores} cores: "
                                   f"{headroom / 2**30:.1f} GB of memory left, ~{each / 2**30:.2f} GB a worker "
                                   "(n_jobs sets the number)")
        self._pool: ProcessPoolExecutor | None = None
        self._shared: Problem | None = None  # the problem whose data this executor mapped

    def start(self, problem: Problem | ForecastProblem) -> None:
        fork = os.name == "posix" and not cuda_initialised()
        if fork and isinstance(problem, Problem) and problem is not self._shared:
            share_data(problem)
            self._shared = problem
            release_memory()  # the heap's copy of the rows is gone: its pages go back before the fork
        context = multiprocessing.get_context("fork" if fork else "spawn")
        if fork:
            # what exists now is frozen for the workers forked from it: their collections
            # (release_memory after each trial) skip it instead of walking, and so copying,
            # every page of this process's heap (measured: 0.1-0.2 s of CPU a trial)
            gc.freeze()
        self._pool = ProcessPoolExecutor(self.n_jobs, mp_context=context,
                                         initializer=_init_worker, initargs=(problem, os.getpid()))

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        assert self._pool is not None, "start() first"
        return self._pool.submit(_run_in_worker, trial, deadline)

    def close(self, *, kill: bool = False) -> None:
        if self._pool is None:
            return
        if kill:  # trials past the budget: end their processes rather than wait for them
            for process in list(getattr(self._pool, "_processes", {}).values()):
                process.terminate()
        self._pool.shutdown(wait=not kill, cancel_futures=True)
        self._pool = None
        gc.unfreeze()


def share_data(problem: Problem) -> None:
    """Put ``problem``'s frames, targets and folds in a read-only memory-mapped file, in place:
    its fields become views of the file and the rows it held are freed. Data
    that cannot be pickled stays where it is (fork shares it then)."""
    names = [f.name for f in dataclasses.fields(problem) if _is_data(getattr(problem, f.name))]
    data = {name: getattr(problem, name) for name in names}
    try:
        mapped = map_arrays(data)
    except Exception:  # noqa: BLE001 - an unpicklable value in a frame: the fork still shares it
        return
    del data
    for name, value in mapped.items():
        setattr(problem, name, value)


def _is_data(value: Any) -> bool:
    if isinstance(value, (pd.DataFrame, pd.Series, np.ndarray)):
        return True
    return isinstance(value, list) and bool(value) and all(
        isinstance(item, tuple) and all(isinstance(part, np.ndarray) for part in item) for item in value)


class RayExecutor(Executor):
    """Trials as Ray tasks, on a Ray cluster (``address``) or on a Ray that this executor
    starts on this machine (no address).

    The ``Problem`` is put once in Ray's object store; each task gets a reference to it, so
    a node fetches the training data once, not once per trial. ``n_jobs`` 0 means one trial
    in flight per CPU of the cluster. A trial whose worker or node is lost (killed, out of
    memory, node gone) is a failed trial, not a failed run; ``close(kill=True)`` cancels
    the trials still running (their workers are ended).
    """

    def __init__(self, n_jobs: int = 0, address: str | None = None, temp_dir: str | Path | None = None) -> None:
        self.n_jobs = n_jobs
        self._requested_jobs = n_jobs
        self.address = address or None
        self.temp_dir = Path(temp_dir) if temp_dir else None
        self._ray: Any = None
        self._connected = False  # whether this executor connected (and so disconnects)
        self._problem_ref: Any = None
        self._session: Path | None = None  # the temp folder of a Ray this executor started
        self._running: dict[Any, tuple[Trial, Future[TrialResult]]] = {}  # by ObjectRef
        self._lock = threading.Lock()
        self._gpus = 0.0  # the cluster's GPUs

    def start(self, problem: Problem | ForecastProblem) -> None:
        ray = self._ray = require("ray", package="podium[ray]")
        if not ray.is_initialized():
            self._connect(ray, problem)
            self._connected = True
        resources = ray.cluster_resources()
        if self._requested_jobs <= 0:
            self.n_jobs = max(1, int(resources.get("CPU", 1)))
        self._gpus = float(resources.get("GPU", 0))
        self._problem_ref = ray.put(problem)  # once: every task gets this reference
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_trial)

    def _connect(self, ray: Any, problem: Problem | ForecastProblem) -> None:
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        quiet = {"logging_level": "ERROR", "log_to_driver": False}  # podium reports what matters
        if self.address is not None:
            _check_reachable(self.address)
            try:
                ray.init(address=self.address, **quiet)
            except Exception as exc:  # refused token, another Ray or Python version...
                raise SpecError(f"ray_address: cannot join the Ray cluster at {self.address}: {_first_line(exc)}",
                                hint="run podium with the cluster's Ray and Python versions and its "
                                     "RAY_AUTH_TOKEN (docs/scale.md)") from None
            return
        cpus = self._requested_jobs if self._requested_jobs > 0 else usable_cores()
        data_bytes = sum(int(part.memory_usage(deep=True).sum()) if isinstance(part, pd.DataFrame)
                         else int(part.memory_usage(deep=True))
                         for part in vars(problem).values() if isinstance(part, (pd.DataFrame, pd.Series)))
        self._session = Path(tempfile.mkdtemp(prefix="", dir=ray_temp_root(self.temp_dir)))
        try:
            ray.init(num_cpus=cpus, include_dashboard=False, _temp_dir=str(self._session),
                     object_store_memory=max(_MIN_OBJECT_STORE, 2 * data_bytes + _MIN_OBJECT_STORE), **quiet)
        except BaseException:
            shutil.rmtree(self._session, ignore_errors=True)
            self._session = None
            raise

    def submit(self, trial: Trial, deadline: float | None) -> Future[TrialResult]:
        assert self._problem_ref is not None, "start() first"
        ref = self._remote.options(num_gpus=gpu_request(trial, self._gpus)).remote(self._problem_ref, trial, deadline)
        future: Future[TrialResult] = Future()
        with self._lock:
            self._running[ref] = (trial, future)
        ref.future().add_done_callback(lambda done: self._settle(ref, done))
        return future

    def _settle(self, ref: Any, done: Future[Any]) -> None:
        """The task's outcome as a trial result: a lost worker or node is a failed trial."""
        with self._lock:
            entry = self._running.pop(ref, None)
        if entry is None:  # cancelled by close(): already settled
            return
        trial, future = entry
        errors = require("ray").exceptions
        try:
            result: TrialResult = done.result()
        except errors.RayTaskError as exc:  # the task raised: the trial's failure
            result = TrialResult(trial, "failed", error=_first_line(exc.cause if exc.cause else exc)[:300])
        except Exception as exc:  # WorkerCrashedError, NodeDiedError, OutOfMemoryError, ObjectLostError...
            result = TrialResult(trial, "failed", error=f"its Ray worker died: {_first_line(exc)}"[:300])
        future.set_result(result)

    def close(self, *, kill: bool = False) -> None:
        if self._ray is None:
            return
        if kill:  # trials past the budget: end their workers rather than wait for them
            with self._lock:
                running, self._running = self._running, {}
            for ref, (trial, future) in running.items():
                self._ray.cancel(ref, force=True)
                future.set_result(TrialResult(trial, "timeout", error="cancelled at the end of the time budget"))
        else:
            wait([future for _, future in list(self._running.values())])
        self._problem_ref = None
        if self._connected:
            self._ray.shutdown()
            self._connected = False
        if self._session is not None:  # the local Ray's logs and sockets: nothing is left behind
            shutil.rmtree(self._session, ignore_errors=True)
            self._session = None
        self._ray = None


#: Ray refuses an object store smaller than 75 MiB
_MIN_OBJECT_STORE = 128 * 1024**2
#: the longest folder whose Ray session sockets stay within AF_UNIX's 107 bytes (with the
#: 9 characters of each run's own subfolder)
_MAX_TEMP_DIR = 34


def ray_temp_root(preferred: Path | None = None) -> Path:
    """Where a Ray started by podium keeps its sessions, a subfolder a run, removed after it:
    ``preferred`` (podium passes ``<cache_dir>/ray``), else the user's cache folder,
    ``~/.cache/podium/ray``. Ray's socket paths must stay short, so a longer folder falls back
    to ``<tmp>/podium-<uid>/ray``."""
    from podium.registry.artifacts import default_cache_root

    folder = preferred or default_cache_root().parent / "ray"
    if len(str(folder)) > _MAX_TEMP_DIR:
        folder = Path(tempfile.gettempdir()) / f"podium-{os.geteuid()}" / "ray"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    return folder


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail at once with one clear line when nothing listens at a ``host:port`` address
    (``ray.init`` would retry for minutes)."""
    host, _, port = address.removeprefix("ray://").rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and the like: Ray resolves them
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise SpecError(f"ray_address: no Ray cluster answers at {address} ({exc.strerror or exc}).",
                        hint="start one (ray start --head --port PORT) or remove ray_address to let "
                             "podium start Ray on this machine") from None


def gpu_request(trial: Trial, cluster_gpus: float) -> int:
    """The GPUs a trial's Ray task asks for: one when the run trains on cuda, the family trains
    on a GPU there (``device_used``, with this machine's libraries) and the cluster has one.
    Ray hides the GPUs from a task that asks for none."""
    if trial.device != "cuda" or cluster_gpus < 1:
        return 0
    return 1 if device_used(candidate_registry.get(trial.candidate).tags.gpu, "cuda") == "cuda" else 0


def _ray_trial(problem: Problem | ForecastProblem, trial: Trial, deadline: float | None) -> TrialResult:
    """One trial in a Ray worker; the result names the node it ran on."""
    ray = require("ray")
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):  # one trial a CPU, as in the local pool
        try:
            result = run_trial(problem, trial, deadline)
        finally:
            release_memory()  # the trial's model is gone: the worker stays small, as in the local pool
    result.node = ray.get_runtime_context().get_node_id()
    return result


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"


executor_kinds: Named[type[Executor]] = Named("executor", error=NotFoundError)
executor_kinds.register("local", LocalExecutor)
executor_kinds.register("inline", InlineExecutor)
executor_kinds.register("ray", RayExecutor)


def make_executor(kind: str, n_jobs: int = 0, *, ray_address: str | None = None,
                  ray_temp_dir: str | Path | None = None) -> Executor:
    """The executor ``kind`` names; the ray options matter only to ``ray``."""
    cls = executor_kinds.get(kind)
    if cls is InlineExecutor:
        return InlineExecutor()
    if cls is RayExecutor:
        return RayExecutor(n_jobs, address=ray_address, temp_dir=ray_temp_dir)
    return cls(n_jobs)  # type: ignore[call-arg]
