from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler
from sklearn.tree import DecisionTreeClassifier

from podium.data.types import ColumnType
from podium.errors import SchemaError, SpecError
from podium.steps import (
    ClipOutliersParams,
    DateParts,
    DatePartsParams,
    ImputeParams,
    OneHotEncoder,
    OneHotParams,
    OrdinalEncodeParams,
    ScaleParams,
    check_transform_step,
    compose_steps,
    default_transforms,
    step_registry,
    step_transformer,
)
from podium.steps.checks import check_onnx
from podium.steps.date_parts import civil_parts

from .conftest import epoch

TRANSFORMS = [name for name, info in step_registry.items() if info.kind == "transform"]
N, C = ColumnType.NUMERIC, ColumnType.CATEGORICAL


def fit(step, frame, kinds):
    return step_transformer(step, kinds).fit(frame)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_registered_transform_passes_the_conformance_check(name, train, kinds):
    info = step_registry.get(name)
    check_transform_step(info.factory(info.params()), train, kinds)  # ONNX included


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_transform_handles_a_request_with_surprises(name, train, test_frame, kinds):
    info = step_registry.get(name)
    fitted = fit(info.factory(info.params()), train, kinds)
    out = fitted.transform(test_frame)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    assert list(out.index) == [10, 11, 12]
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.transform(test_frame), out)
    check_onnx(fitted, test_frame, kinds)


def test_a_missing_input_column_is_an_error_and_extras_are_ignored(train, kinds):
    step = fit(ImputeParams(), train, kinds)
    pd.testing.assert_frame_equal(step.transform(train.assign(extra=1.0)), step.transform(train))
    with pytest.raises(ValueError, match="city"):
        step.transform(train.drop(columns=["city"]))


def test_each_step_is_the_configured_scikit_learn_transformer(kinds):
    (_, features), = compose_steps([("impute", ImputeParams()), ("scale", ScaleParams()),
                                    ("ordinal_encode", OrdinalEncodeParams())], kinds)
    assert isinstance(features, ColumnTransformer)
    branches = {name: (t, cols) for name, t, cols in features.transformers}
    numeric, columns = branches["numeric"]
    assert columns == ["amount", "visits", "member"]  # booleans are numbers
    assert [type(t) for _, t in numeric.steps] == [SimpleImputer, StandardScaler]
    categorical, columns = branches["categorical"]
    assert columns == ["city", "plan"]
    assert isinstance(categorical.steps[0][1], SimpleImputer) and categorical.steps[0][1].missing_values == ""
    encoder = categorical.steps[1][1]
    assert isinstance(encoder, OrdinalEncoder) and encoder.handle_unknown == "use_encoded_value"
    assert branches["datetime"] == ("passthrough", ["signup"])


def test_bad_parameters_set_after_building_are_caught_when_composed(kinds):
    step = OneHotParams()
    step.max_categories = 1
    with pytest.raises(SpecError, match=r"^one_hot\.max_categories: Input should be greater than or equal to 2"):
        compose_steps([("one_hot", step)], kinds)


# -- impute ---------------------------------------------------------------------------


def test_impute_fills_with_train_statistics(train, test_frame, kinds):
    out = fit(ImputeParams(), train, kinds).transform(test_frame)
    assert out.loc[10, "amount"] == pytest.approx(train["amount"].median())
    assert out.loc[11, "city"] == "paris"  # the most frequent city in train
    assert out.loc[11, "member"] == train["member"].median()
    assert np.isnan(out.loc[11, "signup"])  # dates are left to date_parts
    assert out.loc[12, "amount"] == 1000.0


@pytest.mark.parametrize(("strategy", "expected"), [("mean", 2.0), ("median", 1.0), ("most_frequent", 1.0),
                                                   ("constant", -1.0)])
def test_impute_numeric_strategies(strategy, expected):
    frame = pd.DataFrame({"x": [1.0, 1.0, 4.0, np.nan]})
    out = fit(ImputeParams(numeric=strategy, fill_value=-1), frame, {"x": N}).transform(frame)
    assert out["x"].tolist() == [1.0, 1.0, 4.0, expected]


