"""CPU or GPU: the same fits on device cpu and on device cuda, and the speed-up.

    OMP_NUM_THREADS=1 python bench/gpu.py [--budget 60] [--forecast-only | --tabular-only]

Forecasting: the LSTM and GRU candidates (their default preset, the same seed) on every
dataset of the public forecasting suite (../shared/bench/forecast/public), fitted under a
``--budget`` second deadline on each device: fit seconds, MASE, and cpu s / cuda s.
Tabular: the families that have a GPU path (XGBoost and LightGBM, when their installed
build has CUDA) on every dataset of the tabular suite (../shared/bench/tabular): fit
seconds and the holdout score on each device.

On a machine without a CUDA GPU (PyTorch sees none) it says so and exits 0: there is
nothing to compare. The figures are for the machine it ran on; it prints what it saw.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parent))
from recurrent import BENCH, run_one  # noqa: E402  (the forecasting half: bench/recurrent.py)

from podium.candidates import candidate_registry, fit_deadline, use_device  # noqa: E402
from podium.candidates.device import booster_device_params, cuda_available  # noqa: E402
from podium.spec import parse_spec  # noqa: E402
from podium.training import get_metric, prepare  # noqa: E402
from podium.training.problem import make_pipeline  # noqa: E402

FORECAST_DATASETS = ("airline", "visnights", "elecdaily", "prices")


def forecast_rows(budget: float) -> list[dict[str, Any]]:
    rows = []
    for name in ("lstm", "gru"):
        for dataset in FORECAST_DATASETS:
            folder = BENCH / "forecast" / "public" / dataset
            cpu = run_one(name, folder, budget=budget, device="cpu", params={})
            cuda = run_one(name, folder, budget=budget, device="cuda", params={})
            rows.append({"family": name, "dataset": dataset, "cpu_s": cpu["fit_s"], "cuda_s": cuda["fit_s"],
                         "cpu_score": cpu["mase"], "cuda_score": cuda["mase"], "metric": "MASE"})
            _print_row(rows[-1])
    return rows


def tabular_rows(budget: float) -> list[dict[str, Any]]:
    manifest = json.loads((BENCH / "tabular" / "manifest.json").read_text())["datasets"]
    families = [f for f in ("xgboost", "lightgbm") if booster_device_params(f, "cuda")]
    for f in sorted({"xgboost", "lightgbm"} - set(families)):
        print(f"{f}: its installed build has no CUDA: skipped (it trains on the CPU whatever the device)")
    rows = []
    for info in manifest:
        frame = pd.read_csv(BENCH / "tabular" / info["train"])
        test = pd.read_csv(BENCH / "tabular" / info["test"])
        spec = parse_spec({"source": "bench.csv", "target": info["target"], "metric": info["primary_metric"]})
        problem = prepare(frame, spec).problem
        metric = get_metric(info["primary_metric"], problem.task)
        for family in families:
            result = {}
            for device in ("cpu", "cuda"):
                pipeline = make_pipeline(problem, candidate_registry.get(family), {}, 0)
                start = time.perf_counter()
                with use_device(device), fit_deadline(time.time() + budget):  # type: ignore[arg-type]
                    pipeline.fit(problem.X_train, problem.y_train)
                seconds = time.perf_counter() - start
                pred = pipeline.predict(test.drop(columns=[info["target"]]))
                result[device] = (seconds, metric.value(test[info["target"]].to_numpy(), pred))
            rows.append({"family": family, "dataset": info["name"], "cpu_s": result["cpu"][0],
                         "cuda_s": result["cuda"][0], "cpu_score": result["cpu"][1],
                         "cuda_score": result["cuda"][1], "metric": info["primary_metric"]})
            _print_row(rows[-1])
    return rows


def _print_row(r: dict[str, Any]) -> None:
    print(f"{r['family']:9} {r['dataset']:13} {r['cpu_s']:8.2f} {r['cuda_s']:8.2f} {r['cpu_s'] / r['cuda_s']:8.2f}× "
          f"{r['metric']:>9} {r['cpu_score']:9.4f} {r['cuda_score']:9.4f}", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--budget", type=float, default=60.0, help="fit deadline per fit, seconds")
    part = parser.add_mutually_exclusive_group()
    part.add_argument("--forecast-only", action="store_true")
    part.add_argument("--tabular-only", action="store_true")
    args = parser.parse_args(argv)
    import torch

    print(f"machine: {platform.node()}, torch {torch.__version__}, CUDA available: {torch.cuda.is_available()}")
    if not cuda_available():
        print("No CUDA GPU here: nothing to compare (device: auto trains on the CPU on this machine). "
              "Run bench/gpu.py on a machine with an NVIDIA GPU and a CUDA build of PyTorch.")
        return 0
    print(f"GPU: {torch.cuda.get_device_name(0)}")
    warm = BENCH / "forecast" / "public" / FORECAST_DATASETS[0]
    for device in ("cpu", "cuda"):  # CUDA's context and the kernels' first loads are not the fit's time
        run_one("gru", warm, budget=5.0, device=device, params={"max_epochs": 2})
    print(f"{'family':9} {'dataset':13} {'cpu s':>8} {'cuda s':>8} {'speed-up':>9} {'metric':>9} "
          f"{'cpu':>9} {'cuda':>9}")
    if not args.tabular_only:
        forecast_rows(args.budget)
    if not args.forecast_only:
        tabular_rows(args.budget)
    return 0


if __name__ == "__main__":
    sys.exit(main())
