from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serving_doubles import Column, InputSchema, classifier_package, regressor_package, titanic_frame

from podium.errors import SchemaError
from podium.serving.predictor import Predictor
from podium.serving.served import check_rows

pytest.importorskip("onnxruntime")
pytest.importorskip("skl2onnx")


def rows_of(frame: pd.DataFrame, package) -> list[tuple]:
    columns = [c.name for c in package.input_schema.columns]
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in frame[columns].astype(object).itertuples(index=False)]


@pytest.mark.parametrize("make", [classifier_package, regressor_package])
@pytest.mark.parametrize("compiled", [True, False])
def test_the_service_answers_what_the_package_answers_on_every_row(make, compiled):
    package = make(compiled=compiled)
    assert package.engine.name == ("onnx" if compiled else "sklearn")
    predictor = Predictor(package)
    assert predictor.engine == package.engine.name
    frame = titanic_frame(200, seed=7)
    got = predictor.predict(rows_of(frame, package))
    expected, _ = package.predict_frame(frame)
    if package.task == "regression":
        np.testing.assert_allclose([g["prediction"] for g in got], expected["prediction"], rtol=1e-6)
    else:
        assert [g["prediction"] for g in got] == expected["prediction"].tolist()
        for cls in package.classes:
            # float32 sums in another order (one thread in the service): a few ulps
            np.testing.assert_allclose([g["probabilities"][str(cls)] for g in got], expected[f"proba_{cls}"],
                                       rtol=0, atol=1e-6)


def test_the_compiled_engine_agrees_with_the_pipeline_within_the_tolerance():
    compiled, reference = classifier_package(compiled=True), classifier_package(compiled=False)
    frame = titanic_frame(300, seed=11)
    rows = rows_of(frame, compiled)
    a, b = Predictor(compiled).predict(rows), Predictor(reference).predict(rows)
    assert [x["prediction"] for x in a] == [x["prediction"] for x in b]
    gap = max(abs(x["probabilities"][k] - y["probabilities"][k]) for x, y in zip(a, b) for k in x["probabilities"])
    assert gap <= compiled.engine.tolerance


def test_missing_values_and_unseen_categories_are_scored():
    predictor = Predictor(classifier_package())
    scored = predictor.predict([("male", None, "1st", None, 10.0, 1), ("female", 30.0, "9th", "Mars", 10.0, 0)])
    assert [s["prediction"] in ("yes", "no") for s in scored] == [True, True]
    assert all(abs(sum(s["probabilities"].values()) - 1) < 1e-5 for s in scored)


def test_a_value_that_cannot_take_its_type_is_refused_with_its_column():
    predictor = Predictor(classifier_package())
    with pytest.raises(SchemaError, match="column 'age' expects numbers but row 0 has 'old'"):
        predictor.predict([("male", "old", "1st", None, 10.0, 1)])


def test_check_rows_cover_examples_missing_values_unseen_categories_and_bounds():
    schema = InputSchema([
        Column("plan", "str", "categorical", categories=["a", "b"], example="a"),
        Column("x", "float64", "numeric", nullable=True, min=-1.0, max=5.0, example=2.0),
    ])
    rows = check_rows(schema)
    assert ("a", 2.0) in rows and ("a", None) in rows
    assert any(r[0] not in ("a", "b") for r in rows)
    assert ("a", -1.0) in rows and ("a", 5.0) in rows


@pytest.mark.parametrize("make", [classifier_package, regressor_package])
def test_a_batch_answer_is_the_json_of_its_rows_and_slices_keep_their_rows(make):
    import orjson

    package = make()
    predictor = Predictor(package)
    got = predictor.predict(rows_of(titanic_frame(50, seed=3), package))
    assert got.json() == orjson.dumps(list(got))  # the same bytes, written from the arrays
    assert list(got[10:20]) == list(got)[10:20] and len(got[10:20]) == 10
    assert got[:0].json() == b"[]"
    assert sum(got.label_counts().values()) == 50