def test_impute_constant_category_and_indicators():
    frame = pd.DataFrame({"x": [1.0, np.nan, 3.0], "full": [1.0, 2.0, 3.0],
                          "c": np.array(["a", "", "a"], dtype=object)})
    step = fit(ImputeParams(categorical="constant", add_indicator=True), frame, {"x": N, "full": N, "c": C})
    out = step.transform(frame)
    assert list(out.columns) == ["x", "full", "missingindicator_x", "c"]  # indicators only where train had gaps
    assert out["missingindicator_x"].tolist() == [0.0, 1.0, 0.0]
    assert out["c"].tolist() == ["a", "missing", "a"]
    check_onnx(step, frame.assign(full=[np.nan, 1.0, 2.0]), {"x": N, "full": N, "c": C})


def test_impute_a_column_empty_in_training():
    frame = pd.DataFrame({"x": [np.nan, np.nan], "c": np.array(["", ""], dtype=object)})
    request = pd.DataFrame({"x": [1.0, np.nan], "c": np.array(["a", ""], dtype=object)})
    step = fit(ImputeParams(categorical="constant"), frame, {"x": N, "c": C})
    out = step.transform(request)
    assert out["x"].tolist() == [1.0, 0.0] and out["c"].tolist() == ["a", "missing"]
    check_onnx(step, request, {"x": N, "c": C})
    with pytest.warns(UserWarning, match="Skipping features without any observed values"):
        dropped = fit(ImputeParams(), frame, {"x": N, "c": C}).transform(request)
    assert list(dropped.columns) == ["x"]  # no most frequent category to fill with
    # skl2onnx cannot drop it: such a model is not compiled (it keeps the scikit-learn engine)


def test_impute_named_columns_only(train, kinds):
    out = fit(ImputeParams(columns=["amount"]), train, kinds).transform(train)
    assert out["amount"].notna().all() and (out["city"] == "").any()


# -- one_hot --------------------------------------------------------------------------


def test_one_hot_columns_unseen_and_missing(train, test_frame, kinds):
    step = fit(OneHotParams(columns=["city"]), train, kinds)
    city = ["city_missing", "city_lille", "city_lyon", "city_nice", "city_paris"]
    assert [n for n in step.get_feature_names_out() if n.startswith("city")] == city
    out = step.transform(test_frame)[city]
    assert out.loc[10].tolist() == [0, 0, 0, 0, 0]  # 'berlin' was never seen and nothing is rare: all zeros
    assert out.loc[11].tolist() == [1, 0, 0, 0, 0]  # missing has its own column
    assert out.loc[12].tolist() == [0, 0, 0, 0, 1]
    assert out.dtypes.eq(np.float64).all()


def test_one_hot_missing_as_zeros(train, test_frame, kinds):
    step = fit(OneHotParams(columns=["city"], missing="zeros"), train, kinds)
    out = step.transform(test_frame)
    assert "city_missing" not in out.columns
    assert out.filter(like="city_").loc[11].sum() == 0
    check_onnx(step, test_frame, kinds)


def test_one_hot_max_categories_groups_the_rare_and_the_unseen_into_other():
    frame = pd.DataFrame({"c": np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"], dtype=object)})
    step = fit(OneHotParams(max_categories=3), frame, {"c": C})
    assert list(step.get_feature_names_out()) == ["c_a", "c_b", "c_other"]
    request = pd.DataFrame({"c": np.array(["a", "c", "d", "zz", ""], dtype=object)})
    assert step.transform(request).to_numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 1], [0, 0, 1]]
    check_onnx(step, request, {"c": C})


def test_one_hot_zeros_with_a_rare_missing_value():
    frame = pd.DataFrame({"c": np.array(["a"] * 5 + ["b"] * 4 + ["c"] * 2 + [""], dtype=object)})
    step = fit(OneHotParams(max_categories=3, missing="zeros"), frame, {"c": C})
    request = pd.DataFrame({"c": np.array(["a", "", "zz"], dtype=object)})
    assert step.transform(request).to_numpy().tolist() == [[1, 0, 0], [0, 0, 0], [0, 0, 1]]
    check_onnx(step, request, {"c": C})


def test_one_hot_of_a_named_numeric_column():
    frame = pd.DataFrame({"code": [1.0, 2.0, np.nan, 1.0, 3.0]})
    step = fit(OneHotParams(columns=["code"]), frame, {"code": N})
    assert list(step.get_feature_names_out()) == ["code_1.0", "code_2.0", "code_3.0", "code_nan"]
    request = pd.DataFrame({"code": [2.0, np.nan, 7.0]})
    assert step.transform(request).to_numpy().tolist() == [[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 0]]
    check_onnx(step, request, {"code": N})


