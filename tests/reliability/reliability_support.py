"""Helpers of the reliability suite: real `podium` processes on 127.0.0.1, a model podium trained itself.

``trained`` (a fixture, see conftest.py) is a project folder where the real CLI added a dataset (``sales``), bound a
pipeline to it and trained the first version of ``churn`` (two trials: small and quick), so
every test here serves a package made the way a user's is made.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "serving"))

from live_service import Service, registry_of, start_service  # noqa: E402

from podium.testing.servers import free_port  # noqa: E402

PODIUM = str(Path(sys.executable).parent / "podium")
QUICKSTART = ROOT / "examples" / "quickstart"
CUSTOMERS = QUICKSTART / "customers.csv"
NEW_CUSTOMERS = QUICKSTART / "new_customers.csv"
RECORD = {"plan": "pro", "region": "west", "tenure_months": 12, "monthly_fee": 55.0, "support_tickets": 2,
          "signup_date": "2023-01-02"}
#: the churn model every project here trains: one family, two trials (small and quick)
SPEC = """name: churn
source: customers.csv
target: churned
metric: accuracy
candidates: [logistic_regression]
budget: {trials: 2}
seed: 1
gate: {min_score: 0.5}
register: {model: churn, alias: champion}
notify: [log]
"""

__all__ = ["PODIUM", "QUICKSTART", "RECORD", "NEW_CUSTOMERS", "SPEC", "Service", "cli", "until", "ready",
           "serve_cli", "registry_of", "start_service", "trained_project", "serve_fixture"]


def cli(project: Path, *args: str, env: dict[str, str] | None = None,
        timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The real `podium` command in ``project`` (``env`` added to this process's)."""
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1", "COLUMNS": "300",
                               **(env or {})})


def until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1, log: Path | None = None) -> Any:
    """Wait for ``check()`` to be truthy, at most ``timeout`` seconds; returns its value. On a timeout
    the error ends with the tail of ``log``."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            tail = f":\n{log.read_text()[-3000:]}" if log is not None else ""
            raise AssertionError(f"timed out after {timeout}s waiting for {what}{tail}")
        time.sleep(every)


def ready(url: str) -> bool:
    """Whether the service at ``url`` answers GET /readyz with 200."""
    try:
        return httpx.get(f"{url}/readyz", timeout=1).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def serve_cli(project: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, Path]]:
    """The real `podium serve ARGS --port P` in ``project``, ready: its URL and log file. Stopped on exit
    (SIGTERM, then its whole session killed if it has not ended in 30 s)."""
    port = free_port()
    log = project / f"serve-{port}.log"
    with open(log, "w") as sink:
        process = subprocess.Popen(
            [PODIUM, "serve", *args, "--port", str(port)], cwd=project, stdout=sink, stderr=subprocess.STDOUT,
            start_new_session=True,
            env={**os.environ, "OMP_NUM_THREADS": "1", "PODIUM_HOME": str(project), **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        until(lambda: process.poll() is not None or ready(url), 60, "the service to start", log=log)
        assert process.poll() is None, f"podium serve exited ({process.returncode}):\n{log.read_text()[-3000:]}"
        yield url, log
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def trained_project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project where podium trained churn v1 from dataset sales v1 (pipeline bound to it)."""
    project = tmp_path_factory.mktemp("reliability")
    shutil.copy(CUSTOMERS, project / "customers.csv")
    (project / "churn.yaml").write_text(SPEC)
    (project / "podium.yaml").write_text("n_jobs: 1\n")
    for args in (("datasets", "add", "sales", "customers.csv"),
                 ("pipelines", "bind", "churn.yaml", "--dataset", "sales"),
                 ("watch", "--once")):
        done = cli(project, *args)
        assert done.returncode == 0, f"podium {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    assert registry_of(project).resolve("churn@champion").version == 1
    return project


def serve_fixture(trained: Path) -> Iterator[Callable[..., Service]]:
    """Start services over the trained project (stopped at the end of the test)."""
    started: list[Service] = []

    def start(**options: Any) -> Service:
        options = {"access_log": None, "prediction_log_rate": 0, "workers": 1, **options}
        service = start_service(trained, ["churn@champion"], **options)
        started.append(service)
        return service

    yield start
    for service in started:
        service.stop()
