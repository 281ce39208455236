"""A real `podium console` process on 127.0.0.1: sign in, run, watch, and its workers end with it."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import psutil
import pytest

from podium.config import load_settings
from podium.registry import Registry
from podium.testing.servers import free_port, wait_for_port

pytestmark = pytest.mark.integration

SRC = Path(__file__).resolve().parents[3] / "src"


def _podium(*args: str, project: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONPATH": str(SRC) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.Popen([sys.executable, "-c", "from podium.cli.main import main; main()",
                             "--project", str(project), *args], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "y": (x[:, 0] > 0).astype(int)}).to_csv(tmp_path / "t.csv", index=False)
    return tmp_path


@pytest.fixture
def admin_key(project: Path) -> str:
    with Registry.from_settings(load_settings(project)) as registry:
        return registry.create_key("me", (), admin=True)[1]


@pytest.fixture
def console(project: Path, admin_key: str) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    port = free_port()
    process = _podium("console", "--port", str(port), project=project)
    try:
        wait_for_port(port, timeout=30)
        yield f"http://127.0.0.1:{port}", process
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=20)


def _stream(client: httpx.Client, run_id: str, headers: dict[str, str]) -> Iterator[dict[str, object]]:
    with client.stream("GET", f"/api/runs/{run_id}/events", headers=headers, timeout=60) as answer:
        assert answer.status_code == 200
        for line in answer.iter_lines():
            if line.startswith("data: "):
                yield json.loads(line[6:])


def test_sign_in_run_and_watch_it_finish(console: tuple[str, subprocess.Popen[bytes]], project: Path,
                                         admin_key: str) -> None:
    url, _process = console
    with httpx.Client(base_url=url, timeout=30) as client:
        assert client.get("/api/models").status_code == 401
        assert client.get("/").status_code == 200  # the web app, or the page saying how to build it
        signed = client.post("/api/session", json={"key": admin_key})
        assert signed.status_code == 200
        csrf = {"X-CSRF-Token": signed.json()["csrf"]}
        spec = (f"name: t\nsource: {project / 't.csv'}\ntarget: y\ncandidates: [logistic_regression]\n"
                "budget: {trials: 2}\nensemble: false\nn_jobs: 1\npromotion: {smoke_test: false}\n")
        assert client.post("/api/runs", json={"yaml": spec}).status_code == 403  # the cookie alone: no CSRF
        run_id = client.post("/api/runs", json={"yaml": spec}, headers=csrf).json()["run_id"]
        events = list(_stream(client, run_id, {}))
        assert events[-1]["type"] == "end" and events[-1]["status"] == "registered"
        assert [e["id"] for e in events] == list(range(1, len(events) + 1))
        run = client.get(f"/api/runs/{run_id}").json()
        assert run["model"]["name"] == "t" and run["gate"]["passed"] is True
        assert [m["name"] for m in client.get("/api/models").json()] == ["t"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_a_running_worker_ends_with_the_console(console: tuple[str, subprocess.Popen[bytes]], project: Path,
                                                admin_key: str, sig: signal.Signals) -> None:
    url, process = console
    bearer = {"Authorization": f"Bearer {admin_key}"}
    spec = (f"name: long\nsource: {project / 't.csv'}\ntarget: y\ncandidates: [logistic_regression]\n"
            "budget: {seconds: 300}\nn_jobs: 1\n")
    with httpx.Client(base_url=url, timeout=30, headers=bearer) as client:
        run_id = client.post("/api/runs", json={"yaml": spec}).json()["run_id"]
        for event in _stream(client, run_id, {}):
            if event["type"] == "trial_finished":
                break  # the worker is training
    workers = psutil.Process(process.pid).children(recursive=True)
    assert workers, "the run has a worker process"
    process.send_signal(sig)  # SIGKILL: the console dies without any chance to clean up
    process.wait(timeout=30)
    gone, alive = psutil.wait_procs(workers, timeout=30)
    assert not alive, f"worker processes outlived the console: {alive}"


def test_no_auth_is_refused_off_localhost(project: Path) -> None:
    process = _podium("console", "--no-auth", "--host", "0.0.0.0", "--port", str(free_port()), project=project)
    _out, err = process.communicate(timeout=60)
    assert process.returncode == 2
    assert b"--no-auth on 0.0.0.0 would let anyone" in err


def test_a_huge_upload_gets_413_while_the_consoles_memory_stays_flat(project: Path, admin_key: str) -> None:
    """Dataset uploads go to the console (not the model service): a 600 MiB chunked body is cut off at the
    limit, streamed to disk as it came, and nothing is stored."""
    mib = 2**20
    port = free_port()
    process = _podium("console", "--port", str(port), "--max-upload-mb", "64", project=project)
    sent = 0

    def body() -> Iterator[bytes]:
        nonlocal sent
        head, block = b"plan,region,tenure_months\n", b"x" * mib
        sent += len(head)
        yield head
        while sent < 600 * mib:
            sent += len(block)
            yield block

    try:
        wait_for_port(port, timeout=30)
        console = psutil.Process(process.pid)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120,
                          headers={"Authorization": f"Bearer {admin_key}", "Content-Type": "text/csv"}) as client:
            # a first small upload loads what any upload loads (registry, readers): not the body's cost
            assert client.post("/api/datasets/warmup/versions", content=b"a,b\n1,2\n").status_code in (200, 201)
            before = peak = console.memory_info().rss
            refused = client.post("/api/datasets/sales/versions", content=body())
            peak = max(peak, console.memory_info().rss)
            assert refused.status_code == 413, refused.text
            assert refused.json()["detail"] == f"The upload is over the limit of {64 * mib:,} bytes."
            assert [d["name"] for d in client.get("/api/datasets").json()] == ["warmup"]  # nothing else stored
    finally:
        process.terminate()
        process.wait(timeout=20)
    print(f"upload: {sent / mib:.0f} MiB of 600 taken; console RSS peak +{(peak - before) / mib:.1f} MiB")
    assert sent < 64 * mib + 32 * mib, sent / mib  # the console stopped reading at the limit
    assert peak - before < 64 * mib, (peak - before) / mib  # less than the limit: the body went to disk
