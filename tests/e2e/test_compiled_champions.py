"""The six public datasets: `podium run` (quick form, short budget), the champion compiles, and
the service over HTTP answers what `podium predict` answers on the test file. The six models
are trained in one project and served by one `podium serve`."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
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


def _serve(project: Path, refs: list[str], env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    process = subprocess.Popen([PODIUM, "serve", *refs, "--port", str(port), "--workers", "1", "--no-auth",
                                "--access-log", "off"], cwd=project, env=env, stdout=subprocess.DEVNULL,
                               stderr=open(project / "serve.log", "w"), start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120  # six models to load
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


@dataclass
class Trained:
    """One dataset's `podium run`, `podium models show` and `podium predict` in the shared project."""

    ran: subprocess.CompletedProcess
    shown: dict | None = None
    predicted: subprocess.CompletedProcess | None = None
    test: pd.DataFrame | None = None
    scored: pd.DataFrame | None = None


@pytest.fixture(scope="module")
def champions(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[dict[str, Trained], str | None]]:
    """Each dataset trained, shown and predicted in one project, then ONE `podium serve` for every
    champion that predicted (a service start is paid once, not six times). A dataset that fails keeps
    its outcome here for its own test to report; the others go on."""
    if not all((SUITE / d / "train.csv").exists() for d, _ in DATASETS):
        pytest.skip(f"the public benchmark data is not at {SUITE}")
    project = tmp_path_factory.mktemp("champions")
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COLUMNS": "200", "PODIUM_HOME": str(project)}

    def podium(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([PODIUM, *args], cwd=project, env=env, capture_output=True, text=True, timeout=180)

    trained: dict[str, Trained] = {}
    for dataset, target in DATASETS:
        shutil.copy(SUITE / dataset / "train.csv", project / f"{dataset}.csv")
        test = pd.read_csv(SUITE / dataset / "test.csv").drop(columns=[target])
        test.to_csv(project / f"{dataset}-test.csv", index=False)
        ran = podium("run", "--data", f"{dataset}.csv", "--target", target, "--name", dataset,
                     "--time-budget", "10", "--json")
        trained[dataset] = outcome = Trained(ran, test=test)
        if ran.returncode != 0:
            continue
        outcome.shown = json.loads(podium("models", "show", f"{dataset}:1", "--json").stdout)
        outcome.predicted = podium("predict", f"{dataset}@champion", "--input", f"{dataset}-test.csv",
                                   "--output", f"{dataset}-scored.csv")
        if outcome.predicted.returncode == 0:
            outcome.scored = pd.read_csv(project / f"{dataset}-scored.csv")
    refs = [f"{d}@champion" for d, t in trained.items() if t.scored is not None]
    if not refs:
        yield trained, None
        return
    process, base = _serve(project, refs, env)
    try:
        yield trained, base
    finally:
        _stop(process)


@pytest.mark.timeout(1200)  # the first one also trains the six (each a 10 s budget, then compile and check)
@pytest.mark.parametrize("dataset", [d for d, _ in DATASETS])
def test_the_champion_compiles_and_http_answers_what_podium_predict_answers(
        champions: tuple[dict[str, Trained], str | None], dataset: str) -> None:
    trained, base = champions
    outcome = trained[dataset]
    assert outcome.ran.returncode == 0, outcome.ran.stderr[-2000:]
    shown = outcome.shown
    assert shown is not None
    engine = shown["engine"]
    assert engine["name"] == "onnx", f"{dataset}: {shown['leaderboard'][0]['candidate']} did not compile: {engine}"
    assert engine["checked_rows"] > 0 and engine["reason"] is None

    predicted, test, scored = outcome.predicted, outcome.test, outcome.scored
    assert predicted is not None and test is not None
    assert predicted.returncode == 0, predicted.stderr[-2000:]
    assert "rows/s" in predicted.stdout and "onnx engine" in predicted.stdout
    assert scored is not None and len(scored) == len(test)
    classes = None if shown["task"] == "regression" else [str(c) for c in shown["classes"]]

    features = [c["name"] for c in shown["input_schema"]["columns"]]  # the API takes no other field
    records = json.loads(test[features].to_json(orient="records"))
    assert base is not None
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
