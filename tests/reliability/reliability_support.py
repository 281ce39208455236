"""Helpers of the reliability suite: real `podium` processes on 127.0.0.1, a model podium trained itself.

``trained`` (a fixture, see conftest.py) is a project folder where the real CLI added a dataset (``sales``), bound a
pipeline to it and trained the first version of ``churn`` (two trials: small and quick), so
every test here serves a package made the way a user's is made.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests" / "integration" / "serving"))

from live_service import Service, registry_of, start_service  # noqa: E402

PODIUM = str(Path(sys.executable).parent / "podium")
CUSTOMERS = ROOT / "examples" / "quickstart" / "customers.csv"
NEW_CUSTOMERS = ROOT / "examples" / "quickstart" / "new_customers.csv"
RECORD = {"plan": "pro", "region": "west", "tenure_months": 12, "monthly_fee": 55.0, "support_tickets": 2,
          "signup_date": "2023-01-02"}
SPEC = """name: churn
source: customers.csv
target: churned
candidates: [logistic_regression]
budget: {trials: 2}
seed: 1
gate: {min_score: 0.5}
register: {model: churn, alias: champion}
notify: [log]
"""

__all__ = ["PODIUM", "RECORD", "NEW_CUSTOMERS", "Service", "cli", "until", "registry_of", "start_service",
           "trained_project", "serve_fixture"]


def cli(project: Path, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
    """The real `podium` command in ``project``."""
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"})


def until(check: Callable[[], Any], timeout: float, what: str, every: float = 0.1) -> Any:
    """Wait for ``check()`` to be truthy, at most ``timeout`` seconds; returns its value."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(every)


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
