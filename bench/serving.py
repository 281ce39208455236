"""Serving benchmark: requests/s and p50/p99 latency of `podium serve`, next to the anchors.

    python bench/serving.py                  # 10 s a row, both engines
    python bench/serving.py --duration 15    # the anchors' 15 s a row
    python bench/serving.py --engine sklearn # one engine only

The model is the anchors' pipeline (ColumnTransformer: impute + one-hot; a
HistGradientBoosting classifier) fitted on tabular/titanic, registered in a fresh project
folder and served by `podium serve` with 2 workers on 127.0.0.1. The categorical imputer
uses an explicit missing-value marker so that skl2onnx converts it: the `onnxruntime` rows
are what `podium serve` does by default, the `sklearn` rows the same service with --no-onnx.
Load comes from wrk (`apt-get install wrk`) on the same machine, or from a Python client
when wrk is missing. The in-process times of the same model are printed first.
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
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SUITE = Path(os.environ.get("PODIUM_BENCH_DIR", ROOT.parent / "shared" / "bench"))
TRAIN = SUITE / "tabular" / "titanic" / "train.csv"

#: ../shared/bench/ANCHORS.md, "Serving a tabular model over HTTP, 2 worker processes"
ANCHORS = [
    ("MLflow 3.18 `mlflow models serve`", "149 (6.4 / 10.7)", "306 (25 / 121)", "330 (181 / 385)", "182 = 18 k rows/s", "800 MB"),
    ("BentoML 1.4, no batching", "196 (4.8 / 107)", "331 (23 / 168)", "325 (181 / 454)", "114", "600 MB"),
    ("BentoML 1.4, adaptive batching", "140 (6.9 / 107)", "546 (14 / 211)", "1154 (41 / 460)", "125", "715 MB"),
    ("FastAPI + uvicorn, sklearn predict_proba", "246 (3.9 / 6.1)", "398 (19 / 57)", "341 (175 / 369)", "302 = 30 k rows/s", "415 MB"),
    ("FastAPI + uvicorn, ONNX Runtime", "1293 (0.7 / 1.2)", "2629 (2.8 / 12)", "1905 (31 / 103)", "1253 = 125 k rows/s", "305 MB"),
    ("the HTTP stack alone (no-op endpoint)", "2146 (0.5 / 0.6)", "2559 (3.0 / 5.8)", "4434 (12 / 110)", "—", "—"),
]


def build_project(folder: Path) -> tuple[str, dict, list[dict]]:
    """Fit the anchors' pipeline, register it as titanic@champion; returns (key, record, records)."""
    import pandas as pd
    from sklearn.compose import ColumnTransformer
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder

    from podium.config import load_settings
    from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry

    frame = pd.read_csv(TRAIN)
    target = frame.pop("survived").map({0: "died", 1: "survived"})
    categorical = [c for c in frame.columns if not pd.api.types.is_numeric_dtype(frame[c])]
    numeric = [c for c in frame.columns if c not in categorical]
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing", missing_values=""),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
        ("num", SimpleImputer(strategy="median"), numeric),
    ])
    pipeline = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(random_state=0))])
    pipeline.fit(frame, target)
    package = ModelPackage(pipeline, InputSchema.from_frame(frame), OutputSchema.from_target(target, "binary"),
                           metric="accuracy", metrics={"accuracy": float((pipeline.predict(frame) == target).mean())})
    registry = Registry.from_settings(load_settings(folder))
    registry.register("titanic", package)
    _, key = registry.create_key("bench")
    records = json.loads(frame.head(100).to_json(orient="records"))
    return key, records[0], records


def in_process(folder: Path, records: list[dict]) -> list[tuple[str, float, float]]:
    """Milliseconds per call of the registered model, 1 row and 100 rows, by path."""
    import pandas as pd
    from threadpoolctl import threadpool_limits

    from podium.config import load_settings
    from podium.registry import Registry
    from podium.serving.onnx import try_onnx
    from podium.serving.predictor import Predictor
    from podium.serving.served import check_rows

    threadpool_limits(1)
    package = Registry.from_settings(load_settings(folder)).load("titanic@champion")
    columns = [c.name for c in package.input_schema.columns]
    rows = [tuple(r[c] for c in columns) for r in records]
    one, hundred = pd.DataFrame(records[:1]), pd.DataFrame(records)
    sklearn = Predictor(package)
    onnx = Predictor(package)
    try_onnx(onnx, check_rows(package.input_schema))
    timings = [
        ("pipeline.predict_proba on a DataFrame", _ms(lambda: package.pipeline.predict_proba(one)),
         _ms(lambda: package.pipeline.predict_proba(hundred))),
        ("package.predict_frame (conform + predict + proba)", _ms(lambda: package.predict_frame(one)),
         _ms(lambda: package.predict_frame(hundred))),
        ("podium scoring path, scikit-learn", _ms(lambda: sklearn.predict(rows[:1])), _ms(lambda: sklearn.predict(rows))),
    ]
    if onnx.engine == "onnxruntime":
        timings.append(("podium scoring path, ONNX Runtime", _ms(lambda: onnx.predict(rows[:1])),
                        _ms(lambda: onnx.predict(rows))))
    return timings


