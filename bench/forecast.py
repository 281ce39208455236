"""Forecasting benchmark: podium on the shared forecasting suite, next to the anchors' figures.

    python bench/forecast.py --budget 60                   # every public dataset, 60 s each
    python bench/forecast.py --budget 20 --only airline    # one dataset

Each dataset runs in a child process with a fresh project folder: podium trains on
``train.csv`` (``task: forecast``, the frequency, season length m and horizon H of the
dataset's manifest; covariates known in advance as known-future covariates, the others left
out, as the anchors leave them), the registered champion forecasts the next H points of every
series from ``train.csv`` (``ModelPackage.forecast``, what ``podium predict`` and the service
call), and the forecast is scored on ``test.csv`` with the suite's definitions:

- MASE: per series, the mean absolute error over the scale — the in-sample mean absolute
  error of the seasonal naive forecast with lag m on the train part — averaged over series;
- sMAPE (0–200): per series, mean of 200·|y − ŷ| / (|y| + |ŷ|) (0 where both are 0), averaged
  over series;
- RMSE: per series, averaged over series.

Printed: per dataset MASE, sMAPE, RMSE, the winning family, fit seconds (the whole run:
read, competition, refit, registration) and the peak memory of the child's process tree
(psutil, sampled every 0.1 s): the sum of RSS (pages shared with forked workers counted in
each) and of PSS (each shared page split between its sharers); then the anchors of ``../shared/bench/forecast/README.md``
with podium among them, ranked by MASE on the datasets run.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# ../shared/bench beside the checkout (or beside a folder above it: a git worktree), or PODIUM_BENCH_DIR
_SHARED = next((p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()),
               ROOT.parent / "shared" / "bench")
SUITE = Path(os.environ.get("PODIUM_BENCH_DIR", _SHARED)) / "forecast"
RECURRENT = ("lstm", "gru")


def _known_in_advance(info: dict[str, Any]) -> list[str]:
    """The exogenous columns the manifest says are known in advance (calendar flags and the like)."""
    notes = info.get("exogenous_notes") or {}
    return [c for c in info.get("exogenous_columns") or []
            if "known in advance" in str(notes.get(c, "")).lower() and "not known" not in str(notes.get(c, "")).lower()]


def run_one(name: str, budget: float, seed: int) -> dict[str, Any]:
    """In the child: train on train.csv, forecast with the registered champion, score on test.csv."""
    import pandas as pd

    from podium.automation.run import run_pipeline
    from podium.config import load_settings
    from podium.registry import Registry
    from podium.spec import parse_spec

    folder = SUITE / "public" / name
    info = json.loads((folder / "manifest.json").read_text())
    sid, ts, target = info["id_column"], info["timestamp_column"], info["target"]
    m, horizon = int(info["season_length_m"]), int(info["horizon_H"])
    known = _known_in_advance(info)
    dropped = [c for c in info.get("exogenous_columns") or [] if c not in known]
    project = Path(tempfile.mkdtemp(prefix=f"podium-bench-forecast-{name}-"))
    train = pd.read_csv(folder / "train.csv").drop(columns=dropped)
    test = pd.read_csv(folder / "test.csv")
    source = project / "train.csv"
    train.to_csv(source, index=False)
    settings = load_settings(project)
    spec = parse_spec({
        "name": name, "source": str(source), "target": target, "task": "forecast",
        "forecast": {"time_column": ts, "series_id": sid, "horizon": horizon, "freq": info["pandas_freq"],
                     "season_length": m, "known_future": known},
        "budget": {"seconds": budget}, "seed": seed, "notify": []})
    start = time.time()
    result = run_pipeline(spec, settings)
    fit_seconds = time.time() - start
    package = Registry.from_settings(settings).load(f"{name}@champion")
    future = test[[sid, ts, *known]] if known else None
    forecast = package.forecast(train, future)
    scores = score(train, test, forecast, sid=sid, ts=ts, target=target, m=m)
    board = [dict(r) for r in result.leaderboard]
    won = (package.lineage or {}).get("winner")  # the shipped family; its best row on the board
    best = next((r for r in board if r.get("candidate") == won), board[0] if board else {})
    families = sorted({str(r.get("candidate")) for r in board if r.get("candidate")})
    return {"dataset": name, **scores, "fit_seconds": fit_seconds, "winner": _winner(best, board),
            "trials": len(board), "families": families, "holdout": best.get("score"),
            "device": best.get("device")}


def _winner(row: dict[str, Any], board: list[dict[str, Any]]) -> str:
    """The winning family; for an ensemble, with its members' families and weights."""
    name = str(row.get("candidate", "?"))
    params = row.get("params") or {}
    members = params.get("members") if isinstance(params, dict) else None
    if not members:
        return name
    family = {r.get("trial"): str(r.get("candidate")) for r in board}
    weights = params.get("weights") or [1] * len(members)
    parts = [f"{family.get(m, m)}×{w}" if w != 1 else str(family.get(m, m)) for m, w in zip(members, weights)]
    return f"{name} ({' + '.join(parts)})"


