"""Continuous training as a user runs it: `podium watch` and `podium serve` as real processes.

New data with a shifted distribution is dropped while a request loop calls the service: a
drifted dataset version appears, one run trains a challenger, and either the service answers
with the new model version or the webhook hears why not — with no failed request. A watcher
killed mid-run finishes the work after a restart, with no duplicate version.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from podium.config import load_settings
from podium.registry import Registry
from podium.registry.datasets import DatasetStore
from podium.registry.pipelines import PipelineStore
from podium.testing.servers import free_port

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "examples"))
from make_churn import churn_frame  # noqa: E402

pytestmark = pytest.mark.e2e
PODIUM = str(Path(sys.executable).parent / "podium")
RECORD = {"plan": "pro", "region": "north", "tenure_months": 12, "monthly_fee": 55.0,
          "support_tickets": 2, "signup_date": "2023-01-02"}


def _cli(project: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([PODIUM, *args], cwd=project, capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"})


def _start(project: Path, *args: str) -> subprocess.Popen:
    log = open(project / f"{args[0]}.log", "ab")
    return subprocess.Popen([PODIUM, *args], cwd=project, stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1"})


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def _project(tmp_path: Path, hook_url: str, spec_extra: str = "") -> Path:
    (tmp_path / "podium.yaml").write_text(f"notify: [log, {{webhook: '{hook_url}'}}]\nn_jobs: 1\n")
    churn_frame(800, seed=7).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "churn.yaml").write_text(
        "name: churn\nsource: data.csv\ntarget: churned\ncandidates: [logistic_regression, lightgbm]\n"
        "seed: 3\ngate: {min_score: 0.55}\n" + spec_extra)
    assert _cli(tmp_path, "datasets", "add", "sales", "data.csv").returncode == 0
    bound = _cli(tmp_path, "pipelines", "bind", "churn.yaml", "--dataset", "sales")
    assert bound.returncode == 0, bound.stderr
    return tmp_path


def _shifted(path: Path) -> None:
    frame = churn_frame(1000, seed=11)
    frame["monthly_fee"] = frame["monthly_fee"] * 2.5
    frame["tenure_months"] = frame["tenure_months"] // 3 + 1
    tmp = path.with_suffix(".tmp")
    frame.to_csv(tmp, index=False)
    tmp.replace(path)


def test_new_data_retrains_and_the_service_follows_or_a_person_is_told(tmp_path, webhook):
    hook_url, received = webhook
    project = _project(tmp_path, hook_url, "budget: {trials: 3}\n")
    first = _cli(project, "watch", "--once")
    assert first.returncode == 0, first.stderr
    registry = Registry.from_settings(load_settings(project))
    assert registry.resolve("churn@champion").version == 1

    port = free_port()
    service = _start(project, "serve", "churn@champion", "--port", str(port), "--workers", "1", "--no-auth",
                     "--reload-interval", "0.5")
    watcher = None
    url = f"http://127.0.0.1:{port}"
    try:
        _until(lambda: _ok(f"{url}/readyz"), 60, "the service to be ready")
        failures: list[str] = []
        versions: list[int] = []
        stop = threading.Event()

        def loop() -> None:
            with httpx.Client(base_url=url, timeout=10) as client:
                while not stop.is_set():
                    try:
                        answer = client.post("/v1/models/churn/predict", json=RECORD)
                        if answer.status_code != 200:
                            failures.append(f"{answer.status_code} {answer.text[:200]}")
                        else:
                            versions.append(answer.json()["version"])
                    except httpx.HTTPError as exc:
                        failures.append(repr(exc))
                    time.sleep(0.02)

        requests = threading.Thread(target=loop, daemon=True)
        requests.start()
        watcher = _start(project, "watch", "--interval", "0.5", "--quiet", "1")
        time.sleep(1.0)
        _shifted(project / "data.csv")

        datasets = DatasetStore(registry)
        version = _until(lambda: next((v for v in datasets.versions("sales") if v.version == 2), None), 60,
                         "a new dataset version")
        assert version.drifted and "monthly_fee" in version.drifted_columns
        jobs = PipelineStore(registry)
        _until(lambda: [j for j in jobs.jobs() if j.trigger == "version:2" and j.state == "done"], 120,
               "the run on the new version")
        run = registry.get_run(jobs.jobs()[-1].run_id)
        if run.status == "succeeded":
            _until(lambda: versions and versions[-1] == 2, 30, "the service to answer with version 2")
        else:
            _until(lambda: any(e["event"] == "gate_failed" for e in received), 10, "a notification")
        assert any(e["event"] == "drift" for e in received)
        time.sleep(0.5)
        stop.set()
        requests.join(15)
        assert failures == []
        assert len(versions) > 20 and versions[0] == 1
        assert len([j for j in jobs.jobs() if j.trigger == "version:2"]) == 1
    finally:
        if watcher is not None:
            _stop(watcher)
        _stop(service)


def test_a_watcher_killed_mid_run_finishes_the_work_after_a_restart(tmp_path, webhook):
    hook_url, _ = webhook
    project = _project(tmp_path, hook_url, "time_budget: 6\n")
    registry = Registry.from_settings(load_settings(project))
    jobs = PipelineStore(registry)
    watcher = _start(project, "watch", "--interval", "0.3", "--quiet", "0.5")
    try:
        _until(lambda: [j for j in jobs.jobs() if j.state == "running" and j.run_id], 60, "a run to start")
        time.sleep(1.5)
        watcher.kill()  # SIGKILL in the middle of the competition
        watcher.wait()
        assert registry.list_models() == []
        watcher = _start(project, "watch", "--interval", "0.3", "--quiet", "0.5")
        _until(lambda: [j for j in jobs.jobs() if j.state == "done"], 90, "the job to finish after a restart")
    finally:
        _stop(watcher)
    assert len(jobs.jobs()) == 1
    assert [v.version for v in registry.list_versions("churn")] == [1]
    statuses = sorted(r.status for r in registry.list_runs())
    assert statuses == ["failed", "succeeded"]  # the interrupted run, then the one that finished


def _ok(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.HTTPError:
        return False
