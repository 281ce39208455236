"""No orphans: `podium run`, `watch` and `serve` killed outright (SIGKILL) leave no process behind.

Each command runs as a real process in a real project; once it is at work (its trial pool,
or its service workers, started), every descendant is noted, the parent is killed, and every
one of them must be gone within a deadline.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import httpx
import psutil
import pytest

from podium.testing.servers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from make_churn import churn_frame  # noqa: E402

pytestmark = pytest.mark.reliability
PODIUM = str(Path(sys.executable).parent / "podium")
T = TypeVar("T")


def _env(project: Path) -> dict[str, str]:
    return {**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"}


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=180,
                          env=_env(project))


def _until(check: Callable[[], T], timeout: float, what: str) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def _alive(process: psutil.Process) -> bool:
    try:
        if process.status() != psutil.STATUS_ZOMBIE:
            return True
        os.waitpid(process.pid, os.WNOHANG)  # adopted by the test session (a subreaper): reap it
    except (psutil.NoSuchProcess, ChildProcessError):
        pass
    return False


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("orphans")
    churn_frame(600, seed=7).drop(columns=["signup_date"]).to_csv(root / "data.csv", index=False)
    (root / "podium.yaml").write_text("notify: []\nn_jobs: 2\n")
    (root / "quick.yaml").write_text(
        "name: churn\nsource: data.csv\ntarget: churned\ncandidates: [logistic_regression]\n"
        "budget: {trials: 1}\nensemble: false\npromotion: {smoke_test: false}\n")
    (root / "long.yaml").write_text(  # busy for longer than any test waits
        "name: long\nsource: data.csv\ntarget: churned\ncandidates: [random_forest, mlp, lightgbm]\n"
        "time_budget: 120\n")
    for args in (("run", "quick.yaml"), ("datasets", "add", "sales", "data.csv"),
                 ("pipelines", "bind", "long.yaml", "--dataset", "sales")):
        done = _cli(root, *args)
        assert done.returncode == 0, done.stderr
    return root


def _kill_at_work(project: Path, args: list[str], at_work: Callable[[list[psutil.Process]], bool]) -> None:
    log = open(project / f"{args[0]}.log", "ab")
    process = subprocess.Popen([PODIUM, *args], cwd=project, stdout=log, stderr=subprocess.STDOUT,
                               env=_env(project))
    parent = psutil.Process(process.pid)
    descendants: list[psutil.Process] = []
    try:
        def working() -> list[psutil.Process]:
            found = parent.children(recursive=True)
            return found if at_work(found) else []

        descendants = _until(working, 120, f"podium {args[0]} to be at work")
        process.send_signal(signal.SIGKILL)
        process.wait(10)
        deadline = time.monotonic() + 30
        survivors = [p for p in descendants if _alive(p)]
        while survivors and time.monotonic() < deadline:
            time.sleep(0.2)  # polling the process table: nothing else reports an orphan
            survivors = [p for p in descendants if _alive(p)]
        assert not survivors, f"still running after podium {args[0]} died: {survivors}"
    finally:
        for leftover in [parent, *descendants]:
            try:
                leftover.kill()  # psutil checks it is still the same process
            except psutil.NoSuchProcess:
                pass
        process.wait(10)
        log.close()


def test_a_killed_run_leaves_no_trial_worker(project: Path) -> None:
    _kill_at_work(project, ["run", "long.yaml"], lambda found: len(found) >= 2)


def test_a_killed_watcher_leaves_no_trial_worker(project: Path) -> None:
    _kill_at_work(project, ["watch", "--interval", "0.3", "--quiet", "0.3"], lambda found: len(found) >= 2)


def test_a_killed_service_supervisor_leaves_no_worker(project: Path) -> None:
    port = free_port()

    def serving(found: list[psutil.Process]) -> bool:
        try:
            ok = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False
        return ok and len(found) >= 2

    _kill_at_work(project, ["serve", "churn@champion", "--port", str(port), "--workers", "2", "--no-auth"],
                  serving)
    with pytest.raises(httpx.HTTPError):  # nothing answers on the port any more
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2)