def score(train: Any, test: Any, forecast: Any, *, sid: str, ts: str, target: str, m: int) -> dict[str, float]:
    """MASE, sMAPE (0–200) and RMSE, each per series and averaged over series (the suite's definitions)."""
    import numpy as np
    import pandas as pd

    truth = test[[sid, ts, target]].assign(**{ts: pd.to_datetime(test[ts]), sid: test[sid].astype(str)})
    guess = forecast[[sid, ts, target]].rename(columns={target: "yhat"})
    guess = guess.assign(**{ts: pd.to_datetime(guess[ts]), sid: guess[sid].astype(str)})
    joined = truth.merge(guess, on=[sid, ts], how="left")
    if joined["yhat"].isna().any():
        missing = joined.loc[joined["yhat"].isna(), [sid, ts]].iloc[0].tolist()
        raise SystemExit(f"the forecast has no value for {missing} (or a NaN there)")
    history = train.assign(**{sid: train[sid].astype(str)}).sort_values([sid, ts])
    mase, smape, rmse = [], [], []
    for key, part in joined.groupby(sid, sort=True):
        y, f = part[target].to_numpy(float), part["yhat"].to_numpy(float)
        past = history.loc[history[sid] == key, target].to_numpy(float)
        scale = float(np.mean(np.abs(past[m:] - past[:-m]))) if len(past) > m else float("nan")
        err = np.abs(y - f)
        mase.append(float(np.mean(err)) / scale if scale > 0 else float("nan"))
        denom = np.abs(y) + np.abs(f)
        smape.append(float(np.mean(np.where(denom > 0, 200 * err / np.where(denom > 0, denom, 1), 0.0))))
        rmse.append(float(np.sqrt(np.mean(err ** 2))))
    return {"mase": float(np.nanmean(mase)), "smape": float(np.mean(smape)), "rmse": float(np.mean(rmse))}


def measure(name: str, budget: float, seed: int) -> dict[str, Any]:
    """Run one dataset in a child process; its result with the peak RSS of its process tree."""
    import psutil

    env = {**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, "--budget", str(budget),
                             "--seed", str(seed)], stdout=subprocess.PIPE, text=True, env=env)
    peak, peak_pss = 0.0, 0.0

    def sample() -> None:
        # RSS summed over the tree counts the pages forked workers share with the parent once per
        # process; PSS (Linux) splits each shared page between its sharers: the tree's real footprint
        nonlocal peak, peak_pss
        root = psutil.Process(proc.pid)
        while proc.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            rss = pss = 0
            for p in tree:
                try:
                    full = p.memory_full_info()
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
                rss += full.rss
                pss += getattr(full, "pss", full.rss)
            peak, peak_pss = max(peak, rss / 2**20), max(peak_pss, pss / 2**20)
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    try:
        stdout, _ = proc.communicate(timeout=budget * 4 + 300)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        return {"dataset": name, "error": "timed out"}
    sampler.join()
    if proc.returncode != 0:
        return {"dataset": name, "error": f"exit {proc.returncode}"}
    return {**json.loads(stdout.strip().splitlines()[-1]), "peak_mb": peak, "peak_pss_mb": peak_pss}


