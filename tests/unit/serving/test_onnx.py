from __future__ import annotations

import pytest
from serving_doubles import classifier_package, onnx_friendly_package, regressor_package, titanic_frame
from test_predictor import rows_of

from podium.serving.onnx import ONNX_TOLERANCE, try_onnx
from podium.serving.predictor import Predictor, compare
from podium.serving.served import check_rows

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


@pytest.mark.parametrize("make", [onnx_friendly_package, regressor_package])
def test_onnx_runtime_gives_scikit_learns_answers_on_every_row(make):
    package = make()
    predictor = Predictor(package)
    assert try_onnx(predictor, check_rows(package.input_schema)) is None
    assert predictor.engine == "onnxruntime"
    frame = titanic_frame(300, seed=11)
    frame["sibsp"] = frame["sibsp"].astype(float)
    frame["embarked"] = frame["embarked"].fillna("")  # this pipeline's missing marker
    rows = rows_of(frame, package)
    assert compare(predictor._predict_package(rows), predictor.predict(rows), tolerance=ONNX_TOLERANCE) is None


def test_a_pipeline_that_does_not_convert_keeps_scikit_learn():
    package = classifier_package()  # its categorical imputer uses NaN as the marker: no converter
    predictor = Predictor(package)
    note = try_onnx(predictor, check_rows(package.input_schema))
    assert note is not None and "does not convert" in note
    assert predictor.engine == "sklearn"


def test_answers_that_differ_switch_onnx_off(monkeypatch):
    package = onnx_friendly_package()
    predictor = Predictor(package)
    import podium.serving.onnx as onnx

    real = onnx.OnnxRunner.predict

    def off_by_a_lot(self, rows):
        return [{**r, "probabilities": {k: 1 - p for k, p in r["probabilities"].items()}} for r in real(self, rows)]

    monkeypatch.setattr(onnx.OnnxRunner, "predict", off_by_a_lot)
    note = try_onnx(predictor, check_rows(package.input_schema))
    assert note is not None and "differ" in note
    assert predictor.engine == "sklearn"
