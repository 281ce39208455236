"""Serving benchmark: podium's own champions over HTTP, next to a no-op FastAPI ceiling.

    python bench/serving.py                       # train (30 s each), serve, load: ~15 min
    python bench/serving.py --reuse               # reuse the projects trained by an earlier run
    python bench/serving.py --only titanic diamonds --duration 15

For each public dataset of ../shared/bench/tabular, podium trains its champion with the quick
form (`podium run --data train.csv --target T --metric M --time-budget 30`) in a fresh project
folder under --projects; "anchors" is the anchors' pipeline (impute + one-hot + histogram
gradient boosting on titanic, one trial), also built by `podium run`. Each champion is served
by `podium serve NAME@champion --workers 2` on 127.0.0.1 with an API key, request validation,
Prometheus metrics and the 10 % prediction log on (the access log off unless --access-log), and
driven by wrk on the same machine: one-record bodies (rows of test.csv, rotating) at 1, 8 and
64 connections, and 100-record batch bodies at 8 connections. In the same run, the ceiling:
a no-op FastAPI endpoint as a user would write it (a sync handler taking a pydantic body with
the dataset's fields, returning a constant answer), served the same way (uvicorn, 2 workers),
running beside podium's service and loaded in turn with it at each connection count. RSS is the sum over the service's process tree
(supervisor, workers and multiprocessing's resource tracker; psutil), read after the load,
with each process's share and the PSS sum (shared pages counted once).

Needs wrk (`apt-get install -y wrk`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
#: ../shared/bench of the clone (or of a worktree's main clone); PODIUM_BENCH_DIR overrides
SUITE = Path(os.environ.get("PODIUM_BENCH_DIR") or next(
    (p / "shared" / "bench" for p in ROOT.parents if (p / "shared" / "bench").is_dir()), ROOT.parent / "shared" / "bench"))
DEFAULT_PROJECTS = Path(tempfile.gettempdir()) / "podium-bench-projects"
#: the podium command line of this interpreter (works with PYTHONPATH=src, no install needed)
PODIUM = [sys.executable, "-c", "import sys; from podium.cli.main import main; sys.argv[0] = 'podium'; "
          "sys.exit(main())"]
ANCHORS_MODEL = "anchors"
CONNECTIONS = (1, 8, 64)
BATCH_ROWS, BATCH_CONNECTIONS = 100, 8

#: ../shared/bench/ANCHORS.md, "Serving a tabular model over HTTP, 2 worker processes" (15 s a row)
ANCHOR_ROWS = [
    ("MLflow 3.18 `mlflow models serve`", "149 (6.4 / 10.7)", "306 (25 / 121)", "330 (181 / 385)", "18 k", "800 MB"),
    ("BentoML 1.4, no batching", "196 (4.8 / 107)", "331 (23 / 168)", "325 (181 / 454)", "11 k", "600 MB"),
    ("BentoML 1.4, adaptive batching", "140 (6.9 / 107)", "546 (14 / 211)", "1154 (41 / 460)", "13 k", "715 MB"),
    ("FastAPI + uvicorn, sklearn predict_proba", "246 (3.9 / 6.1)", "398 (19 / 57)", "341 (175 / 369)", "30 k",
     "415 MB"),
    ("FastAPI + uvicorn, ONNX Runtime (skl2onnx)", "1293 (0.7 / 1.2)", "2629 (2.8 / 12)", "1905 (31 / 103)", "125 k",
     "305 MB"),
    ("the HTTP stack alone (no-op endpoint)", "2146 (0.5 / 0.6)", "2559 (3.0 / 5.8)", "4434 (12 / 110)", "—", "—"),
]


# -- datasets and champions ---------------------------------------------------------------------
@dataclass
class Dataset:
    name: str  # the registered model's name
    train: Path
    test: Path
    target: str
    metric: str
    spec: dict[str, Any] | None = None  # a spec file's content instead of the quick form


def datasets() -> list[Dataset]:
    """The six public datasets, then the anchors' pipeline on titanic."""
    manifest = json.loads((SUITE / "tabular" / "manifest.json").read_text())["datasets"]
    found = [Dataset(d["name"], SUITE / "tabular" / d["train"], SUITE / "tabular" / d["test"], d["target"],
                     d["primary_metric"]) for d in manifest]
    titanic = next(d for d in found if d.name == "titanic")
    anchors = {"name": ANCHORS_MODEL, "source": str(titanic.train), "target": titanic.target, "metric": "accuracy",
               "steps": [{"impute": {"numeric": "median", "categorical": "most_frequent"}}, {"one_hot": {}}],
               "candidates": ["hist_gradient_boosting"], "budget": {"trials": 1}, "seed": 0, "notify": []}
    return found + [Dataset(ANCHORS_MODEL, titanic.train, titanic.test, titanic.target, "accuracy", anchors)]


