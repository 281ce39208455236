"""The device a trial trains on: ``cpu`` or ``cuda``, chosen once per run and set around each trial.

``resolve_device`` turns the spec's ``device: auto | cpu | cuda`` into the one a run uses
(auto: cuda when PyTorch sees a GPU); the trainer sets it with ``use_device`` around each
trial, as it sets the fit deadline, and families that can use a GPU read ``current_device()``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Literal

from podium.errors import SpecError

__all__ = ["DEVICES", "Device", "current_device", "cuda_available", "cuda_initialised", "resolve_device",
           "use_device", "device_used", "booster_device_params"]

Device = Literal["cpu", "cuda"]
#: what a spec or podium.yaml may ask for
DEVICES = ("auto", "cpu", "cuda")

_device: Device = "cpu"


@lru_cache(maxsize=1)
def cuda_available() -> bool:
    """Whether PyTorch is installed and sees a CUDA GPU (False without torch).

    Where no NVIDIA driver is loaded the answer is no without importing PyTorch: importing it
    costs ~180 MB in this process and, by fork, in every trial worker."""
    if importlib.util.find_spec("torch") is None or not _nvidia_driver_possible():
        return False
    # ask NVML, not the CUDA runtime: a runtime initialised here would be unusable in the trial
    # workers forked from this process (PyTorch reads this variable at each call)
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    torch = importlib.import_module("torch")
    return bool(torch.cuda.is_available())


def _nvidia_driver_possible() -> bool:
    """False where no CUDA GPU can be: macOS, or Linux without the NVIDIA driver (no
    /proc/driver/nvidia, no /dev/nvidia* device) and not WSL's GPU (/dev/dxg)."""
    if sys.platform == "darwin":
        return False
    if not sys.platform.startswith("linux"):
        return True  # Windows and the rest: ask PyTorch
    return (os.path.exists("/proc/driver/nvidia") or os.path.exists("/dev/dxg")
            or any(name.startswith("nvidia") for name in _dev_names()))


def _dev_names() -> list[str]:
    try:
        return os.listdir("/dev")
    except OSError:
        return []


def cuda_initialised() -> bool:
    """Whether this process has started CUDA (then a process forked from it cannot use CUDA)."""
    torch = sys.modules.get("torch")  # never imported here for the question: not started then
    return bool(torch is not None and torch.cuda.is_initialized())


def resolve_device(requested: str | None) -> Device:
    """The device a run uses for ``requested`` (auto, cpu or cuda; None means auto).

    Raises SpecError (one line) when cuda is asked for on a machine without one.
    """
    wanted = (requested or "auto").lower()
    if wanted not in DEVICES:
        raise SpecError(f"device: {requested!r} is not a device.", hint="use auto, cpu or cuda")
    if wanted == "cpu":
        return "cpu"
    if cuda_available():
        return "cuda"
    if wanted == "cuda":
        raise SpecError("device: cuda was asked for, but this machine has no CUDA GPU that PyTorch can use.",
                        hint="use device: auto (cuda when present, else cpu) or device: cpu")
    return "cpu"


@contextmanager
def use_device(device: Device) -> Iterator[None]:
    """Within the block, ``current_device()`` is ``device``."""
    global _device
    previous, _device = _device, device
    try:
        yield
    finally:
        _device = previous


def current_device() -> Device:
    """The device the current trial trains on (cpu outside any ``use_device`` block)."""
    return _device


def device_used(gpu: str | None, device: Device) -> Device:
    """The device a family whose ``Tags.gpu`` is ``gpu`` trains on when the run's is ``device``."""
    if device != "cuda" or gpu is None:
        return "cpu"
    if gpu == "torch":
        return "cuda"
    return "cuda" if booster_device_params(gpu, "cuda") else "cpu"


def booster_device_params(library: str, device: Device) -> dict[str, str]:
    """The parameters that put LightGBM or XGBoost on ``device``, or {} when its build cannot.

    XGBoost ≥ 2 takes ``device="cuda"`` when built with CUDA; LightGBM's CUDA build takes
    ``device_type="cuda"`` (the pip wheel is CPU-only: then it stays on the CPU).
    """
    if device != "cuda":
        return {}
    if library == "xgboost":
        return {"device": "cuda"} if _xgboost_has_cuda() else {}
    if library == "lightgbm":
        return {"device_type": "cuda"} if _lightgbm_has_cuda() else {}
    return {}


@lru_cache(maxsize=1)
def _xgboost_has_cuda() -> bool:
    if importlib.util.find_spec("xgboost") is None:
        return False
    xgb = importlib.import_module("xgboost")
    try:
        return bool(xgb.build_info().get("USE_CUDA", False))
    except Exception:  # an old or odd build: stay on the CPU
        return False


@lru_cache(maxsize=1)
def _lightgbm_has_cuda() -> bool:
    """Whether LightGBM was built with CUDA: a one-row fit on the GPU either works or raises."""
    if importlib.util.find_spec("lightgbm") is None:
        return False
    lgb = importlib.import_module("lightgbm")
    import numpy as np

    try:
        data = lgb.Dataset(np.arange(20, dtype=float).reshape(-1, 1), label=np.arange(20, dtype=float))
        lgb.train({"device_type": "cuda", "verbose": -1, "num_iterations": 1, "min_data_in_leaf": 1}, data)
    except Exception:  # LightGBMError "CUDA Tree Learner was not enabled in this build"
        return False
    return True
