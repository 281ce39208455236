"""The device a run trains on: resolved once, set around each trial, shown on the leaderboard."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from podium.candidates import candidate_registry, current_device, resolve_device, use_device
from podium.candidates.device import booster_device_params, cuda_available, device_used
from podium.config import load_settings
from podium.errors import SpecError
from podium.spec import BudgetSpec, parse_spec
from podium.training import InlineExecutor, compete, prepare, select_candidates

needs_no_gpu = pytest.mark.skipif(cuda_available(), reason="this machine has a CUDA GPU")


def test_cpu_is_cpu_and_auto_takes_cuda_only_when_present():
    assert resolve_device("cpu") == "cpu"
    assert resolve_device("auto") == resolve_device(None) == ("cuda" if cuda_available() else "cpu")


@needs_no_gpu
def test_auto_is_cpu_on_a_machine_without_a_gpu_and_cuda_is_a_clear_error():
    assert resolve_device("auto") == "cpu"
    with pytest.raises(SpecError, match="device: cuda was asked for, but this machine has no CUDA GPU") as info:
        resolve_device("cuda")
    assert "\n" not in str(info.value) and "device: auto" in str(info.value)


def test_an_unknown_device_is_refused_by_the_spec_and_the_settings(tmp_path, monkeypatch):
    with pytest.raises(SpecError, match="device"):
        parse_spec({"source": "x.csv", "target": "y", "device": "gpu"})
    assert parse_spec({"source": "x.csv", "target": "y"}).device is None  # the project's setting decides
    assert load_settings(tmp_path, environ={}).device == "auto"
    assert load_settings(tmp_path, environ={"PODIUM_DEVICE": "cpu"}).device == "cpu"
    (tmp_path / "podium.yaml").write_text("device: tpu\n")
    with pytest.raises(SpecError, match="device"):
        load_settings(tmp_path, environ={})


def test_the_device_context_nests_and_restores():
    assert current_device() == "cpu"
    with use_device("cuda"):
        assert current_device() == "cuda"
        with use_device("cpu"):
            assert current_device() == "cpu"
        assert current_device() == "cuda"
    assert current_device() == "cpu"


def test_a_family_trains_on_cuda_only_when_its_library_can():
    assert device_used(None, "cuda") == "cpu"  # scikit-learn families
    assert device_used("torch", "cuda") == "cuda" and device_used("torch", "cpu") == "cpu"
    for library in ("xgboost", "lightgbm"):  # their pip wheels here are CPU builds: never a failure
        params = booster_device_params(library, "cuda")
        assert device_used(library, "cuda") == ("cuda" if params else "cpu")
        assert booster_device_params(library, "cpu") == {}
    assert candidate_registry.get("lstm").tags.gpu == "torch"
    assert candidate_registry.get("logistic_regression").tags.gpu is None


def test_each_leaderboard_row_says_which_device_its_trial_used():
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=120), "z": rng.normal(size=120)})
    frame["y"] = np.where(frame["x"] + rng.normal(0, 0.3, 120) > 0, "yes", "no")
    problem = prepare(frame, parse_spec({"source": "x.csv", "target": "y"})).problem
    cands, _ = select_candidates(["logistic_regression", "decision_tree"], "binary", 120)
    board = compete(problem, cands, budget=BudgetSpec(trials=2), executor=InlineExecutor(), ensemble=False,
                    device="cuda")  # asked for: the scikit-learn families still train on the CPU
    assert [r["device"] for r in board.rows()] == ["cpu", "cpu"]
    assert all(r.trial.device == "cuda" for r in board.results)


@needs_no_gpu
def test_podium_run_with_cuda_on_a_machine_without_one_is_one_line_and_exit_2(tmp_path):
    (tmp_path / "d.csv").write_text("x,y\n" + "".join(f"{i},{i % 2}\n" for i in range(40)))
    result = subprocess.run([sys.executable, "-c", "from podium.cli.main import main; main()", "run",
                             "--data", "d.csv", "--target", "y", "--device", "cuda", "--trials", "1"],
                            capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "no CUDA GPU" in lines[0] and "Traceback" not in result.stderr
    assert not (tmp_path / ".podium").exists()  # refused before anything was recorded


def test_trial_workers_are_spawned_once_this_process_has_started_cuda(monkeypatch):
    import podium.training.executors as executors
    from podium.training import LocalExecutor

    methods = []
    get_context = executors.multiprocessing.get_context
    monkeypatch.setattr(executors.multiprocessing, "get_context", lambda method: methods.append(method)
                        or get_context(method))
    monkeypatch.setattr(executors, "cuda_initialised", lambda: True)  # as after a final fit on the GPU
    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"x": rng.normal(size=80)})
    frame["y"] = np.where(frame["x"] > 0, "yes", "no")
    problem = prepare(frame, parse_spec({"source": "x.csv", "target": "y"})).problem
    cands, _ = select_candidates(["logistic_regression"], "binary", 80)
    board = compete(problem, cands, budget=BudgetSpec(trials=1), executor=LocalExecutor(1), ensemble=False)
    assert methods == ["spawn"] and board.best is not None and board.best.value > 0.8


@needs_no_gpu
def test_asking_for_a_gpu_where_there_is_none_does_not_import_pytorch():
    # PyTorch costs ~180 MB in the process that asks, and in every trial worker forked from it
    code = ("import sys; from podium.candidates.device import resolve_device; "
            "assert resolve_device('auto') == 'cpu'; print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