def podium(project: Path, *args: str, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run the podium command line on a project folder; raise with its stderr on failure."""
    done = subprocess.run([*PODIUM, "--project", str(project), *args], capture_output=True, text=True,
                          env={**os.environ, "OMP_NUM_THREADS": "1"}, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"podium {' '.join(args[:2])} failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    return done


def champion(data: Dataset, projects: Path, budget: float, reuse: bool) -> Path:
    """The project folder holding ``data``'s champion: trained now, or an earlier run's with reuse."""
    project = projects / data.name
    done = project / "bench-trained.json"
    if reuse and done.exists():
        podium(project, "db", "upgrade")  # a cache an older podium wrote: its registry brought up to date
        return project
    shutil.rmtree(project, ignore_errors=True)
    project.mkdir(parents=True)
    started = time.perf_counter()
    if data.spec is not None:
        spec = project / "pipeline.yaml"
        spec.write_text(json.dumps(data.spec))  # JSON is YAML
        result = podium(project, "run", str(spec), "--json", cwd=project)
    else:
        result = podium(project, "run", "--data", str(data.train), "--target", data.target, "--metric", data.metric,
                        "--time-budget", str(budget), "--name", data.name, "--seed", "0", "--json", cwd=project)
    summary = json.loads(result.stdout)
    board = summary.get("leaderboard") or [{}]
    done.write_text(json.dumps({"seconds": time.perf_counter() - started, "winner": board[0].get("candidate"),
                                "budget": budget}))
    return project


def trained_info(project: Path) -> dict[str, Any]:
    path = project / "bench-trained.json"
    return json.loads(path.read_text()) if path.exists() else {}


# -- request bodies -----------------------------------------------------------------------------
def bodies(data: Dataset, features: list[str], count: int = 64) -> tuple[list[str], list[str], dict[str, str]]:
    """One-record bodies, 100-record batch bodies (rows of test.csv, the model's features only:
    the service refuses fields it does not know, e.g. a constant column training dropped) and
    each field's kind."""
    import pandas as pd

    test = pd.read_csv(data.test)[features]
    kinds = {c: ("number" if pd.api.types.is_numeric_dtype(test[c]) else "string") for c in test.columns}
    records = json.loads(test.to_json(orient="records"))  # NaN → null
    single = [json.dumps(r) for r in records[:count]]
    chunks = [records[i:i + BATCH_ROWS] for i in range(0, len(records) - BATCH_ROWS + 1, BATCH_ROWS)][:16]
    batch = [json.dumps({"records": c}) for c in chunks]
    return single, batch, kinds


CEILING_APP = '''"""The ceiling: a no-op FastAPI endpoint as a user would write it."""
from fastapi import FastAPI
from pydantic import Field, create_model

FIELDS = {fields!r}
Record = create_model("Record", **{{f"f{{i}}": ((float | None) if kind == "number" else (str | None),
                                              Field(None, alias=name)) for i, (name, kind) in enumerate(FIELDS.items())}})
app = FastAPI()


@app.post("/v1/models/{name}/predict")
def predict(record: Record) -> dict:  # type: ignore[valid-type]
    return {{"prediction": "constant", "version": 1}}
'''


# -- services -----------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Service:
    process: subprocess.Popen[bytes]
    log: Path

    def memory_mb(self) -> dict[str, list[float]]:
        """RSS and PSS (MiB) of each process of the service's tree, the supervisor first.

        RSS counts the pages shared between processes (libraries) once per process; PSS
        shares them out, so its sum is what the tree really holds."""
        try:
            root = psutil.Process(self.process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return {"rss": [], "pss": []}
        rss, pss = [], []
        for proc in tree:
            try:
                full = proc.memory_full_info()
            except psutil.NoSuchProcess:
                continue
            rss.append(full.rss / 2**20)
            pss.append(getattr(full, "pss", float("nan")) / 2**20)
        return {"rss": rss, "pss": pss}

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the service's processes have used so far."""
        try:
            root = psutil.Process(self.process.pid)
            tree = [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return float("nan")
        total = 0.0
        for proc in tree:
            try:
                times = proc.cpu_times()
            except psutil.NoSuchProcess:
                continue
            total += times.user + times.system
        return total

    def stop(self) -> None:
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def start(command: list[str], log: Path, cwd: Path, workers: int = 2) -> Service:
    """Start a uvicorn-based service; return once every worker says its startup is complete."""
    handle = open(log, "w")
    process = subprocess.Popen(command, cwd=cwd, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the service exited ({process.returncode}); see {log}:\n{log.read_text()[-2000:]}")
        if log.read_text().count("Application startup complete") >= workers:
            return Service(process, log)
        time.sleep(0.2)
    os.killpg(process.pid, signal.SIGKILL)
    raise RuntimeError(f"the service did not start within 120 s; see {log}")


def post(url: str, body: str, key: str | None) -> tuple[int, str]:
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def get_json(url: str, key: str) -> Any:
    import urllib.request

    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {key}"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


# -- load ---------------------------------------------------------------------------------------
def _lua_string(text: str) -> str:
    level = 1
    while f"]{'=' * level}]" in text:
        level += 1
    return f"[{'=' * level}[{text}]{'=' * level}]"


def wrk(url: str, payloads: list[str], key: str | None, connections: int, seconds: float, work: Path,
        label: str, service: Service) -> dict[str, Any]:
    """Requests/s, p50/p99 (ms), errors and the service's CPU µs per request of POSTing
    ``payloads`` (rotating) to ``url``."""
    from urllib.parse import urlsplit

    path = urlsplit(url).path
    headers = {"Content-Type": "application/json", **({"Authorization": f"Bearer {key}"} if key else {})}
    lua = work / f"{label}.lua"
    lua.write_text(
        "local bodies = {\n" + ",\n".join(_lua_string(p) for p in payloads) + "\n}\n"
        "local headers = {" + ", ".join(f'["{k}"] = "{v}"' for k, v in headers.items()) + "}\n"
        "local requests = {}\nlocal i = 0\n"
        "init = function(args)\n  for n, body in ipairs(bodies) do\n"
        f'    requests[n] = wrk.format("POST", "{path}", headers, body)\n  end\nend\n'
        "request = function()\n  i = (i % #requests) + 1\n  return requests[i]\nend\n")
    cpu = service.cpu_seconds()
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{seconds:g}s", "--latency", "-s", str(lua), url],
                         capture_output=True, text=True, check=True).stdout
    cpu = service.cpu_seconds() - cpu
    done = int(_search(r"(\d+) requests in", out))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    errors = int(non2xx.group(1)) if non2xx else 0
    if socket_errors:
        errors += sum(int(g) for g in socket_errors.groups())
    return {"rps": float(_search(r"Requests/sec:\s+([\d.]+)", out)),
            "p50": _ms(_search(r"50%\s+([\d.]+\w+)", out)), "p99": _ms(_search(r"99%\s+([\d.]+\w+)", out)),
            "errors": errors, "cpu_us": cpu / max(done, 1) * 1e6}


def _search(pattern: str, text: str) -> str:
    found = re.search(pattern, text)
    if found is None:
        raise RuntimeError(f"unexpected wrk output:\n{text}")
    return found.group(1)


def _ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(\w+)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}[unit]


# -- one dataset --------------------------------------------------------------------------------
def measure(data: Dataset, project: Path, args: argparse.Namespace, work: Path) -> dict[str, Any]:
    """podium serve and the ceiling for one dataset: figures per connection count, batches, RSS.

    Both services run side by side and are loaded in turn (podium, then the ceiling, at each
    connection count), so that each ratio compares figures taken seconds apart on a shared machine.
    """
    key_file = project / "bench-key.txt"
    if not key_file.exists():
        key_file.write_text(podium(project, "keys", "create", "--name", "bench").stdout.strip())
    key = key_file.read_text().strip()
    row: dict[str, Any] = {"dataset": data.name, **trained_info(project)}
    port = free_port()
    access_log = str(work / f"{data.name}-access.jsonl") if args.access_log else "off"
    service = start([*PODIUM, "--project", str(project), "serve", f"{data.name}@champion", "--workers", "2",
                     "--port", str(port), "--access-log", access_log], work / f"{data.name}-serve.log", project)
    ceiling: Service | None = None
    try:
        base = f"http://127.0.0.1:{port}/v1/models/{data.name}"
        features = [f["name"] for f in get_json(base, key)["features"]]
        single, batch, kinds = bodies(data, features)
        row["fields"] = len(features)
        for url, body in ((f"{base}/predict", single[0]), (f"{base}/predict/batch", batch[0])):
            status, text = post(url, body, key)
            if status != 200:
                raise RuntimeError(f"{data.name}: {url} answered {status}: {text[:500]}")
        if post(f"{base}/predict", single[0], None)[0] != 401:
            raise RuntimeError(f"{data.name}: the service answers without an API key")
        listed = get_json(f"http://127.0.0.1:{port}/v1/models", key)["models"]
        row["engine"] = next((m.get("engine") for m in listed if m["name"] == data.name), "?")

        app = work / f"ceiling_{data.name}.py"
        app.write_text(CEILING_APP.format(fields=kinds, name=data.name))
        ceiling_port = free_port()
        ceiling = start([sys.executable, "-m", "uvicorn", f"{app.stem}:app", "--host", "127.0.0.1", "--port",
                         str(ceiling_port), "--workers", "2", "--no-access-log", "--no-server-header"],
                        work / f"{data.name}-ceiling.log", work)
        ceiling_url = f"http://127.0.0.1:{ceiling_port}/v1/models/{data.name}/predict"
        status, text = post(ceiling_url, single[0], None)
        if status != 200:
            raise RuntimeError(f"the ceiling for {data.name} answered {status}: {text[:500]}")

        row["podium"], row["ceiling"] = {}, {}
        for c in CONNECTIONS:
            row["podium"][c] = wrk(f"{base}/predict", single, key, c, args.duration, work, f"{data.name}-one",
                                   service)
            row["ceiling"][c] = wrk(ceiling_url, single, None, c, args.duration, work, f"{data.name}-ceiling",
                                    ceiling)
        row["batch"] = wrk(f"{base}/predict/batch", batch, key, BATCH_CONNECTIONS, args.duration, work,
                           f"{data.name}-batch", service)
        row["memory"] = service.memory_mb()
        row["ceiling_memory"] = ceiling.memory_mb()
    finally:
        service.stop()
        if ceiling is not None:
            ceiling.stop()
    return row


# -- the table ----------------------------------------------------------------------------------
def _cell(f: dict[str, Any]) -> str:
    text = f"{f['rps']:,.0f} ({f['p50']:.2f} / {f['p99']:.1f})"
    return text + (f" ⚠ {f['errors']} errors" if f["errors"] else "")


def _memory(memory: dict[str, list[float]]) -> str:
    return (f"{sum(memory['rss']):.0f} MB (" + " + ".join(f"{s:.0f}" for s in memory["rss"]) + ")"
            f", PSS {sum(memory['pss']):.0f}")


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| model | engine | 1 row, 1 conn | 1 row, 8 conns | 1 row, 64 conns | 100-row batches, 8 conns "
             "| RSS: sum (supervisor + its children), PSS | × ceiling at 8 / 64 |",
             "| --- | --- | --: | --: | --: | --: | --: | --: |"]
    for r in rows:
        if "error" in r:
            lines.append(f"| {r['dataset']} | failed: {r['error']} | | | | | | |")
            continue
        p, c, b = r["podium"], r["ceiling"], r["batch"]
        winner = f" ({r['winner']})" if r.get("winner") else ""
        lines.append(f"| **{r['dataset']}**{winner} | {r['engine']} | " + " | ".join(_cell(p[n]) for n in CONNECTIONS)
                     + f" | {b['rps'] * BATCH_ROWS / 1000:,.0f} k rows/s ({b['p50']:.1f} / {b['p99']:.1f})"
                     + (f" ⚠ {b['errors']} errors" if b["errors"] else "")
                     + f" | {_memory(r['memory'])} | {p[8]['rps'] / c[8]['rps']:.2f} / {p[64]['rps'] / c[64]['rps']:.2f} |")
    for r in rows:
        if "error" not in r:
            lines.append(f"| ceiling ({r['dataset']} fields) | no-op FastAPI | "
                         + " | ".join(_cell(r["ceiling"][n]) for n in CONNECTIONS)
                         + f" | — | {_memory(r['ceiling_memory'])} | 1 |")
    for anchor in ANCHOR_ROWS:
        name, *cells = anchor
        lines.append(f"| {name} (ANCHORS.md) | | " + " | ".join(cells[:3]) + f" | {cells[3]}{' rows/s' if cells[3] != '—' else ''} | {cells[4]} | |")
    return "\n".join(lines)


def cpu_table(rows: list[dict[str, Any]]) -> str:
    """CPU time the services spent per request: what a busy shared machine distorts least."""
    lines = ["| model | podium µs/request at 1 / 8 / 64 conns | ceiling µs/request at 1 / 8 / 64 "
             "| ceiling ÷ podium at 8 / 64 | podium µs per row in 100-row batches |",
             "| --- | --: | --: | --: | --: |"]
    for r in rows:
        if "error" in r:
            continue
        p, c = r["podium"], r["ceiling"]
        lines.append(f"| {r['dataset']} | " + " / ".join(f"{p[n]['cpu_us']:.0f}" for n in CONNECTIONS) + " | "
                     + " / ".join(f"{c[n]['cpu_us']:.0f}" for n in CONNECTIONS) + " | "
                     + f"{c[8]['cpu_us'] / p[8]['cpu_us']:.2f} / {c[64]['cpu_us'] / p[64]['cpu_us']:.2f} | "
                     + f"{r['batch']['cpu_us'] / BATCH_ROWS:.1f} |")
    return "\n".join(lines)


def targets(rows: list[dict[str, Any]]) -> list[str]:
    """Each issue-7 target for serving, met or not, per dataset."""
    said = []
    for r in rows:
        if "error" in r:
            continue
        p, c = r["podium"], r["ceiling"]
        checks = [
            (f"≥ 0.8 × ceiling at 8 conns ({p[8]['rps'] / c[8]['rps']:.2f})", p[8]["rps"] >= 0.8 * c[8]["rps"]),
            (f"≥ 0.8 × ceiling at 64 conns ({p[64]['rps'] / c[64]['rps']:.2f})", p[64]["rps"] >= 0.8 * c[64]["rps"]),
            (f"p50 ≤ 1 ms at 1 conn ({p[1]['p50']:.2f} ms)", p[1]["p50"] <= 1.0),
            (f"batches ≥ 150 k rows/s ({r['batch']['rps'] * BATCH_ROWS / 1000:.0f} k)",
             r["batch"]["rps"] * BATCH_ROWS >= 150_000),
            (f"RSS ≤ 300 MB ({sum(r['memory']['rss']):.0f} MB)", sum(r["memory"]["rss"]) <= 300),
        ]
        said.append(f"{r['dataset']}: " + "; ".join(f"{'met' if ok else 'NOT met'}: {what}" for what, ok in checks))
    return said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of load per figure (default 10)")
    parser.add_argument("--budget", type=float, default=30.0, help="training seconds per dataset (default 30)")
    parser.add_argument("--only", nargs="*", help=f"datasets (default: the six public ones and {ANCHORS_MODEL})")
    parser.add_argument("--projects", type=Path, default=DEFAULT_PROJECTS,
                        help=f"folder of the trained projects, one per dataset (default {DEFAULT_PROJECTS})")
    parser.add_argument("--reuse", action="store_true",
                        help="serve the projects an earlier run trained under --projects (train only missing ones)")
    parser.add_argument("--access-log", action="store_true", help="write podium's JSON access log to a file")
    parser.add_argument("--json", type=Path, help="also write the figures to this JSON file")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is missing: apt-get install -y wrk")
    chosen = [d for d in datasets() if not args.only or d.name in args.only]
    if args.only and len(chosen) != len(args.only):
        sys.exit(f"unknown dataset in {args.only}; known: {', '.join(d.name for d in datasets())}")
    work = Path(tempfile.mkdtemp(prefix="podium-bench-serving-"))
    load = os.getloadavg()
    print(f"{os.cpu_count()} cores, load average {load[0]:.1f} / {load[1]:.1f} / {load[2]:.1f} at the start; "
          f"wrk 1 thread, {args.duration:g} s a figure; projects under {args.projects}; logs in {work}",
          file=sys.stderr)
    rows = []
    for data in chosen:
        try:
            print(f"… {data.name}: champion", file=sys.stderr, flush=True)
            project = champion(data, args.projects, args.budget, args.reuse)
            print(f"… {data.name}: load", file=sys.stderr, flush=True)
            rows.append(measure(data, project, args, work))
        except Exception as exc:  # one failed dataset must not lose the others' figures
            rows.append({"dataset": data.name, "error": str(exc).splitlines()[0][:300]})
            print(f"  {data.name} failed: {exc}", file=sys.stderr)
    end = os.getloadavg()
    print(f"\nRequests/s (p50 / p99 ms); podium: auth, validation, metrics, 10 % prediction log on; "
          f"{os.cpu_count()} cores shared with wrk; load average {load[0]:.1f} at the start, {end[0]:.1f} at the end\n")
    print(table(rows))
    print("\nCPU time of the service's processes per request (user + system, psutil), same runs:\n")
    print(cpu_table(rows))
    print()
    for line in targets(rows):
        print(f"- {line}")
    if args.json:
        args.json.write_text(json.dumps({"load": [load, end], "rows": rows}, indent=1, default=str))


if __name__ == "__main__":
    main()
