"""Batch scoring benchmark: `podium predict` on a one-million-row file with the diamonds champion.

    python bench/predict.py                 # trains the diamonds champion (30 s) unless cached
    python bench/predict.py --reuse         # the champion bench/serving.py trained under --projects
    python bench/predict.py --rows 200000   # a smaller file

The file is diamonds' test.csv (10,788 rows, target dropped) repeated to --rows rows, as CSV.
`podium predict diamonds@champion --input big.csv --output scored.csv` runs in a child process;
its peak RSS (the process tree, psutil, sampled every 0.1 s) is reported, and its rows/s
excluding start-up: podium's own figure when it prints one ("… in S s (R rows/s …)"), and
in any case the rate measured from outside, (rows − small) / (wall time − wall time on a
--small-row file), which subtracts start-up (imports, loading the model) and the fixed costs.
The CPU time of each run (user + system, from the kernel's accounting of the child) gives the
CPU a row the same way: the steadier figure on a shared machine.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from serving import DEFAULT_PROJECTS, PODIUM, champion, datasets  # noqa: E402


def run_predict(project: Path, source: Path, output: Path) -> dict[str, Any]:
    """Wall seconds, peak RSS (MiB) of the process tree and podium's printed line for one predict."""
    command = [*PODIUM, "--project", str(project), "predict", "diamonds@champion", "--input", str(source),
               "--output", str(output)]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200"})
    peak = 0.0

    def sample() -> None:
        nonlocal peak
        root = psutil.Process(process.pid)
        while process.poll() is None:
            try:
                tree = [root, *root.children(recursive=True)]
                peak = max(peak, sum(p.memory_info().rss for p in tree) / 2**20)
            except psutil.NoSuchProcess:
                pass
            time.sleep(0.1)

    sampler = threading.Thread(target=sample, daemon=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if process.returncode != 0:
        raise RuntimeError(f"podium predict failed ({process.returncode}): {stderr.strip()[-2000:]}")
    said = re.search(r"in ([\d.]+) s \(([\d,]+) rows/s(?:, (\w+) engine)?", stdout.replace("\n", " "))
    return {"seconds": seconds, "cpu_seconds": cpu, "peak_mb": peak, "line": stdout.strip(),
            "podium_seconds": float(said.group(1)) if said else None,
            "podium_rps": float(said.group(2).replace(",", "")) if said else None,
            "engine": said.group(3) if said and said.group(3) else None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the big file (default 1,000,000)")
    parser.add_argument("--small", type=int, default=1_000, help="rows of the start-up file (default 1,000)")
    parser.add_argument("--budget", type=float, default=30.0, help="training seconds, if it trains (default 30)")
    parser.add_argument("--projects", type=Path, default=DEFAULT_PROJECTS, help=f"default {DEFAULT_PROJECTS}")
    parser.add_argument("--reuse", action="store_true", help="use the diamonds project under --projects if trained")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    import pandas as pd

    data = next(d for d in datasets() if d.name == "diamonds")
    print("… diamonds: champion", file=sys.stderr, flush=True)
    project = champion(data, args.projects, args.budget, args.reuse)
    work = Path(tempfile.mkdtemp(prefix="podium-bench-predict-"))
    test = pd.read_csv(data.test).drop(columns=[data.target])
    repeats = -(-args.rows // len(test))
    big, small = work / "big.csv", work / "small.csv"
    pd.concat([test] * repeats, ignore_index=True).head(args.rows).to_csv(big, index=False)
    test.head(args.small).to_csv(small, index=False)
    load = os.getloadavg()
    print(f"… predict on {args.small:,} then {args.rows:,} rows ({big.stat().st_size / 2**20:.0f} MB CSV); "
          f"load average {load[0]:.1f}", file=sys.stderr, flush=True)
    few = run_predict(project, small, work / "small-scored.csv")
    many = run_predict(project, big, work / "big-scored.csv")
    outside = (args.rows - args.small) / max(many["seconds"] - few["seconds"], 1e-9)
    end = os.getloadavg()
    print(f"\n`podium predict diamonds@champion` on {args.rows:,} rows (diamonds test.csv repeated, CSV in and out), "
          f"{os.cpu_count()} cores, load average {load[0]:.1f} at the start, {end[0]:.1f} at the end\n")
    cpu_per_row = (many["cpu_seconds"] - few["cpu_seconds"]) / (args.rows - args.small) * 1e6
    print("| rows | wall s | CPU s | rows/s, podium's figure | rows/s, wall minus start-up | peak RSS | engine |")
    print("| --: | --: | --: | --: | --: | --: | --- |")
    for rows, run in ((args.small, few), (args.rows, many)):
        podium_rps = f"{run['podium_rps']:,.0f}" if run["podium_rps"] else "—"
        rate = f"{outside:,.0f}" if run is many else "—"
        print(f"| {rows:,} | {run['seconds']:.1f} | {run['cpu_seconds']:.1f} | {podium_rps} | {rate} "
              f"| {run['peak_mb']:.0f} MB | {run['engine'] or '?'} |")
    print(f"\n- CPU (user + system) {cpu_per_row:.1f} µs a row excluding start-up: "
          f"{os.cpu_count()} idle cores would allow {os.cpu_count() / cpu_per_row * 1e6:,.0f} rows/s at most")
    best = many["podium_rps"] or outside
    print(f"\n- {'met' if best >= 100_000 else 'NOT met'}: ≥ 100 k rows/s on {args.rows:,} rows ({best:,.0f})")
    print(f"- peak RSS {many['peak_mb']:.0f} MB on {args.rows:,} rows, {few['peak_mb']:.0f} MB on {args.small:,} rows "
          f"({(many['peak_mb'] - few['peak_mb']) / (args.rows / args.small):.2f} MB more per {args.small:,} rows)")
    if args.json:
        args.json.write_text(json.dumps({"load": [load, end], "small": few, "big": many,
                                         "rows_per_s_outside": outside, "cpu_us_per_row": cpu_per_row}, indent=1))


if __name__ == "__main__":
    main()
