from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from serving_doubles import Column, InputSchema, classifier_package, regressor_package, titanic_frame

from podium.serving.predictor import Predictor, compare
from podium.serving.served import check_rows


def rows_of(frame: pd.DataFrame, package) -> list[tuple]:
    columns = [c.name for c in package.input_schema.columns]
    return [tuple(None if pd.isna(v) else v for v in row)
            for row in frame[columns].astype(object).itertuples(index=False)]


@pytest.mark.parametrize("make", [classifier_package, regressor_package])
def test_the_fast_path_gives_the_packages_answers_on_every_row(make):
    package = make()
    predictor = Predictor(package)
    frame = titanic_frame(200, seed=7)
    rows = rows_of(frame, package)
    expected = predictor._predict_package(rows)
    assert compare(expected, predictor.predict(rows), tolerance=1e-9) is None
    assert predictor.check(check_rows(package.input_schema)) is None


def test_missing_values_reach_the_pipeline_as_nan():
    predictor = Predictor(classifier_package())
    frame = predictor.frame([("male", None, "1st", None, 10.0, 1)])
    assert np.isnan(frame["age"][0]) and frame["embarked"][0] is np.nan
    assert frame["age"].dtype == float


def test_a_mismatch_is_found_and_the_packages_path_takes_over():
    package = classifier_package()
    predictor = Predictor(package)
    rows = check_rows(package.input_schema)

    class Lying:
        def __getattr__(self, name):
            return getattr(package.pipeline, name)

        def predict_proba(self, frame):
            return package.pipeline.predict_proba(frame)[:, ::-1]

    predictor.pipeline = Lying()
    problem = predictor.check(rows)
    assert problem is not None and "row 0" in problem
    predictor.use_package()
    assert predictor.engine == "package"
    assert compare(predictor._predict_package(rows), predictor.predict(rows), tolerance=1e-9) is None


def test_check_rows_cover_examples_missing_values_unseen_categories_and_bounds():
    schema = InputSchema([
        Column("plan", "str", "categorical", categories=["a", "b"], example="a"),
        Column("x", "float64", "numeric", nullable=True, min=-1.0, max=5.0, example=2.0),
    ])
    rows = check_rows(schema)
    assert ("a", 2.0) in rows and ("a", None) in rows
    assert any(r[0] not in ("a", "b") for r in rows)
    assert ("a", -1.0) in rows and ("a", 5.0) in rows