def anchors() -> tuple[list[str], dict[str, dict[str, float]]]:
    """The README's table: the dataset names, and each tool's MASE per dataset."""
    lines = (SUITE / "README.md").read_text().splitlines()
    header = next(line for line in lines if line.startswith("| tool |"))
    columns = [c.strip() for c in header.strip().strip("|").split("|")]
    datasets = [c for c in columns[1:] if not c.startswith(("mean rank", "median", "max"))]
    tools: dict[str, dict[str, float]] = {}
    for line in lines[lines.index(header) + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        tools[cells[0]] = {d: float(cells[1 + i]) for i, d in enumerate(datasets)}
    return datasets, tools


def mean_ranks(table: dict[str, dict[str, float]], datasets: list[str]) -> dict[str, float]:
    """Each entry's mean rank by MASE (1 = best; ties share the mean of their ranks) over ``datasets``."""
    ranks: dict[str, list[float]] = {t: [] for t in table}
    for d in datasets:
        values = {t: v[d] for t, v in table.items() if d in v and math.isfinite(v[d])}
        for t, v in values.items():
            below = sum(o < v for o in values.values())
            ties = sum(o == v for o in values.values())
            ranks[t].append(1 + below + (ties - 1) / 2)
    return {t: sum(r) / len(r) for t, r in ranks.items() if r}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per dataset (default 60)")
    parser.add_argument("--only", nargs="*", help="dataset names (default: every public one)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", dest="as_json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.budget, args.seed), default=str))
        return
    names = args.only or sorted(p.name for p in (SUITE / "public").iterdir() if (p / "train.csv").exists())
    datasets, tools = anchors()
    results = []
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        results.append(measure(name, args.budget, args.seed))
    print(f"\npodium at a {args.budget:g}-second budget per dataset, {os.cpu_count()} cores\n")
    print("| dataset | MASE | sMAPE | RMSE | winner | trials | LSTM/GRU ran | fit s | peak RSS MB | peak PSS MB |")
    print("|:--|--:|--:|--:|:--|--:|:--|--:|--:|--:|")
    done = [r for r in results if "error" not in r]
    for r in results:
        if "error" in r:
            print(f"| {r['dataset']} | failed: {r['error']} | | | | | | | | |")
            continue
        print(f"| {r['dataset']} | {r['mase']:.3f} | {r['smape']:.2f} | {r['rmse']:.4g} | {r['winner']} | "
              f"{r['trials']} | {', '.join(f for f in r['families'] if f in RECURRENT) or 'no'} | "
              f"{r['fit_seconds']:.0f} | {r['peak_mb']:.0f} | {r['peak_pss_mb']:.0f} |")
    recurrent_wins = [r["dataset"] for r in done if any(n in r["winner"].lower() for n in RECURRENT)]
    print(f"\nLSTM or GRU won (alone or in the winning ensemble) on {len(recurrent_wins)} of {len(done)} "
          f"dataset(s){': ' + ', '.join(recurrent_wins) if recurrent_wins else ''}")
    ran = [d for d in datasets if d in {r["dataset"] for r in done}]
    if ran:
        podium = "**podium**"
        table = {podium: {r["dataset"]: r["mase"] for r in done}, **tools}
        ranked = mean_ranks(table, ran)
        print(f"\nMASE next to the anchors (mean rank by MASE over {', '.join(ran)}; 1 = best)\n")
        print("| tool | " + " | ".join(ran) + " | mean rank |")
        print("|:--|" + "--:|" * len(ran) + "--:|")
        for tool in sorted(ranked, key=lambda t: (ranked[t], t != podium)):
            cells = " | ".join(f"{table[tool][d]:.3f}" for d in ran)
            print(f"| {tool} | {cells} | {ranked[tool]:.2f} |")
    if args.as_json:
        print(json.dumps(results, default=str))


if __name__ == "__main__":
    main()
