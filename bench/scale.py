"""Scale-out benchmark: the same spec on a Ray cluster of 1 node and of 2 nodes, trials per second side by side.

    python bench/scale.py                          # 1 and 2 local nodes of 1 CPU each (this machine)
    python bench/scale.py --trials 30 --rows 20000 # a heavier workload
    python bench/scale.py --address HEAD:6379      # also the cluster you started (N machines)

On one machine each "node" is a `ray start` process group with 1 CPU (podium.testing's
``ray_cluster``: the head, then nodes joined with ``ray start --address``), so 2 nodes need
2 free cores. Each measurement is a fresh `podium run` of the same spec (a trial budget:
the same trials in the same order) in a child process with ``executor: ray`` and
``ray_address`` pointing at the cluster; podium keeps one trial in flight per CPU of the
cluster. Trials per second = trials / (last trial finished − first trial started): the
competition's throughput, Ray's worker start on each node included, the driver's final fit
and packaging not.

N machines: run ``ray start --head --port 6379 --num-cpus C`` on one machine and
``ray start --address HEAD:6379 --num-cpus C`` on each other (the same Python, Ray and
podium everywhere, the same ``RAY_AUTH_TOKEN`` when token authentication is on), then, on the
head, ``python bench/scale.py --address HEAD:6379`` adds that cluster's row. Throughput grows with
the cluster's CPUs while the trials, not the driver, are the bottleneck: the driver only
submits and collects (milliseconds a trial), and each node fetches the training data once
from the object store, not once per trial. Trials longer than the per-trial overhead (Ray's
~1 ms a task, the data fetch once per node) scale close to linearly; a budget with fewer
trials than CPUs cannot use them all.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

CANDIDATES = ["random_forest", "extra_trees", "lightgbm", "hist_gradient_boosting", "logistic_regression"]


def write_table(path: Path, rows: int, seed: int = 0) -> None:
    """A seeded binary table: 12 numeric columns (a few informative), 3 categorical."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    numeric = rng.normal(size=(rows, 12))
    frame = pd.DataFrame(numeric, columns=[f"x{i}" for i in range(12)])
    for i, levels in enumerate((4, 8, 16)):
        frame[f"c{i}"] = rng.integers(0, levels, rows).astype(str)
    signal = numeric[:, 0] - 0.8 * numeric[:, 1] * numeric[:, 2] + (frame["c0"] == "1") + rng.normal(0, 1, rows)
    frame["label"] = np.where(signal > 0.3, "yes", "no")
    frame.to_csv(path, index=False)


def drive(address: str, data: str, trials: int) -> dict[str, Any]:
    """In the child: one `podium run` of the spec on the cluster at ``address``; its timings."""
    from podium.automation.run import run_pipeline
    from podium.config import load_settings
    from podium.spec import parse_spec

    folder = Path(tempfile.mkdtemp(prefix="podium-scale-"))
    settings = load_settings(folder, environ={"PODIUM_EXECUTOR": "ray", "PODIUM_RAY_ADDRESS": address})
    spec = parse_spec({"name": "scale", "source": data, "target": "label", "candidates": CANDIDATES,
                       "budget": {"trials": trials}, "seed": 0, "notify": [], "ensemble": False})
    times: dict[str, list[float]] = {"started": [], "finished": []}
    nodes: set[str] = set()

    def on_event(event: Any) -> None:
        times[event.kind].append(time.time())
        if event.result is not None and event.result.node:
            nodes.add(event.result.node)

    start = time.time()
    result = run_pipeline(spec, settings, on_event=on_event)
    ok = [r for r in result.leaderboard if r["status"] == "ok"]
    span = max(times["finished"]) - min(times["started"])
    return {"trials": len(result.leaderboard), "ok": len(ok), "competition_s": span, "run_s": time.time() - start,
            "trials_per_s": len(result.leaderboard) / span, "nodes_used": len(nodes),
            "best": max(r["score"] for r in ok)}


def measure(address: str, env: dict[str, str], data: Path, trials: int) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--drive", address, "--data", str(data), "--trials", str(trials)],
                          env={**os.environ, **env, "OMP_NUM_THREADS": "1"}, capture_output=True, text=True,
                          timeout=1800)
    if proc.returncode != 0:
        raise SystemExit(f"the run on {address} failed:\n{proc.stderr[-3000:]}")
    measured: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return measured


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--trials", type=int, default=20, help="trial budget of the spec (the same on every cluster)")
    parser.add_argument("--rows", type=int, default=8000, help="rows of the seeded table")
    parser.add_argument("--address", help="also measure this running cluster (host:port of its head)")
    parser.add_argument("--drive", help=argparse.SUPPRESS)
    parser.add_argument("--data", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.drive:
        print(json.dumps(drive(args.drive, args.data, args.trials)))
        return

    from podium.testing.servers import ray_cluster

    work = Path(tempfile.mkdtemp(prefix="podium-scale-"))
    data = work / "table.csv"
    write_table(data, args.rows)
    rows = []
    for nodes in (1, 2):
        started = time.time()
        with ray_cluster(nodes, cpus=1, env={"OMP_NUM_THREADS": "1"}) as cluster:
            print(f"{nodes} node(s) up in {time.time() - started:.1f} s; running the spec…", file=sys.stderr)
            rows.append({"cluster": f"{nodes} local node(s) × 1 CPU", "cpus": nodes,
                         **measure(cluster.address, cluster.env, data, args.trials)})
    if args.address:
        rows.append({"cluster": args.address, "cpus": None, **measure(args.address, {}, data, args.trials)})

    base = rows[0]["trials_per_s"]
    print(f"\nThe same spec ({args.trials} trials of {', '.join(CANDIDATES)} on {args.rows:,} rows), "
          f"{os.cpu_count()} cores here, load average {os.getloadavg()[0]:.1f}:\n")
    print(f"{'cluster':<28} {'nodes used':>10} {'trials':>7} {'competition s':>14} {'trials/s':>9} "
          f"{'speed-up':>9} {'best accuracy':>14}")
    for row in rows:
        print(f"{row['cluster']:<28} {row['nodes_used']:>10} {row['trials']:>7} {row['competition_s']:>14.1f} "
              f"{row['trials_per_s']:>9.3f} {row['trials_per_s'] / base:>8.2f}× {row['best']:>14.4f}")
    print("\nN machines: start a head and join nodes with `ray start --address`, then "
          "`python bench/scale.py --address HEAD:6379` (see the docstring).")


if __name__ == "__main__":
    main()
