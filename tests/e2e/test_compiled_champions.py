"""The six public datasets: `podium run` (quick form, short budget), the champion compiles, and
the service over HTTP answers what `podium predict` answers on the test file."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd
import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
PODIUM = str(Path(sys.executable).parent / "podium")
SUITE = Path(os.environ.get("PODIUM_BENCH_DIR", ROOT.parent / "shared" / "bench")) / "tabular"
DATASETS = [("titanic", "survived"), ("german_credit", "risk"), ("digits", "target"),
            ("chile_vote", "vote"), ("slid_wages", "wages"), ("diamonds", "price")]
#: the compiled graph's stated tolerances (podium.training.compile), plus float32 summed in
#: another order by the service's single onnxruntime thread
PROBA_TOLERANCE, VALUE_TOLERANCE = 2e-4, 2e-4
SINGLES = 25


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(project: Path, ref: str, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([PODIUM, "serve", ref, "--port", str(port), "--workers", "1", "--no-auth",
                                "--access-log", "off"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(project / "serve.log", "w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            break
        try:
            if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            time.sleep(0.2)
    process.kill()
    raise AssertionError(f"the service did not start: {(project / 'serve.log').read_text()[-2000:]}")


def _stop(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)


def _same(answer: dict, scored: pd.DataFrame, i: int, classes: list[str] | None, where: str) -> None:
    """The service's answer for row ``i`` against `podium predict`'s (column by column: a row
    of a mixed frame would turn integer labels into floats)."""
    if classes is None:
        want = float(scored["prediction"].iloc[i])
        assert abs(answer["prediction"] - want) <= VALUE_TOLERANCE * max(1.0, abs(want)), where
        return
    assert str(answer["prediction"]) == str(scored["prediction"].iloc[i]), where
    for cls in classes:
        got, want = answer["probabilities"][cls], float(scored[f"proba_{cls}"].iloc[i])
        assert abs(got - want) <= PROBA_TOLERANCE, f"{where} P({cls})"


@pytest.mark.timeout(240)
@pytest.mark.parametrize("dataset,target", DATASETS, ids=[d for d, _ in DATASETS])
def test_the_champion_compiles_and_http_answers_what_podium_predict_answers(tmp_path, dataset, target):
    if not (SUITE / dataset / "train.csv").exists():
        pytest.skip(f"the public benchmark data is not at {SUITE}")
    shutil.copy(SUITE / dataset / "train.csv", tmp_path / "train.csv")
    test = pd.read_csv(SUITE / dataset / "test.csv").drop(columns=[target])
    test.to_csv(tmp_path / "test.csv", index=False)
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "PODIUM_HOME": str(tmp_path)}

    def podium(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PODIUM, *args], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=180)

    ran = podium("run", "--data", "train.csv", "--target", target, "--name", dataset,
                 "--time-budget", "10", "--json")
    assert ran.returncode == 0, ran.stderr[-2000:]
    shown = json.loads(podium("models", "show", f"{dataset}:1", "--json").stdout)
    engine = shown["engine"]
    assert engine["name"] == "onnx", f"{dataset}: {shown['leaderboard'][0]['candidate']} did not compile: {engine}"
    assert engine["checked_rows"] > 0 and engine["reason"] is None

    predicted = podium("predict", f"{dataset}@champion", "--input", "test.csv", "--output", "scored.csv")
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "rows/s" in predicted.stdout and "onnx engine" in predicted.stdout
    scored = pd.read_csv(tmp_path / "scored.csv")
    assert len(scored) == len(test)
    classes = None if shown["task"] == "regression" else [str(c) for c in shown["classes"]]

    features = [c["name"] for c in shown["input_schema"]["columns"]]  # the API takes no other field
    records = json.loads(test[features].to_json(orient="records"))
    process, base = _serve(tmp_path, f"{dataset}@champion", env)
    try:
        with httpx.Client(base_url=f"{base}/v1/models/{dataset}", timeout=30) as client:
            for i in np.linspace(0, len(records) - 1, SINGLES).astype(int).tolist():
                response = client.post("/predict", json=records[i])
                assert response.status_code == 200, response.text
                _same(response.json(), scored, i, classes, f"{dataset} row {i} (single)")
            for start in range(0, len(records), 1000):
                response = client.post("/predict/batch", json={"records": records[start:start + 1000]})
                assert response.status_code == 200, response.text
                answers = response.json()["predictions"]
                assert len(answers) == len(records[start:start + 1000])
                for offset, answer in enumerate(answers):
                    i = start + offset
                    _same(answer, scored, i, classes, f"{dataset} row {i} (batch)")
    finally:
        _stop(process)
