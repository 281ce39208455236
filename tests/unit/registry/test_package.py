from __future__ import annotations

import json
from pathlib import Path

import fsspec
import numpy as np
import pandas as pd
import pytest

from podium.errors import IntegrityError, NotFoundError, SchemaError
from podium.registry import MANIFEST, MODEL_FILE, ModelPackage


def _features(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.drop(columns=["churn"])


def test_save_writes_model_and_manifest_with_checksums(classifier_package: ModelPackage, tmp_path: Path) -> None:
    manifest = classifier_package.save(None, tmp_path / "pkg")
    assert sorted(p.name for p in (tmp_path / "pkg").iterdir()) == [MODEL_FILE, MANIFEST]
    on_disk = json.loads((tmp_path / "pkg" / MANIFEST).read_text())
    assert on_disk["files"][MODEL_FILE]["sha256"] == manifest["files"][MODEL_FILE]["sha256"]
    assert on_disk["files"][MODEL_FILE]["bytes"] == (tmp_path / "pkg" / MODEL_FILE).stat().st_size
    assert on_disk["environment"]["scikit-learn"] and on_disk["environment"]["python"]
    assert on_disk["output_schema"]["classes"] == ["no", "yes"]


def test_round_trip_predicts_the_same(classifier_package: ModelPackage, frame: pd.DataFrame,
                                      tmp_path: Path) -> None:
    classifier_package.save(None, tmp_path / "pkg")
    loaded = ModelPackage.load(tmp_path / "pkg")
    assert loaded.input_schema == classifier_package.input_schema
    assert loaded.output_schema == classifier_package.output_schema
    assert (loaded.metric, loaded.metrics, loaded.notes) == ("accuracy", {"accuracy": 0.95, "f1": 0.94},
                                                             ["trained in a test"])
    assert loaded.lineage["dataset_fingerprint"] == "abc" and loaded.checksum
    X = _features(frame)
    np.testing.assert_allclose(loaded.pipeline.predict_proba(X), classifier_package.pipeline.predict_proba(X))


def test_round_trip_on_an_fsspec_filesystem(regressor_package: ModelPackage, frame: pd.DataFrame) -> None:
    fs = fsspec.filesystem("memory")
    regressor_package.save(fs, "/test-package/roundtrip")
    loaded = ModelPackage.load("memory://test-package/roundtrip")
    scored, _ = loaded.predict_frame(frame[["age", "city"]])
    np.testing.assert_allclose(scored["prediction"], regressor_package.pipeline.predict(frame[["age", "city"]]))
    fs.rm("/test-package", recursive=True)


def test_tampered_model_fails_its_checksum_before_unpickling(classifier_package: ModelPackage,
                                                              tmp_path: Path, monkeypatch) -> None:
    classifier_package.save(None, tmp_path / "pkg")
    model = tmp_path / "pkg" / MODEL_FILE
    model.write_bytes(model.read_bytes() + b"\x00")
    unpickled = []
    monkeypatch.setattr("joblib.load", lambda *a, **k: unpickled.append(a))
    with pytest.raises(IntegrityError, match=r"model package at .*pkg failed its checksum on model\.joblib "
                                             r"\(expected [0-9a-f]{16}, got [0-9a-f]{16}\): it was modified "
                                             r"or corrupted; re-register the model"):
        ModelPackage.load(tmp_path / "pkg")
    assert unpickled == []


def test_a_released_pickle_is_read_and_checked_again_when_the_pipeline_is_asked_for(
        classifier_package: ModelPackage, frame: pd.DataFrame, tmp_path: Path) -> None:
    classifier_package.save(None, tmp_path / "pkg")
    loaded = ModelPackage.load(tmp_path / "pkg")
    loaded.release_pickle()
    X = _features(frame)
    np.testing.assert_allclose(loaded.pipeline.predict_proba(X), classifier_package.pipeline.predict_proba(X))
    again = ModelPackage.load(tmp_path / "pkg")
    again.release_pickle()
    model = tmp_path / "pkg" / MODEL_FILE
    model.write_bytes(model.read_bytes() + b"\x00")  # changed after it was loaded
    with pytest.raises(IntegrityError, match=r"failed its checksum on model\.joblib"):
        _ = again.pipeline


def test_manifest_pinned_by_the_registry(classifier_package: ModelPackage, tmp_path: Path) -> None:
    classifier_package.save(None, tmp_path / "pkg")
    with pytest.raises(IntegrityError, match="failed its checksum on package.json"):
        ModelPackage.load(tmp_path / "pkg", manifest_sha256="0" * 64)


def test_missing_manifest_or_folder(classifier_package: ModelPackage, tmp_path: Path) -> None:
    with pytest.raises(NotFoundError, match="no model package at"):
        ModelPackage.load(tmp_path / "nowhere")
    classifier_package.save(None, tmp_path / "pkg")
    (tmp_path / "pkg" / MANIFEST).unlink()
    with pytest.raises(IntegrityError, match="has no package.json: it was not completely written"):
        ModelPackage.load(tmp_path / "pkg")


def test_predict_frame_adds_prediction_and_one_proba_column_per_class(
        classifier_package: ModelPackage, frame: pd.DataFrame) -> None:
    given = _features(frame).head(5).assign(customer_id=range(5))
    scored, notes = classifier_package.predict_frame(given)
    assert list(scored.columns) == [*given.columns, "prediction", "proba_no", "proba_yes"]
    assert set(scored["prediction"]) <= {"no", "yes"}
    np.testing.assert_allclose(scored[["proba_no", "proba_yes"]].sum(axis=1), 1.0)
    assert scored["customer_id"].tolist() == [0, 1, 2, 3, 4]
    assert notes == ["ignored extra columns: customer_id"]


def test_predict_frame_missing_columns(classifier_package: ModelPackage) -> None:
    with pytest.raises(SchemaError, match=r"^input is missing columns: income, city, member \(the model "
                                          r"was trained on: age, income, city, member\)"):
        classifier_package.predict_frame(pd.DataFrame({"age": [30]}))


def test_predict_frame_keeps_integer_labels(frame: pd.DataFrame, classifier_package: ModelPackage) -> None:
    from sklearn.base import clone

    X = _features(frame)
    y = (frame["churn"] == "yes").astype(int)
    pipeline = clone(classifier_package.pipeline).fit(X, y)
    package = ModelPackage(pipeline, classifier_package.input_schema,
                           classifier_package.output_schema.model_copy(update={"classes": [0, 1]}), "accuracy")
    scored, _ = package.predict_frame(X.head(3))
    assert [type(v) for v in scored["prediction"].tolist()] == [int] * 3
    assert scored["prediction"].dtype.kind == "i"  # compares equal to an integer target column
    assert {"proba_0", "proba_1"} <= set(scored.columns)


def test_regression_prediction_is_a_float(regressor_package: ModelPackage, frame: pd.DataFrame) -> None:
    scored, notes = regressor_package.predict_frame(frame[["age", "city"]].head(4))
    assert scored["prediction"].dtype == np.float64 and notes == []
    assert not [c for c in scored.columns if c.startswith("proba_")]


def test_describe_is_json_able(classifier_package: ModelPackage) -> None:
    info = classifier_package.describe()
    assert json.loads(json.dumps(info)) == info
    assert info["task"] == "binary" and info["metric"] == "accuracy" and info["score"] == 0.95
    assert info["estimator"] == "sklearn.linear_model._logistic.LogisticRegression"
    assert [c["name"] for c in info["input_schema"]["columns"]] == ["age", "income", "city", "member"]
    assert info["leaderboard"][0]["candidate"] == "logistic_regression"
