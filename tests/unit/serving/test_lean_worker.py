"""A worker serving a compiled model imports neither scikit-learn nor pandas (nor Alembic: opening a
registry at head needs no migration machinery), and unpickles nothing."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from serving_doubles import RECORD, classifier_package

from podium.registry import Registry

pytest.importorskip("onnxruntime")

_WORKER = """
import json, sys
from fastapi.testclient import TestClient
from podium.registry import Registry
from podium.serving.app import create_app

registry = Registry(sys.argv[1], sys.argv[2])
app = create_app(registry, ["titanic@champion"], auth=False)
served = app.state.podium.slots["titanic"].current
with TestClient(app) as client:
    one = client.post("/v1/models/titanic/predict", json=json.loads(sys.argv[3]))
    many = client.post("/v1/models/titanic/predict/batch", json={"records": [json.loads(sys.argv[3])] * 3})
print(json.dumps({"status": [one.status_code, many.status_code], "one": one.json(),
                  "engine": served.predictor.engine, "unpickled": served.package.pipeline_loaded,
                  "loaded": [m for m in ("sklearn", "pandas", "joblib", "lightgbm", "xgboost", "alembic") if m in sys.modules],
                  "forecasting": [m for m in ("podium.serving.forecasting", "podium.data.series", "torch",
                                              "statsforecast") if m in sys.modules]}))
"""


def _registry(tmp_path: Path, *, compiled: bool) -> tuple[str, str]:
    url, artifacts = f"sqlite:///{tmp_path}/registry.db", str(tmp_path / "artifacts")
    registry = Registry(url, artifacts)
    registry.register("titanic", classifier_package(compiled=compiled), alias="champion")
    registry.close()
    return url, artifacts


def _serve_once(tmp_path: Path, *, compiled: bool) -> dict:
    url, artifacts = _registry(tmp_path, compiled=compiled)
    proc = subprocess.run([sys.executable, "-c", _WORKER, url, artifacts, json.dumps(RECORD)],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


def test_a_compiled_model_is_served_without_scikit_learn_pandas_or_a_pickle(tmp_path):
    seen = _serve_once(tmp_path, compiled=True)
    assert seen["status"] == [200, 200] and seen["one"]["prediction"] in ("yes", "no")
    assert seen["engine"] == "onnx" and seen["unpickled"] is False
    assert seen["loaded"] == [] and seen["forecasting"] == []


def test_a_model_that_does_not_compile_is_served_by_its_pipeline(tmp_path):
    seen = _serve_once(tmp_path, compiled=False)
    assert seen["status"] == [200, 200] and seen["engine"] == "sklearn" and seen["unpickled"] is True
    assert "sklearn" in seen["loaded"]
