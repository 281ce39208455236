"""Jobs with leases: several watchers on one registry run each job exactly once.

Real processes on a real registry (a SQLite file, and PostgreSQL): watchers started with
``podium watch``, and claimers racing on the queue through the library.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from podium.config import load_settings
from podium.registry import Registry
from podium.registry.datasets import DatasetStore
from podium.registry.pipelines import PipelineStore

pytestmark = pytest.mark.reliability

PODIUM = str(Path(sys.executable).parent / "podium")
SPEC = {"name": "churn", "source": "data.csv", "target": "y", "budget": {"trials": 2},
        "candidates": ["logistic_regression"], "ensemble": False, "notify": [],
        "promotion": {"smoke_test": False}}


def write_data(path: Path, *, n: int = 150, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    x = rng.normal(0, 1, n)
    pd.DataFrame({"x": x, "z": rng.normal(size=n), "y": np.where(x + rng.normal(0, .5, n) > 0, "a", "b")}) \
        .to_csv(path, index=False)


def make_project(tmp_path: Path, registry_url: str | None, *, lease: float = 5.0) -> Registry:
    settings = ["executor: inline", "notify: []", f"watch_lease_seconds: {lease}"]
    if registry_url:
        settings.append(f"registry_url: '{registry_url}'")
    (tmp_path / "podium.yaml").write_text("\n".join(settings) + "\n")
    write_data(tmp_path / "data.csv")
    registry = Registry.from_settings(load_settings(tmp_path))
    DatasetStore(registry).add("sales", str(tmp_path / "data.csv"))
    return registry


def env(project: Path, **extra: str) -> dict[str, str]:
    return {**os.environ, "PODIUM_HOME": str(project), "OMP_NUM_THREADS": "1", **extra}


def start_watcher(project: Path, name: str, **extra: str) -> subprocess.Popen[bytes]:
    log = open(project / f"{name}.log", "ab")
    return subprocess.Popen([PODIUM, "watch", "--interval", "0.2", "--quiet", "0"], cwd=project,
                            stdout=log, stderr=subprocess.STDOUT, env=env(project, **extra))


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_two_watchers_run_each_job_once(tmp_path: Path, registry_url: str | None) -> None:
    registry = make_project(tmp_path, registry_url)
    store = PipelineStore(registry)
    for name in ("p0", "p1", "p2"):
        store.bind(name, {**SPEC, "name": name}, dataset="sales")
    watchers = [start_watcher(tmp_path, f"watch{i}") for i in range(2)]
    try:
        until(lambda: all("watching" in (tmp_path / f"watch{i}.log").read_text() for i in range(2)), 60,
              "both watchers to start")
        DatasetStore(registry).snapshot("sales")  # one new version: three jobs, two watchers
        until(lambda: len(store.jobs()) == 3 and all(j.state == "done" for j in store.jobs()), 120,
              "the three jobs to be done")
        assert all(w.poll() is None for w in watchers)
    finally:
        for w in watchers:
            stop(w)
    jobs = store.jobs()
    assert sorted((j.pipeline, j.trigger, j.attempts) for j in jobs) == \
        [("p0", "version:1", 1), ("p1", "version:1", 1), ("p2", "version:1", 1)]
    runs = registry.list_runs()
    assert sorted(r.name for r in runs) == ["p0", "p1", "p2"]
    assert {r.id for r in runs} == {j.run_id for j in jobs}
    assert all(r.status == "succeeded" for r in runs)
    for name in ("p0", "p1", "p2"):
        assert [v.version for v in registry.list_versions(name)] == [1]
    logs = "".join((tmp_path / f"watch{i}.log").read_text() for i in range(2))
    assert logs.count(": running ") == 3


CLAIMER = """
import json, sys
from podium.config import load_settings
from podium.registry import Registry
from podium.registry.pipelines import PipelineStore
store = PipelineStore(Registry.from_settings(load_settings(sys.argv[1])))
owner, got = sys.argv[2], []
while True:
    job = store.claim(owner)
    if job is None:
        if not store.jobs(state="queued"):
            break
        continue
    got.append(job.id)
    assert store.finish(job.id, owner=owner)
