"""AutoML benchmark: podium on the shared tabular suite, next to other tools' figures.

    python bench/automl.py --budget 60                 # every dataset, 60 s each
    python bench/automl.py --budget 20 --only titanic  # one dataset
    python bench/automl.py --suite large --budget 60   # flights, birthdays, synthetic 5M rows

``--suite large`` (tables from ``bench/tables.py``, written once under ``--data-dir``) runs
``podium run --json`` as a user would (the CLI, a fresh project folder), then LightGBM with its
defaults and FLAML (``pip install 'podium[bench]'``) at the same budget on the same Parquet
files, each tool in its own process. It reports the wall time against the budget
(podium's promise: budget × 1.1 + 5 s), the peak memory of the tool's process tree (the sum of
RSS, which counts pages shared by forked workers once a process; of PSS, which shares them
out; and, run as root where a memory cgroup can be made, the peak charge of the tree's own
cgroup: each page once, the page cache it brought in included — what a container's memory
limit counts) and the test score.

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
    total = 0
    for pid in _tree(root):
        try:
            total += int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[21])
        except (OSError, IndexError, ValueError):
            continue
    return total * os.sysconf("SC_PAGE_SIZE") / 2**20


def _tree_pss_mb(root: int) -> float:
    """Proportional memory of a process tree: each shared page split among the processes mapping it."""
    total = 0
    for pid in _tree(root):
        try:
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    total += int(line.split()[1]) * 1024
                    break
        except OSError:
            continue
    return total / 2**20


def _tree(root: int) -> set[int]:
    """``root`` and the pids of all its descendants, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                parents[int(entry)] = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        for child, parent in parents.items():
            if parent == pid and child not in tree:
                tree.add(child)
                frontier.append(child)
    return tree


def sampled(command: list[str], *, env: dict[str, str] | None = None, cwd: str | None = None) -> dict:
    """Run ``command``; its wall seconds, peak RSS and PSS of its process tree (MB), the peak of its
    memory cgroup where one can be made (``cgroup_mb``, else None), stdout, exit code."""
    start = time.time()
    group = _memory_cgroup()
    proc = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=cwd,
                            env={**os.environ, "OMP_NUM_THREADS": "1", **(env or {})},
                            preexec_fn=None if group is None else group.enter)
    peak = {"rss": 0.0, "pss": 0.0}

    def sample() -> None:
        while proc.poll() is None:
            peak["rss"] = max(peak["rss"], _tree_rss_mb(proc.pid))
            peak["pss"] = max(peak["pss"], _tree_pss_mb(proc.pid))
            time.sleep(0.25)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, err = proc.communicate()
    wall = time.time() - start
    sampler.join()
    return {"wall": wall, "rss_mb": peak["rss"], "pss_mb": peak["pss"],
            "cgroup_mb": None if group is None else group.close(), "out": out, "err": err, "code": proc.returncode}


class _MemoryCgroup:
    """A memory cgroup of its own for one measured process tree: its peak charge (the tree's
    anonymous memory and the page cache it brought in, each page once) is what a container's
    memory limit counts. cgroup v2 (``memory.peak``) or v1 (``memory.max_usage_in_bytes``); root only."""

    def __init__(self, path: Path, peak: str) -> None:
        self.path, self.peak = path, peak

    def enter(self) -> None:  # in the child, before exec
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def close(self) -> float | None:
        try:
            return int((self.path / self.peak).read_text()) / 2**20
        except (OSError, ValueError):
            return None
        finally:
            try:
                self.path.rmdir()
            except OSError:
                pass


def _memory_cgroup() -> _MemoryCgroup | None:
    name = f"podium-bench-{os.getpid()}-{time.monotonic_ns()}"
    v2 = Path("/sys/fs/cgroup")
    for base, peak in ((v2, "memory.peak"), (v2 / "memory", "memory.max_usage_in_bytes")):
        if peak == "memory.peak" and "memory" not in _read(base / "cgroup.controllers"):
            continue
        try:
            (base / name).mkdir()
        except OSError:
            continue
        if (base / name / peak).exists():
            return _MemoryCgroup(base / name, peak)
        (base / name).rmdir()
    return None


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


# -- the large suite ------------------------------------------------------------------------------

def _features(frame, target: str):
    """Datetimes as epoch seconds, text as categories: what LightGBM and FLAML take as they are."""
    import pandas as pd

    X = frame.drop(columns=[target])
    for column in X.columns:
        if pd.api.types.is_datetime64_any_dtype(X[column]):
            X[column] = X[column].astype("int64") // 10**9
        elif X[column].dtype == object:
            X[column] = X[column].astype("category")
    return X, frame[target]