def test_one_hot_leaves_numbers_and_booleans_alone(train, kinds):
    names = list(fit(OneHotParams(), train, kinds).get_feature_names_out())
    assert {"amount", "visits", "member", "signup", "plan_a", "plan_b"} <= set(names)


def test_one_hot_encoder_is_scikit_learns_with_blank():
    encoder = OneHotEncoder(blank="zeros", sparse_output=False)
    assert clone(encoder).get_params()["blank"] == "zeros"
    with pytest.raises(ValueError, match="blank must be"):
        OneHotEncoder(blank="nothing").fit(np.array([["a"]], dtype=object))


# -- ordinal_encode -------------------------------------------------------------------


def test_ordinal_encode_sorted_unseen_and_missing():
    frame = pd.DataFrame({"c": np.array(["b", "a", "b", "c", "a", "b", ""], dtype=object)})
    step = fit(OrdinalEncodeParams(), frame, {"c": C})
    out = step.transform(pd.DataFrame({"c": np.array(["a", "zz", "", "b"], dtype=object)}))
    assert out["c"].tolist() == [1.0, -1.0, 0.0, 2.0]  # "" (missing) is a category of its own


# -- scale ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_scale_numeric_columns_only(method, train, kinds):
    out = fit(ScaleParams(method=method), train, kinds).transform(train)
    amount = out["amount"]
    if method == "standard":
        assert amount.mean() == pytest.approx(0, abs=1e-9) and amount.std(ddof=0) == pytest.approx(1)
    elif method == "minmax":
        assert amount.min() == pytest.approx(0) and amount.max() == pytest.approx(1)
    else:
        assert amount.median() == pytest.approx(0, abs=1e-9)
    assert amount.isna().sum() == train["amount"].isna().sum()  # missing stays missing
    assert out["city"].tolist() == train["city"].tolist()
    assert out["signup"].tolist() == pytest.approx(train["signup"].tolist())  # dates are not numbers to scale


def test_scale_refuses_a_named_categorical(train, kinds):
    with pytest.raises(SchemaError, match="scale: column 'city' is categorical; scale acts on numeric or datetime"):
        fit(ScaleParams(columns=["city"]), train, kinds)


def test_named_column_that_is_not_there(train, kinds):
    with pytest.raises(SchemaError, match=r"scale: 'amout' is not a column\. Did you mean 'amount'\?"):
        fit(ScaleParams(columns=["amout"]), train, kinds)


# -- clip_outliers --------------------------------------------------------------------


def test_clip_outliers_quantiles_from_train():
    frame = pd.DataFrame({"x": np.arange(101, dtype=float)})
    step = fit(ClipOutliersParams(lower=0.1, upper=0.9), frame, {"x": N})
    request = pd.DataFrame({"x": [-50.0, 50.0, 500.0, np.nan]})
    out = step.transform(request)
    assert out["x"].tolist()[:3] == [10.0, 50.0, 90.0] and np.isnan(out["x"].iloc[3])
    check_onnx(step, request, {"x": N})


def test_clip_outliers_iqr_fences():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})  # Q1 2, Q3 4, IQR 2
    out = fit(ClipOutliersParams(method="iqr", factor=1.0), frame, {"x": N}).transform(
        pd.DataFrame({"x": [-9.0, 9.0]}))
    assert out["x"].tolist() == [0.0, 6.0]


def test_clip_outliers_leaves_a_column_empty_in_training_alone():
    frame = pd.DataFrame({"x": [np.nan, np.nan]})
    step = fit(ClipOutliersParams(), frame, {"x": N})
    request = pd.DataFrame({"x": [5.0, np.nan]})
    assert step.transform(request)["x"].iloc[0] == 5.0
    check_onnx(step, request, {"x": N})


# -- date_parts -----------------------------------------------------------------------


def test_date_parts_with_time(train, test_frame, kinds):
    step = fit(DatePartsParams(), train, kinds)
    names = list(step.get_feature_names_out())
    assert "signup" not in names
    assert [n for n in names if n.startswith("signup_")] == [
        "signup_year", "signup_month", "signup_day", "signup_dayofweek", "signup_hour"]
    out = step.transform(test_frame)
    parts = ["signup_year", "signup_month", "signup_day", "signup_dayofweek", "signup_hour"]
    assert out.loc[10, parts].tolist() == [2024, 2, 29, 3, 13]
    assert out.loc[12, parts].tolist() == [1969, 12, 31, 2, 23]  # before the epoch
    assert out.loc[11, parts].isna().all()  # missing: NaN parts