print(json.dumps(got))
"""


def test_racing_claims_give_each_job_to_one_owner(tmp_path: Path, registry_url: str | None) -> None:
    registry = make_project(tmp_path, registry_url)
    store = PipelineStore(registry)
    queued = []
    for p in range(8):
        store.bind(f"p{p}", {**SPEC, "name": f"p{p}"}, dataset="sales")
        queued += [store.enqueue(f"p{p}", f"version:{v}", v, dataset="sales").id for v in range(1, 6)]
    claimers = [subprocess.Popen([sys.executable, "-c", CLAIMER, str(tmp_path), f"claimer-{i}"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env(tmp_path))
                for i in range(4)]
    outputs = []
    for proc in claimers:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        outputs.append(json.loads(out))
    claimed = [job_id for got in outputs for job_id in got]
    assert sorted(claimed) == sorted(queued)  # every job once, none twice
    jobs = store.jobs(limit=1000)
    assert all(j.state == "done" and j.attempts == 1 for j in jobs)
    for p in range(8):  # one pipeline's jobs ran in the order they were queued
        finished = [j for j in jobs if j.pipeline == f"p{p}"]
        assert [j.finished_at for j in finished] == sorted(j.finished_at for j in finished)


MOVER = """
import sys
from podium.config import load_settings
from podium.errors import ConflictError
from podium.registry import Registry
registry = Registry.from_settings(load_settings(sys.argv[1]))
try:
    registry.set_alias("m", "champion", int(sys.argv[2]), expected=1)
except ConflictError as exc:
    print("lost:", exc)
else:
    print("won")
"""


def test_racing_alias_moves_from_one_champion_let_exactly_one_win(tmp_path: Path,
                                                                  registry_url: str | None) -> None:
    from podium.automation.watch import Watcher

    registry = make_project(tmp_path, registry_url)
    watcher_spec = {**SPEC, "name": "m", "promotion": {"smoke_test": False}}
    store = PipelineStore(registry)
    store.bind("m", watcher_spec, dataset="sales")
    watcher = Watcher(load_settings(tmp_path), registry, quiet_seconds=0)
    assert watcher.step().ran[0][1] == "registered"  # m:1 is the champion
    package = registry.load("m:1")
    for _ in range(4):
        registry.register("m", package, alias=None)  # m:2 … m:5, each wanting to replace m:1
    movers = [subprocess.Popen([sys.executable, "-c", MOVER, str(tmp_path), str(v)], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env(tmp_path)) for v in range(2, 6)]
    answers = [p.communicate(timeout=60) for p in movers]
    assert all(p.returncode == 0 for p in movers), answers
    outcomes = [out.strip() for out, _ in answers]
    assert outcomes.count("won") == 1, outcomes
    assert all(o.startswith("lost: m@champion is at version") for o in outcomes if o != "won")
    winner = 2 + outcomes.index("won")
    assert registry.resolve("m@champion").version == winner
    moves = [e.payload for e in registry.list_events(kind="alias_moved", model="m")]
    assert [(m["from"], m["to"]) for m in moves] == [(1, winner), (None, 1)]


def test_a_pipeline_rebound_to_another_dataset_runs_that_datasets_versions(tmp_path: Path) -> None:
    registry = make_project(tmp_path, None)
    write_data(tmp_path / "other.csv", n=170, seed=9)

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([PODIUM, *args], cwd=tmp_path, capture_output=True, text=True, env=env(tmp_path),
                              timeout=120)

    (tmp_path / "churn.yaml").write_text(json.dumps(SPEC))  # JSON is YAML
    assert cli("pipelines", "bind", "churn.yaml", "--dataset", "sales").returncode == 0
    assert cli("watch", "--once").returncode == 0  # sales:1 → job version:1
    assert cli("datasets", "add", "regions", str(tmp_path / "other.csv")).returncode == 0
    assert cli("pipelines", "bind", "churn.yaml", "--dataset", "regions").returncode == 0
    assert cli("watch", "--once").returncode == 0  # regions:1 is news too, though "version:1" ran before
    jobs = PipelineStore(registry).jobs()
    assert [(j.dataset, j.trigger, j.state) for j in jobs] == [("sales", "version:1", "done"),
                                                               ("regions", "version:1", "done")]
    assert len(registry.list_runs()) == 2 and registry.get_run(jobs[1].run_id).source == "dataset regions:1"