def _score(metric: str, y, pred, proba_positive=None) -> float:
    import numpy as np
    from sklearn.metrics import mean_squared_error, roc_auc_score

    if metric == "rmse":
        return float(np.sqrt(mean_squared_error(y, pred)))
    return float(roc_auc_score(y, proba_positive))


def tool_child(tool: str, info: dict, budget: float, seed: int) -> dict:
    """In a child process: fit ``tool`` on the train file, score the test file."""
    import pandas as pd

    target, metric, task = info["target"], info["primary_metric"], info["task"]
    train, test = pd.read_parquet(info["train"]), pd.read_parquet(info["test"])
    if task == "binary":  # the positive class: the later of the two labels, as podium's proba_ columns
        positive = sorted(train[target].unique())[-1]
    X, y = _features(train, target)
    Xt, yt = _features(test, target)
    for column in X.columns:  # the test's categories in the train's order
        if str(X[column].dtype) == "category":
            Xt[column] = pd.Categorical(Xt[column], categories=X[column].cat.categories)
    del train, test
    start = time.time()
    if tool == "lightgbm":
        import lightgbm

        model = lightgbm.LGBMRegressor(random_state=seed, verbose=-1) if task == "regression" else \
            lightgbm.LGBMClassifier(random_state=seed, verbose=-1)
        model.fit(X, y)
    else:
        from flaml import AutoML

        model = AutoML()
        model.fit(X, y, task="regression" if task == "regression" else "classification", time_budget=budget,
                  metric="rmse" if metric == "rmse" else "roc_auc", seed=seed, verbose=0, n_jobs=os.cpu_count())
    fit = time.time() - start
    if task == "regression":
        value = _score(metric, yt, model.predict(Xt))
    else:
        proba = model.predict_proba(Xt)
        value = _score(metric, yt, None, proba[:, list(model.classes_).index(positive)])
    return {"score": value, "fit_seconds": fit}


def podium_large(info: dict, budget: float, seed: int) -> dict:
    """``podium run`` on the train file as a user types it, then its champion on the test file."""
    import pandas as pd

    from podium.registry import Registry
    from podium.config import load_settings

    folder = Path(tempfile.mkdtemp(prefix=f"podium-bench-{info['name']}-"))
    run = sampled([str(Path(sys.executable).parent / "podium"), "--project", str(folder), "run",
                   "--data", info["train"], "--target", info["target"], "--metric", info["primary_metric"],
                   "--time-budget", f"{budget:g}", "--seed", str(seed), "--name", info["name"], "--json"])
    if run["code"] not in (0, 3):
        return {"error": (run["err"].strip().splitlines() or ["no output"])[-1][:200], **_figures(run)}
    report = json.loads(run["out"])
    if report["status"] != "registered":
        errors = [row["error"] for row in report["leaderboard"] if row.get("error")]
        return {"error": f"{report['status']}: {(errors or ['no trial'])[0]}"[:200], **_figures(run),
                "phases": report.get("timing", {}).get("phases")}
    package = Registry.from_settings(load_settings(folder)).load(f"{info['name']}@champion")
    test = pd.read_parquet(info["test"])
    y = test.pop(info["target"])
    scored, _ = package.predict_frame(test)
    if info["task"] == "regression":
        value = _score(info["primary_metric"], y, scored["prediction"].to_numpy())
    else:
        positive = sorted(y.unique())[-1]
        value = _score(info["primary_metric"], y, None, scored[f"proba_{positive}"].to_numpy())
    best = report["leaderboard"][0]
    timing = report.get("timing", {})
    return {"score": value, "winner": best["candidate"], "trials": len(report["leaderboard"]),
            "final_rows": timing.get("final_rows"), "phases": timing.get("phases"), **_figures(run)}


def _figures(run: dict) -> dict:
    return {"wall": run["wall"], "rss_mb": run["rss_mb"], "pss_mb": run["pss_mb"], "cgroup_mb": run["cgroup_mb"]}


