"""The Ray executor's settings and refusals; the Ray runs themselves are in
tests/integration/training/test_ray_training.py."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from podium import load_settings
from podium.cli.render import leaderboard_table
from podium.errors import SpecError
from podium.spec import parse_spec
from podium.testing.servers import free_port
from podium.training import RayExecutor, Trial, make_executor, prepare
from podium.training.executors import gpu_request, ray_temp_root


def test_the_ray_address_is_a_setting_and_an_environment_variable(tmp_path: Path) -> None:
    (tmp_path / "podium.yaml").write_text("executor: ray\nray_address: 10.0.0.5:6379\n")
    assert load_settings(tmp_path, environ={}).ray_address == "10.0.0.5:6379"
    settings = load_settings(tmp_path, environ={"PODIUM_RAY_ADDRESS": "127.0.0.1:6380"})
    assert (settings.executor, settings.ray_address) == ("ray", "127.0.0.1:6380")
    executor = make_executor(settings.executor, 3, ray_address=settings.ray_address)
    assert isinstance(executor, RayExecutor)
    assert (executor.address, executor.n_jobs) == ("127.0.0.1:6380", 3)


def test_an_address_where_no_cluster_answers_is_one_clear_error_at_once() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=40), "y": ["a", "b"] * 20})
    problem = prepare(frame, parse_spec({"source": "t.csv", "target": "y"})).problem
    address = f"127.0.0.1:{free_port()}"
    with pytest.raises(SpecError, match=rf"^ray_address: no Ray cluster answers at {address} .*Hint: start one"):
        RayExecutor(address=address).start(problem)


def test_a_local_rays_temp_folder_is_short_enough_for_its_sockets(tmp_path: Path) -> None:
    short = Path("/tmp") / f"podium-t{os.getpid()}"
    try:
        assert ray_temp_root(short) == short and short.is_dir()
        assert oct(short.stat().st_mode & 0o777) == "0o700"
    finally:
        short.rmdir()
    deep = tmp_path / ("x" * 40) / "ray"  # Ray's socket paths would pass 107 bytes under it
    fallback = ray_temp_root(deep)
    assert fallback.name == "ray" and fallback.parent.name == f"podium-{os.geteuid()}"
    assert len(str(fallback)) <= 34 and not deep.exists()


def test_the_leaderboard_names_the_node_of_each_trial_only_when_trials_ran_on_ray() -> None:
    row = {"rank": 1, "candidate": "lightgbm", "score": 0.9, "fit_seconds": 0.5, "predict_ms_per_1000": 1.0,
           "size_bytes": 1000, "status": "ok", "error": None, "compiled": True}
    failed = {**row, "rank": None, "candidate": "mlp", "score": None, "status": "failed",
              "error": "its Ray worker died: WorkerCrashedError", "node": None}

    def shown(rows: list[dict]) -> str:
        console = Console(record=True, width=200)
        console.print(leaderboard_table(rows, "accuracy"))
        return console.export_text()

    on_ray = shown([{**row, "node": "5e3e3f915a20f6a5199ed9694aeb0311d2ae255ecfe0365f4b314fd6"}, failed])
    assert "node" in on_ray.splitlines()[2] and "5e3e3f91 " in on_ray
    assert "its Ray worker died" in on_ray
    assert "node" not in shown([{**row, "node": None}]).splitlines()[2]


def test_a_trial_asks_ray_for_a_gpu_only_when_it_trains_on_one_and_the_cluster_has_one() -> None:
    lstm = Trial(0, "lstm", {}, 0, device="cuda")
    assert gpu_request(lstm, cluster_gpus=2) == 1
    assert gpu_request(lstm, cluster_gpus=0) == 0  # a task asking for none never waits for one
    assert gpu_request(Trial(1, "lstm", {}, 0, device="cpu"), cluster_gpus=2) == 0
    assert gpu_request(Trial(2, "logistic_regression", {}, 0, device="cuda"), cluster_gpus=2) == 0
