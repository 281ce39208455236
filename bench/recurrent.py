"""LSTM and GRU alone on the public forecasting suite: MASE, sMAPE and fit seconds per dataset.

    OMP_NUM_THREADS=1 python bench/recurrent.py [--suite ../shared/bench/forecast/public]
        [--candidates lstm gru] [--budget 30] [--device cpu|cuda] [--preset N] [--params JSON]

Each candidate fits on ``train.csv`` (its default preset, or the one named) under a fit
deadline of ``--budget`` seconds, forecasts the next horizon and is scored on ``test.csv``
with the definitions of the suite's README (MASE: per series, scale = in-sample seasonal
naive MAE with lag m on train, averaged over series; sMAPE 0–200). Known-future
covariates named in a manifest's notes as "known in advance" are given to the network.
The figures of the README's anchors are printed alongside. ``podium run`` on the same suite
(the whole competition) is ``bench/forecast.py``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.candidates import candidate_registry, fit_deadline
from podium.candidates.device import resolve_device, use_device
from podium.data.series import FORECAST, SERIES, TIME, VALUE, SeriesLayout

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/bench of the clone (or of a worktree's main clone); PODIUM_BENCH_DIR overrides
BENCH = Path(os.environ.get("PODIUM_BENCH_DIR", next(
    (p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()), ROOT.parent / "shared" / "bench")))
SUITE = BENCH / "forecast" / "public"
ANCHORS = {  # MASE of the README's window-normalised nets
    "lstm": {"airline": 1.177, "visnights": 1.719, "elecdaily": 1.318, "prices": 0.489},
    "gru": {"airline": 0.545, "visnights": 1.692, "elecdaily": 1.480, "prices": 0.644},
}


def layout_of(manifest: dict[str, Any]) -> SeriesLayout:
    notes = manifest.get("exogenous_notes", {})
    known = tuple(c for c in manifest.get("exogenous_columns", []) if "known in advance" in notes.get(c, "")
                  and "NOT known" not in notes.get(c, ""))
    return SeriesLayout(time_column=manifest["timestamp_column"], target=manifest["target"],
                        horizon=manifest["horizon_H"], freq=manifest["pandas_freq"],
                        season_length=manifest["season_length_m"], series_id=manifest["id_column"],
                        known_future=known)


def scores(train: pd.DataFrame, test: pd.DataFrame, forecast: pd.DataFrame, m: int) -> dict[str, float]:
    """MASE and sMAPE as the suite's README defines them (averaged over series)."""
    mase, smape = [], []
    joined = test.merge(forecast, on=[SERIES, TIME], how="left")
    for sid, part in joined.groupby(SERIES, sort=False):
        y, yhat = part[VALUE].to_numpy(float), part[FORECAST].to_numpy(float)
        history = train.loc[train[SERIES] == sid, VALUE].to_numpy(float)
        lag = m if len(history) > m else 1
        scale = np.mean(np.abs(history[lag:] - history[:-lag]))
        mase.append(np.mean(np.abs(y - yhat)) / scale if scale > 0 else np.nan)
        smape.append(np.mean(200 * np.abs(y - yhat) / np.maximum(np.abs(y) + np.abs(yhat), 1e-12)))
    return {"mase": float(np.nanmean(mase)), "smape": float(np.mean(smape))}


def run_one(name: str, folder: Path, *, budget: float, device: str, params: dict[str, Any], seed: int = 0
            ) -> dict[str, Any]:
    manifest = json.loads((folder / "manifest.json").read_text())
    layout = layout_of(manifest)
    train = layout.canonical(pd.read_csv(folder / "train.csv"), what="train.csv")
    test = layout.canonical(pd.read_csv(folder / "test.csv"), what="test.csv")
    future = test[[SERIES, TIME, *layout.known_future]]
    candidate = candidate_registry.get(name)
    start, cpu = time.perf_counter(), time.process_time()
    with use_device(resolve_device(device)), fit_deadline(time.time() + budget):
        model = candidate.estimator("forecast", params, seed=seed).fit(train, layout)
    fit_s, cpu_s = time.perf_counter() - start, time.process_time() - cpu
    forecast = model.predict(train, future)
    return {**scores(train, test, forecast, layout.season_length), "fit_s": fit_s, "cpu_s": cpu_s,
            "epochs": getattr(model, "epochs_", None)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=SUITE)
    parser.add_argument("--candidates", nargs="+", default=["lstm", "gru"])
    parser.add_argument("--datasets", nargs="+", default=["airline", "visnights", "elecdaily", "prices"])
    parser.add_argument("--budget", type=float, default=30.0, help="fit deadline, seconds")
    parser.add_argument("--device", default="cpu", choices=["auto", "cpu", "cuda"])
    parser.add_argument("--preset", type=int, default=0, help="which of the candidate's presets")
    parser.add_argument("--params", default="{}", help="JSON parameters over the preset")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(f"{'candidate':10} {'dataset':10} {'MASE':>7} {'anchor':>7} {'sMAPE':>7} {'fit s':>6} {'cpu s':>6} "
          f"{'epochs':>6}")
    for name in args.candidates:
        preset = dict(candidate_registry.get(name).presets[args.preset])
        params = {**preset, **json.loads(args.params)}
        for dataset in args.datasets:
            r = run_one(name, args.suite / dataset, budget=args.budget, device=args.device, params=params,
                        seed=args.seed)
            anchor = ANCHORS.get(name, {}).get(dataset, float("nan"))
            print(f"{name:10} {dataset:10} {r['mase']:7.3f} {anchor:7.3f} {r['smape']:7.2f} {r['fit_s']:6.1f} "
                  f"{r['cpu_s']:6.1f} {r['epochs']!s:>6}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