def large_suite(args: argparse.Namespace) -> None:
    sys.path.insert(0, str(Path(__file__).parent))
    from tables import write

    manifest = write(args.data_dir, args.rows, args.only)
    tools = ["podium", "lightgbm", "flaml"] if not args.tools else args.tools
    results = []
    for info in manifest["datasets"]:
        info = {**info, "rows": len(__import__("pandas").read_parquet(info["train"], columns=[info["target"]]))}
        for tool in tools:
            print(f"… {info['name']} {tool}", file=sys.stderr, flush=True)
            if tool == "podium":
                figures = podium_large(info, args.budget, args.seed)
            else:
                run = sampled([sys.executable, __file__, "--tool", tool, "--child", json.dumps(info),
                               "--budget", str(args.budget), "--seed", str(args.seed)])
                figures = _figures(run)
                if run["code"] == 0:
                    figures.update(json.loads(run["out"].strip().splitlines()[-1]))
                else:
                    figures["error"] = (run["err"].strip().splitlines() or ["no output"])[-1][:200]
            results.append({"dataset": info["name"], "rows": info["rows"], "metric": info["primary_metric"],
                            "tool": tool, **figures})
            print(json.dumps(results[-1], default=str), file=sys.stderr, flush=True)
    print(f"\n{args.budget:g}-second budget, {os.cpu_count()} cores, load average at the end "
          f"{os.getloadavg()[0]:.1f}\n")
    print("| dataset | train rows | metric | tool | score | wall s | wall ÷ budget | promise (≤ 1.1 × budget + 5 s) "
          "| peak RSS MB | peak PSS MB | peak cgroup MB | podium: winner, trials, final fit rows |")
    print("|:--|--:|:--|:--|--:|--:|--:|:--|--:|--:|--:|:--|")
    for r in results:
        score = "failed: " + r["error"] if "error" in r else f"{r['score']:.4f}" if r["score"] < 100 else \
            f"{r['score']:.2f}"
        promise = ("yes" if r["wall"] <= 1.1 * args.budget + 5 else "**no**") if r["tool"] == "podium" else "—"
        extra = f"{r.get('winner')}, {r.get('trials')}, {r.get('final_rows')}" if r["tool"] == "podium" else ""
        print(f"| {r['dataset']} | {r['rows']:,} | {r['metric']} | {r['tool']} | {score} | {r['wall']:.0f} | "
              f"{r['wall'] / args.budget:.2f} | {promise} | {r['rss_mb']:.0f} | {r['pss_mb']:.0f} | "
              f"{_mb(r.get('cgroup_mb'))} | {extra} |")
    for r in results:
        if r["tool"] == "podium" and r.get("phases"):
            phases = ", ".join(f"{k} {v['actual']}" + (f" (plan {v['planned']})" if v["planned"] is not None else "")
                               + (f" [cpu {v['cpu']}]" if v.get("cpu") is not None else "")
                               for k, v in r["phases"].items())
            print(f"\n{r['dataset']} — podium's phases, seconds: {phases}")


def measure(name: str, budget: float, seed: int) -> dict:
    run = sampled([sys.executable, __file__, "--child", name, "--budget", str(budget), "--seed", str(seed)])
    if run["code"] != 0:
        return {"dataset": name, "error": f"exit {run['code']}"}
    return {**json.loads(run["out"].strip().splitlines()[-1]), "peak_mb": run["rss_mb"], "pss_mb": run["pss_mb"],
            "cgroup_mb": run["cgroup_mb"]}


def _mb(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


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
    parser.add_argument("--suite", choices=["tabular", "large"], default="tabular")
    parser.add_argument("--data-dir", type=Path, default=Path("/tmp/podium-large"),
                        help="large suite: where its tables are written (once)")
    parser.add_argument("--rows", type=int, default=5_000_000, help="large suite: rows of the synthetic table")
    parser.add_argument("--tools", nargs="*", choices=["podium", "lightgbm", "flaml"])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--tool", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.tool:
        print(json.dumps(tool_child(args.tool, json.loads(args.child), args.budget, args.seed)))
        return
    if args.suite == "large":
        if args.only:
            args.only = [n for n in args.only if n in ("flights", "birthdays", "synthetic")]
        large_suite(args)
        return
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
    print("| dataset | metric | podium | winner | trials | fit s | peak MB | peak PSS MB | peak cgroup MB | " +
          " | ".join(tools) + " | podium rank |")
    print("|:--|:--|--:|:--|--:|--:|--:|--:|--:|" + "--:|" * len(tools) + "--:|")
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
              f"{r['fit_seconds']:.0f} | {r['peak_mb']:.0f} | {r['pss_mb']:.0f} | {_mb(r.get('cgroup_mb'))} | " +
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
