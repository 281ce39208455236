"""Training on Ray: the real `podium run` against a real Ray, as a user runs it.

A spec trains unchanged on the local pool and on a Ray that podium starts itself; on a
cluster of two nodes joined with `ray start --address` (two "machines" on this one), trials
run on both nodes, a worker killed mid-trial is a failed trial and not a failed run, a node
lost mid-trial fails the trial it ran, and a trial still running at the end of the time
budget is cancelled and its worker ended.

Every Ray driver is a `podium` process: Ray's process-wide state (its token, its logging)
stays out of the test process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from podium import load_settings
from podium.registry import Registry
from podium.testing.servers import RayCluster, ray_cluster

pytestmark = pytest.mark.integration
PODIUM = str(Path(sys.executable).parent / "podium")

# A plugin of two families that misbehave in a worker, on the nodes' PYTHONPATH (an
# installed plugin: a dist-info folder with its entry points, as pip would leave it).
PLUGIN = '''
"""Families that misbehave in a worker: one is killed like an out-of-memory worker, one hangs."""
import os
import signal
import time
from pathlib import Path

from sklearn.base import BaseEstimator, ClassifierMixin

from podium.candidates import Candidate, Tags


class Killed(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        os.kill(os.getpid(), signal.SIGKILL)


class Hangs(ClassifierMixin, BaseEstimator):
    def fit(self, X, y):
        Path(os.environ["PODIUM_TEST_PIDS"], str(os.getpid())).touch()  # the fit has begun here
        time.sleep(600)
        return self


TAGS = Tags(handles_missing=True, encoding="ordinal")
killed = Candidate("worker_killed", frozenset({"binary"}), lambda task, params, seed: Killed(), tags=TAGS)
hangs = Candidate("worker_hangs", frozenset({"binary"}), lambda task, params, seed: Hangs(), tags=TAGS)
'''


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)
    return value


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"


def processes_mentioning(text: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and text in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


def write_table(folder: Path, rows: int = 300) -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=rows)
    pd.DataFrame({"x": x, "noise": rng.normal(size=rows), "color": rng.choice(["red", "blue", "green"], rows),
                  "label": np.where(x + rng.normal(0, 0.6, rows) > 0, "yes", "no")}).to_csv(
        folder / "table.csv", index=False)


def podium_run(folder: Path, env: dict[str, str], *args: str) -> dict[str, Any]:
    ran = subprocess.run([PODIUM, "run", *args, "--json"], cwd=folder, capture_output=True, text=True,
                         timeout=240, env={**os.environ, "OMP_NUM_THREADS": "1", "PODIUM_HOME": str(folder), **env})
    assert ran.returncode == 0, ran.stdout[-2000:] + ran.stderr[-4000:]
    result: dict[str, Any] = json.loads(ran.stdout)
    return result


def test_a_spec_trains_unchanged_on_the_local_pool_and_on_a_ray_podium_starts(tmp_path: Path) -> None:
    write_table(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "name: churn\nsource: table.csv\ntarget: label\nseed: 7\nbudget: {trials: 5}\n"
        "candidates: [logistic_regression, decision_tree, random_forest]\ngate: {min_score: 0.6}\n")
    cache = Path(tempfile.mkdtemp(prefix="pr-"))  # the Ray podium starts keeps its session under cache/ray
    try:
        local = podium_run(tmp_path, {"PODIUM_EXECUTOR": "local"}, "spec.yaml")
        on_ray = podium_run(tmp_path, {"PODIUM_EXECUTOR": "ray", "PODIUM_CACHE_DIR": str(cache)}, "spec.yaml")
        assert (local["status"], on_ray["status"]) == ("registered", "registered")

        def trials(result: dict[str, Any]) -> list[tuple[Any, ...]]:
            return sorted((r["trial"], r["candidate"], r["params"], r["status"]) for r in result["leaderboard"])

        assert trials(local) == trials(on_ray)
        scores = {r["trial"]: r["score"] for r in local["leaderboard"]}
        for row in on_ray["leaderboard"]:
            assert row["score"] == pytest.approx(scores[row["trial"]], abs=1e-9)
        assert {r["node"] for r in local["leaderboard"]} == {None}
        ray_nodes = {r["node"] for r in on_ray["leaderboard"] if r["candidate"] != "ensemble"}
        assert len(ray_nodes) == 1 and len(ray_nodes.pop()) == 56  # one local node, by its Ray node id
        # the Ray podium started is gone, and so is its session folder
        assert sorted((cache / "ray").iterdir()) == []
        wait_for(lambda: not processes_mentioning(str(cache)), "the local Ray's processes to end", 30)
    finally:
        shutil.rmtree(cache, ignore_errors=True)


@pytest.fixture(scope="module")
def plugin(tmp_path_factory: pytest.TempPathFactory) -> Path:
    site = tmp_path_factory.mktemp("site")
    (site / "podium_ray_test_plugin.py").write_text(PLUGIN)
    info = site / "podium_ray_test_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: podium-ray-test-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[podium.candidates]\nworker_killed = podium_ray_test_plugin:killed\n"
        "worker_hangs = podium_ray_test_plugin:hangs\n")
    return site


@pytest.fixture(scope="module")
def pids(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where a hanging trial writes its worker's pid."""
    return tmp_path_factory.mktemp("pids")


