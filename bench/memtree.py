"""Where a command's memory is: its process tree sampled every 0.25 s, the peak split per process.

    python bench/memtree.py -- python bench/automl.py --child diamonds --budget 60
    python bench/memtree.py -- podium run --data train.parquet --target y --time-budget 60

It prints the peak of the sum of RSS over the tree (the measure ``bench/automl.py`` reports) and
of the sum of PSS, and for the sample where the RSS sum peaked, each process's RSS split into
anonymous pages (its heap: what it allocated, or wrote after a fork) and file pages (libraries,
memory-mapped data), and its PSS. ``--every`` also prints the tree every N seconds.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from automl import _tree  # noqa: E402  (the tree as bench/automl.py walks it)


def _status(pid: int) -> dict[str, float] | None:
    """RSS, RssAnon, RssFile (MB) and PSS (MB) of a process; None once it is gone."""
    try:
        fields = {}
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmRSS", "RssAnon", "RssFile", "RssShmem"):
                fields[key] = int(value.split()[0]) / 1024
        pss = 0.0
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
                break
        return {"rss": fields.get("VmRSS", 0.0), "anon": fields.get("RssAnon", 0.0),
                "file": fields.get("RssFile", 0.0) + fields.get("RssShmem", 0.0), "pss": pss}
    except (OSError, ValueError):
        return None


def _snapshot(root: int) -> dict[int, dict[str, float]]:
    return {pid: s for pid in sorted(_tree(root)) if (s := _status(pid)) is not None}


def _show(snapshot: dict[int, dict[str, float]], root: int, elapsed: float) -> str:
    rss = sum(s["rss"] for s in snapshot.values())
    pss = sum(s["pss"] for s in snapshot.values())
    lines = [f"t={elapsed:6.1f}s  RSS sum {rss:6.0f} MB  PSS sum {pss:6.0f} MB  ({len(snapshot)} processes)"]
    for pid, s in snapshot.items():
        role = "root" if pid == root else "child"
        lines.append(f"    {role:5} {pid:>7}  RSS {s['rss']:6.0f} = anon {s['anon']:6.0f} + file {s['file']:5.0f}"
                     f"   PSS {s['pss']:6.0f}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--every", type=float, default=0.0, help="also print the tree every N seconds")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    start = time.time()
    proc = subprocess.Popen(command, env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
    peak_rss = peak_pss = 0.0
    at_peak: dict[int, dict[str, float]] = {}
    peak_time = last_print = 0.0
    while proc.poll() is None:
        snapshot = _snapshot(proc.pid)
        rss = sum(s["rss"] for s in snapshot.values())
        peak_pss = max(peak_pss, sum(s["pss"] for s in snapshot.values()))
        elapsed = time.time() - start
        if rss > peak_rss:
            peak_rss, at_peak, peak_time = rss, snapshot, elapsed
        if args.every and elapsed - last_print >= args.every:
            print(_show(snapshot, proc.pid, elapsed), file=sys.stderr, flush=True)
            last_print = elapsed
        time.sleep(0.25)
    print(f"\nexit {proc.returncode}, {time.time() - start:.1f} s; load average {os.getloadavg()[0]:.1f}; "
          f"peak RSS sum {peak_rss:.0f} MB, peak PSS sum {peak_pss:.0f} MB; at the RSS peak:", file=sys.stderr)
    print(_show(at_peak, proc.pid, peak_time), file=sys.stderr)
    sys.exit(proc.returncode)


if __name__ == "__main__":
    main()
