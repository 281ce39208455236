"""AutoML benchmark: podium on the shared tabular suite, next to other tools' figures.

    python bench/automl.py --budget 60                 # every dataset, 60 s each
    python bench/automl.py --budget 20 --only titanic  # one dataset

Each dataset runs in a child process (a fresh project folder): podium trains on train.csv
with the quick form alone, then the registered champion scores test.csv. The table shows
the test score, fit seconds and peak memory (the whole process tree, sampled), then the
anchors of ../shared/bench/ANCHORS.md and podium's rank among them.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("PODIUM_BENCH_DIR", ROOT.parent / "shared" / "bench"))


def run_one(name: str, budget: float, seed: int) -> dict:
    """In the child: train on train.csv, score test.csv with the registered champion."""
    import pandas as pd

    from podium.automation.run import run_pipeline
    from podium.config import load_settings
    from podium.registry import Registry
    from podium.spec import parse_spec
    from podium.training import get_metric

    manifest = {d["name"]: d for d in json.loads((SUITE / "tabular" / "manifest.json").read_text())["datasets"]}
    info = manifest[name]
    folder = Path(tempfile.mkdtemp(prefix=f"podium-bench-{name}-"))
    settings = load_settings(folder)
    spec = parse_spec({"name": name, "source": str(SUITE / "tabular" / info["train"]), "target": info["target"],
                       "metric": info["primary_metric"], "budget": {"seconds": budget}, "seed": seed,
                       "notify": []})
    start = time.time()
    result = run_pipeline(spec, settings)
    fit_seconds = time.time() - start
    package = Registry.from_settings(settings).load(f"{name}@champion")
    test = pd.read_csv(SUITE / "tabular" / info["test"])
    scored, _ = package.predict_frame(test.drop(columns=[info["target"]]))
    metric = get_metric(info["primary_metric"], result.task)
    value = metric.value(test[info["target"]].to_numpy(), scored["prediction"].to_numpy())
    best = result.leaderboard[0]
    return {"dataset": name, "metric": info["primary_metric"], "score": value, "fit_seconds": fit_seconds,
            "winner": best["candidate"], "trials": len(result.leaderboard),
            "holdout": best["score"]}


def _tree_rss_mb(root: int) -> float:
    """Resident memory of a process and all its descendants, from /proc."""
    parents: dict[int, int] = {}
    rss: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            fields = stat.rsplit(")", 1)[1].split()
            parents[int(entry)] = int(fields[1])
            rss[int(entry)] = int(fields[21]) * os.sysconf("SC_PAGE_SIZE")
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return sum(rss.get(p, 0) for p in tree) / 2**20


def measure(name: str, budget: float, seed: int) -> dict:
    proc = subprocess.Popen([sys.executable, __file__, "--child", name, "--budget", str(budget),
                             "--seed", str(seed)], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, "OMP_NUM_THREADS": "1"})
    peak = 0.0

    def sample() -> None:
        nonlocal peak
        while proc.poll() is None:
            peak = max(peak, _tree_rss_mb(proc.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, _ = proc.communicate()
    sampler.join()
    if proc.returncode != 0:
        return {"dataset": name, "error": f"exit {proc.returncode}"}
    return {**json.loads(stdout.strip().splitlines()[-1]), "peak_mb": peak}


def anchors() -> tuple[list[str], dict[str, list[float]]]:
    """The per-dataset table of ANCHORS.md: tool names and each dataset's figures."""
    text = (SUITE / "ANCHORS.md").read_text()
    header = next(line for line in text.splitlines() if line.startswith("| dataset |"))
    tools = [c.strip() for c in header.strip("|").split("|")[1:]]
    rows: dict[str, list[float]] = {}
    for line in text.splitlines():
        m = re.match(r"\|\s*(\w+) \((?:acc|RMSE)\)\s*\|(.*)\|\s*$", line)
        if m:
            rows[m.group(1)] = [float(v.replace("*", "")) for v in m.group(2).split("|")]
    return tools, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--budget", type=float, default=60.0, help="seconds per dataset")
    parser.add_argument("--only", nargs="*", help="dataset names (default: all)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run_one(args.child, args.budget, args.seed)))
        return
    manifest = json.loads((SUITE / "tabular" / "manifest.json").read_text())["datasets"]
    names = args.only or [d["name"] for d in manifest]
    tools, anchor_rows = anchors()
    results = []
    for name in names:
        print(f"… {name}", file=sys.stderr, flush=True)
        results.append(measure(name, args.budget, args.seed))
    print(f"\npodium at a {args.budget:g}-second budget, {os.cpu_count()} cores\n")
    print("| dataset | metric | podium | winner | trials | fit s | peak MB | " +
          " | ".join(tools) + " | podium rank |")
    print("|:--|:--|--:|:--|--:|--:|--:|" + "--:|" * len(tools) + "--:|")
    ranks = []
    for r in results:
        if "error" in r:
            print(f"| {r['dataset']} | — | failed: {r['error']} |")
            continue
        others = anchor_rows.get(r["dataset"], [])
        lower = r["metric"] == "rmse"
        better = sum((o < r["score"]) if lower else (o > r["score"]) for o in others)
        ties = sum(o == r["score"] for o in others)
        rank = 1 + better + ties / 2
        ranks.append(rank)
        fmt = "{:.1f}" if lower and r["score"] > 100 else "{:.4f}"
        print(f"| {r['dataset']} | {r['metric']} | **{fmt.format(r['score'])}** | {r['winner']} | {r['trials']} | "
              f"{r['fit_seconds']:.0f} | {r['peak_mb']:.0f} | " +
              " | ".join(fmt.format(o) for o in others) + f" | {rank:g} |")
    if ranks:
        print(f"\npodium's mean rank among {len(tools) + 1} tools on these {len(ranks)} datasets: "
              f"{sum(ranks) / len(ranks):.2f}")
        tool_ranks = []
        for i, tool in enumerate(tools):
            rs = []
            for r in results:
                if "error" in r or r["dataset"] not in anchor_rows:
                    continue
                lower = r["metric"] == "rmse"
                vals = anchor_rows[r["dataset"]] + [r["score"]]
                mine = vals[i]
                rs.append(1 + sum((v < mine) if lower else (v > mine) for v in vals)
                          + (sum(v == mine for v in vals) - 1) / 2)
            tool_ranks.append(f"{tool} {sum(rs) / len(rs):.2f}")
        print("the others' mean ranks on the same datasets (podium included): " + ", ".join(tool_ranks))


if __name__ == "__main__":
    main()