def with_plugin(plugin: Path) -> str:
    return os.pathsep.join(p for p in (str(plugin), os.environ.get("PYTHONPATH", "")) if p)


@pytest.fixture(scope="module")
def cluster(plugin: Path, pids: Path) -> Iterator[RayCluster]:
    """A head node and a second node joined to it, one CPU each; their workers see the plugin."""
    with ray_cluster(2, cpus=1, env={"PYTHONPATH": with_plugin(plugin), "PODIUM_TEST_PIDS": str(pids),
                                     "OMP_NUM_THREADS": "1"}) as running:
        yield running


def test_trials_run_on_both_nodes_and_a_lost_worker_is_a_failed_trial(
        cluster: RayCluster, plugin: Path, tmp_path: Path) -> None:
    write_table(tmp_path)
    (tmp_path / "spec.yaml").write_text(
        "name: churn\nsource: table.csv\ntarget: label\nseed: 7\nbudget: {trials: 5}\n"
        "candidates: [logistic_regression, decision_tree, worker_killed]\ngate: {min_score: 0.6}\n")
    result = podium_run(tmp_path, {"PODIUM_EXECUTOR": "ray", "PODIUM_RAY_ADDRESS": cluster.address,
                                   "PYTHONPATH": with_plugin(plugin), **cluster.env}, "spec.yaml")

    assert result["status"] == "registered"  # the run goes on: the model is registered
    rows = result["leaderboard"]
    (killed,) = [r for r in rows if r["candidate"] == "worker_killed"]
    assert killed["status"] == "failed"
    assert killed["error"].startswith("its Ray worker died: "), killed["error"]
    ok = [r for r in rows if r["status"] == "ok" and r["candidate"] != "ensemble"]
    assert len(ok) == 4
    nodes = {r["node"] for r in ok}
    # two trials at a time, one CPU a node: the first two ran side by side, one on each node
    assert len(nodes) == 2 and all(len(n) == 56 for n in nodes), nodes

    # the trials are stored with their nodes
    registry = Registry.from_settings(load_settings(tmp_path))
    stored = registry.get_trials(result["run_id"])
    assert {t["node"] for t in stored if t["status"] == "ok" and t["candidate"] != "ensemble"} == nodes


# Two trials that hang, one on each node; when told that the second node is gone, the driver
# waits for the first trial to settle, then does what the trainer does at the end of the time
# budget — close(kill=True) — and says what each trial became.
HANG_TWO = """
import json, os, sys, time
from concurrent.futures import FIRST_COMPLETED, wait
from pathlib import Path
import pandas as pd
from podium.spec import parse_spec
from podium.training import RayExecutor, Trial, prepare

frame = pd.read_csv(sys.argv[2])
problem = prepare(frame, parse_spec({"source": "table.csv", "target": "label"})).problem
executor = RayExecutor(address=sys.argv[1])
executor.start(problem)
futures = [executor.submit(Trial(i, "worker_hangs", {}, 0), None) for i in (0, 1)]
print("submitted", flush=True)
sys.stdin.readline()  # the second node is gone
wait(futures, timeout=120, return_when=FIRST_COMPLETED)
executor.close(kill=True)
print(json.dumps([[f.result(timeout=0).status, f.result(timeout=0).error] for f in futures]))
"""


def children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(entry.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(entry.parent.name))
        except (OSError, ValueError):
            continue
    return found


def test_a_lost_node_fails_its_trial_and_a_trial_past_the_budget_is_cancelled(
        cluster: RayCluster, plugin: Path, pids: Path, tmp_path: Path) -> None:
    """Kills the second node: the module's last test."""
    write_table(tmp_path)
    driver = subprocess.Popen([sys.executable, "-c", HANG_TWO, cluster.address, str(tmp_path / "table.csv")],
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              env={**os.environ, **cluster.env, "PYTHONPATH": with_plugin(plugin),
                                   "PODIUM_TEST_PIDS": str(pids)})
    try:
        assert driver.stdout is not None and driver.stdout.readline() == "submitted\n"
        workers = wait_for(lambda: [int(p.name) for p in pids.iterdir()] if len(list(pids.iterdir())) == 2 else None,
                           "both trials' fits to begin", 120)
        # the second node as a machine that crashed: its raylet (and with it its workers) killed
        (raylet,) = [c for c in children(cluster.nodes[1].pid)
                     if Path(f"/proc/{c}/cmdline").read_bytes().split(b"\0")[0].endswith(b"raylet")]
        os.kill(raylet, signal.SIGKILL)
        out, err = driver.communicate("lost\n", timeout=180)
    finally:
        if driver.poll() is None:
            driver.kill()
    assert driver.returncode == 0, err[-4000:]
    outcomes = sorted(json.loads(out.strip().splitlines()[-1]))
    assert outcomes[0][0] == "failed" and outcomes[0][1].startswith("its Ray worker died: "), outcomes
    assert outcomes[1] == ["timeout", "cancelled at the end of the time budget"]
    for worker in workers:  # the lost node's worker died with it; the cancelled one was ended
        wait_for(lambda: not alive(worker), f"worker {worker} to end", 30)
