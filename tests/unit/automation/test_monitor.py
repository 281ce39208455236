"""Model drift: training rows (from the lineage) against the inputs the service logged."""

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.automation.monitor import model_drift
from podium.config import load_settings
from podium.data import infer_column_types
from podium.errors import UserError
from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.registry.datasets import DatasetStore
from podium.registry.predictions import PredictionLog


def _frame(n=400, seed=0, shift=0.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(shift, 1.0, n)
    color = rng.choice(["red", "blue"], n)
    return pd.DataFrame({"x": x, "color": color, "y": np.where(x > shift, "yes", "no")})


def _package(frame, lineage):
    X, y = frame[["x", "color"]], frame["y"]
    pipeline = make_pipeline(make_column_transformer((OneHotEncoder(handle_unknown="ignore"), ["color"]),
                                                     remainder="passthrough"),
                             LogisticRegression()).fit(X, y)
    return ModelPackage(pipeline=pipeline, input_schema=InputSchema.from_frame(X, infer_column_types(X)),
                        output_schema=OutputSchema.from_target(y, "binary"), metric="accuracy",
                        lineage=lineage)


def _log(registry, frame, version=1):
    records = [{"model": "churn", "version": version, "request_id": str(i),
                "inputs": {"x": float(r.x), "color": r.color}, "outputs": {"prediction": "yes"}}
               for i, r in enumerate(frame.itertuples())]
    PredictionLog(registry.engine).append(records)


@pytest.fixture
def project(tmp_path):
    (tmp_path / "data").mkdir()
    _frame().to_csv(tmp_path / "data" / "train.csv", index=False)
    settings = load_settings(tmp_path)
    registry = Registry(f"sqlite:///{tmp_path}/r.db", str(tmp_path / "artifacts"))
    lineage = {"source": "data/train.csv", "spec": {"source": "data/train.csv", "target": "y"}}
    registry.register("churn", _package(_frame(), lineage))
    return registry, settings


def test_a_shifted_input_is_flagged(project):
    registry, settings = project
    _log(registry, _frame(seed=1, shift=2.0))
    report, notes = model_drift(registry, "churn", settings=settings)
    assert report.drifted_columns == ["x"]
    assert set(report.columns) == {"x", "color"}  # the target is not compared
    assert report.reference_rows == 400 and report.current_rows == 400
    assert any("re-read" in n for n in notes)


def test_unshifted_inputs_are_not_flagged(project):
    registry, settings = project
    _log(registry, _frame(seed=2))
    report, _ = model_drift(registry, "churn@champion", settings=settings)
    assert not report.drifted and report.drifted_columns == []


def test_no_logged_predictions_is_one_clear_error(project):
    registry, settings = project
    with pytest.raises(UserError, match="no predictions logged for churn yet: serve it with --log-rate > 0"):
        model_drift(registry, "churn", settings=settings)
    _log(registry, _frame(seed=2), version=7)
    with pytest.raises(UserError, match="no predictions logged for churn:1"):
        model_drift(registry, "churn:1", settings=settings)


def test_a_dataset_version_is_the_reference_when_the_lineage_names_one(tmp_path):
    settings = load_settings(tmp_path)
    registry = Registry(f"sqlite:///{tmp_path}/r.db", str(tmp_path / "artifacts"))
    DatasetStore(registry).upload("sales", _frame())
    lineage = {"source": "dataset sales:1", "spec": {"source": "missing.csv", "target": "y"}}
    registry.register("churn", _package(_frame(), lineage))
    _log(registry, _frame(seed=1, shift=2.0))
    report, notes = model_drift(registry, "churn", settings=settings)
    assert report.reference == "sales:1" and report.drifted_columns == ["x"] and notes == []