def _ms(call, repeat: int = 200) -> float:
    call()
    started = time.perf_counter()
    for _ in range(repeat):
        call()
    return (time.perf_counter() - started) / repeat * 1000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_service(folder: Path, port: int, engine: str) -> subprocess.Popen:
    code = (
        "from podium.config import load_settings\n"
        "from podium.serving import ServeOptions, serve\n"
        f"s = load_settings({str(folder)!r})\n"
        "serve(ServeOptions(refs=['titanic@champion'], registry_url=s.resolved_registry_url,\n"
        f"    artifacts_url=s.resolved_artifacts_url, port={port}, workers=2, onnx={engine!r},\n"
        f"    access_log={str(folder / 'access.log')!r}, prediction_log_rate=0.1))\n"
    )
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    process = subprocess.Popen([sys.executable, "-c", code], env=env, stdout=subprocess.DEVNULL,
                               stderr=open(folder / f"serve-{engine}.log", "w"), start_new_session=True)
    import httpx

    deadline = time.time() + 60
    while time.time() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=1).status_code == 200:
                time.sleep(1.0)  # both workers
                return process
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise RuntimeError(f"the service did not start; see {folder / f'serve-{engine}.log'}")


def stop_service(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        process.kill()


def worker_memory_mb(parent: int) -> tuple[float, float]:
    """RSS and PSS (MiB) of the parent's worker processes, summed."""
    rss = pss = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) != parent:
            continue
        pid = stat.parent.name
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss += int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss += int(line.split()[1]) / 1024
    return rss, pss


def load(url: str, body: str, key: str, connections: int, seconds: float) -> dict:
    """Requests/s and p50/p99 (ms) of POST body at url with a number of connections."""
    if shutil.which("wrk"):
        return _wrk(url, body, key, connections, seconds)
    return _python_load(url, body, key, connections, seconds)


def _wrk(url: str, body: str, key: str, connections: int, seconds: float) -> dict:
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(f'wrk.method = "POST"\nwrk.body = {json.dumps(body)}\n'
                     'wrk.headers["Content-Type"] = "application/json"\n'
                     f'wrk.headers["Authorization"] = "Bearer {key}"\n')
    out = subprocess.run(["wrk", "-t1", f"-c{connections}", f"-d{int(seconds)}s", "--latency", "-s",
                          script.name, url], capture_output=True, text=True, check=True).stdout
    os.unlink(script.name)
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {"rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
            "p50": _wrk_ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
            "p99": _wrk_ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
            "errors": int(non2xx.group(1)) if non2xx else 0}


def _wrk_ms(text: str) -> float:
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def _python_load(url: str, body: str, key: str, connections: int, seconds: float) -> dict:
    import asyncio

    import httpx

    async def run() -> tuple[list[float], int]:
        latencies: list[float] = []
        errors = 0
        deadline = time.perf_counter() + seconds
        headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=connections)) as client:
            async def user() -> None:
                nonlocal errors
                while time.perf_counter() < deadline:
                    started = time.perf_counter()
                    response = await client.post(url, content=body, headers=headers)
                    latencies.append(time.perf_counter() - started)
                    errors += response.status_code != 200
            await asyncio.gather(*(user() for _ in range(connections)))
        return latencies, errors

    latencies, errors = asyncio.run(run())
    latencies.sort()
    return {"rps": len(latencies) / seconds, "p50": latencies[len(latencies) // 2] * 1000,
            "p99": latencies[int(len(latencies) * 0.99)] * 1000, "errors": errors}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per row of the table")
    parser.add_argument("--engine", choices=["both", "onnx", "sklearn"], default="both")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    folder = Path(tempfile.mkdtemp(prefix="podium-bench-serving-"))
    key, record, records = build_project(folder)
    print(f"model: the anchors' pipeline on {TRAIN.name} (titanic), project {folder}")
    print(f"load generator: {'wrk' if shutil.which('wrk') else 'Python (httpx) — install wrk for steadier figures'}"
          f", {args.duration:g} s a row, {os.cpu_count()} cores shared with the service\n")
    print("In one process (ms per call, 1 OpenMP thread):\n")
    print("| path | 1 row | 100 rows |\n| --- | --: | --: |")
    for name, one, hundred in in_process(folder, records):
        print(f"| {name} | {one:.3f} | {hundred:.3f} |")
    single, batch = json.dumps(record), json.dumps({"records": records})
    engines = {"both": ["auto", "off"], "onnx": ["auto"], "sklearn": ["off"]}[args.engine]
    rows = []
    for engine in engines:
        port = free_port()
        process = start_service(folder, port, engine)
        try:
            base = f"http://127.0.0.1:{port}/v1/models/titanic"
            served = json.loads(subprocess.run(
                [sys.executable, "-c", f"import httpx; print(httpx.get('{base}', headers={{'X-API-Key': '{key}'}}).text)"],
                capture_output=True, text=True).stdout)["engine"]
            figures = [load(f"{base}/predict", single, key, c, args.duration) for c in (1, 8, 64)]
            figures.append(load(f"{base}/predict/batch", batch, key, 8, args.duration))
            rss, pss = worker_memory_mb(process.pid)
        finally:
            stop_service(process)
        rows.append((f"**podium serve**, {served}", figures, rss, pss))
    print("\nOver HTTP, 2 workers on 127.0.0.1: requests/s (p50 / p99 ms)\n")
    print("| server | 1 row, 1 conn | 1 row, 8 conns | 1 row, 64 conns | 100-row batch, 8 conns | RSS (2 workers) |")
    print("| --- | --: | --: | --: | --: | --: |")
    for name, figures, rss, pss in rows:
        cells = [f"{f['rps']:.0f} ({f['p50']:.1f} / {f['p99']:.1f})" + (f" ⚠ {f['errors']} errors" if f["errors"] else "")
                 for f in figures[:3]]
        b = figures[3]
        cells.append(f"{b['rps']:.0f} req/s = {b['rps'] * len(records) / 1000:.0f} k rows/s")
        print(f"| {name} | " + " | ".join(cells) + f" | {rss:.0f} MB (PSS {pss:.0f}) |")
    for anchor in ANCHORS:
        print("| " + " | ".join(anchor) + " |")
    shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