def test_date_parts_without_time_has_no_hour():
    frame = pd.DataFrame({"d": epoch(["2024-01-01", "2024-06-15"]), "x": [1.0, 2.0]})
    step = fit(DatePartsParams(), frame, {"d": ColumnType.DATETIME, "x": N})
    assert list(step.get_feature_names_out()) == ["d_year", "d_month", "d_day", "d_dayofweek", "x"]


def test_date_parts_refuses_a_named_non_date(train, kinds):
    with pytest.raises(SchemaError, match="date_parts: column 'city' is categorical; date_parts acts on datetime"):
        fit(DatePartsParams(columns=["city"]), train, kinds)


def test_calendar_arithmetic_matches_pandas_from_1684_to_2255():
    rng = np.random.default_rng(3)
    seconds = np.concatenate([rng.uniform(-9e9, 9e9, 5000), [0.0, -1.0, 951782400.0, 4107542399.0]])
    dates = pd.to_datetime(seconds, unit="s")
    parts = civil_parts(seconds)
    for part in ("year", "month", "day", "dayofweek", "hour"):
        assert parts[part].tolist() == getattr(dates, part).to_numpy(dtype=float).tolist(), part
    step = DateParts().fit(pd.DataFrame({"d": seconds}))
    check_onnx(step, pd.DataFrame({"d": seconds}), {"d": ColumnType.DATETIME})


# -- composition ----------------------------------------------------------------------


def test_columns_follow_the_steps_that_take_them_in_order(train, kinds):
    steps = [("date_parts", DatePartsParams()), ("impute", ImputeParams(add_indicator=True)),
             ("one_hot", OneHotParams(max_categories=3)), ("scale", ScaleParams(columns=["amount", "city"]))]
    features = compose_steps(steps, kinds, frame_output=True)[0][1].fit(train)
    out = features.transform(train)
    assert out.notna().all().all()
    for column in ("amount", "city_lyon", "city_other"):  # scaled after imputing, and after encoding
        assert out[column].mean() == pytest.approx(0, abs=1e-9)
    assert set(out["visits"]) <= set(range(10))  # imputed, not scaled
    check_onnx(features, train, kinds)


class _Negate(TransformerMixin, BaseEstimator):
    """A plugin's transformer: a DataFrame in, the same columns out."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return X.assign(visits=-X["visits"])


def test_a_plugin_step_gets_a_frame_between_podium_steps(train, kinds):
    steps = [("impute", ImputeParams()), ("negate", _Negate()), ("scale", ScaleParams(columns=["visits"]))]
    composed = compose_steps(steps, kinds, frame_output=True)
    assert [name for name, _ in composed] == ["features", "negate", "features_2"]
    out = Pipeline(composed).fit(train).transform(train)
    assert out["visits"].mean() == pytest.approx(0, abs=1e-9)
    assert out["amount"].notna().all()  # imputed, passed through the later step


@pytest.mark.parametrize(("estimator", "needs_scaling", "handles_missing", "encoding"), [
    (LogisticRegression(max_iter=500), True, False, "one_hot"),
    (DecisionTreeClassifier(random_state=0), False, False, "ordinal"),
    (DecisionTreeClassifier(random_state=0), False, True, "ordinal"),
    (HistGradientBoostingClassifier(max_iter=10), False, True, "one_hot"),
])
def test_default_transforms_feed_estimators(estimator, needs_scaling, handles_missing, encoding,
                                            train, target, test_frame, kinds):
    steps = default_transforms(kinds, needs_scaling=needs_scaling, handles_missing=handles_missing,
                               encoding=encoding)
    features = Pipeline(compose_steps(steps, kinds)).fit(train)
    out = features.transform(test_frame)
    assert out.dtype == np.float64
    assert handles_missing or not np.isnan(out).any()
    check_onnx(features[0], test_frame, kinds)
    model = Pipeline([*compose_steps(steps, kinds), ("model", clone(estimator))]).fit(train, target)
    predicted = model.predict(test_frame)
    assert len(predicted) == 3 and set(predicted) <= {"yes", "no"}
    restored = pickle.loads(pickle.dumps(model))
    assert restored.predict(test_frame).tolist() == predicted.tolist()
    assert model.predict(test_frame.iloc[[1]]).tolist() == predicted[[1]].tolist()  # one request
