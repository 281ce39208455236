from __future__ import annotations

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.tree import DecisionTreeClassifier

from podium.data.types import infer_column_types
from podium.errors import SchemaError
from podium.steps import (
    ClipOutliers,
    DateParts,
    Impute,
    OneHot,
    OrdinalEncode,
    Scale,
    check_transform_step,
    default_transforms,
    step_registry,
)

TRANSFORMS = [name for name, info in step_registry.items() if info.kind == "transform"]


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_registered_transform_passes_the_conformance_check(name, train):
    info = step_registry.get(name)
    check_transform_step(info.factory(info.params()), train)


@pytest.mark.parametrize("name", TRANSFORMS)
def test_every_transform_handles_a_request_with_surprises(name, train, test_frame):
    info = step_registry.get(name)
    fitted = info.factory(info.params()).fit(train)
    out = fitted.transform(test_frame)
    assert list(out.columns) == list(fitted.get_feature_names_out())
    assert list(out.index) == [10, 11, 12]
    restored = pickle.loads(pickle.dumps(fitted))
    pd.testing.assert_frame_equal(restored.transform(test_frame), out)


@pytest.mark.parametrize("step", [Impute(), OneHot(), OrdinalEncode(), Scale(), ClipOutliers(), DateParts()])
def test_a_missing_input_column_is_a_schema_error_and_extras_are_ignored(step, train):
    step.fit(train)
    pd.testing.assert_frame_equal(step.transform(train.assign(extra=1)), step.transform(train))
    with pytest.raises(SchemaError, match=r"the input lacks column\(s\) 'city'"):
        step.transform(train.drop(columns=["city"]))


def test_output_frames_chain_through_a_pipeline_with_pandas_output(train):
    pipe = Pipeline([("impute", Impute()), ("one_hot", OneHot())]).set_output(transform="pandas")
    out = pipe.fit_transform(train)
    assert isinstance(out, pd.DataFrame) and "city_paris" in out.columns


# -- impute ---------------------------------------------------------------------------


def test_impute_fills_with_train_statistics(train, test_frame):
    step = Impute().fit(train)
    out = step.transform(test_frame)
    assert out.loc[10, "amount"] == pytest.approx(train["amount"].median())
    assert out.loc[11, "city"] == "paris"  # the most frequent city in train
    assert out.loc[11, "signup"] == train["signup"].mode().iloc[0]
    assert out["amount"].dtype == np.float64 and out["visits"].dtype == np.float64
    assert out["member"].dtype == np.bool_  # a plain bool column cannot be missing: untouched
    assert out.loc[12, "amount"] == 1000.0


@pytest.mark.parametrize(("strategy", "expected"), [("mean", 2.0), ("median", 1.0), ("most_frequent", 1.0),
                                                   ("constant", -1.0)])
def test_impute_numeric_strategies(strategy, expected):
    frame = pd.DataFrame({"x": [1.0, 1.0, 4.0, None]})
    out = Impute(numeric=strategy, fill_value=-1).fit(frame).transform(frame)
    assert out["x"].tolist() == [1.0, 1.0, 4.0, expected]


def test_impute_constant_category_and_indicators():
    frame = pd.DataFrame({"x": [1.0, None, 3.0], "full": [1, 2, 3], "c": ["a", None, "a"]})
    step = Impute(categorical="constant", add_indicator=True).fit(frame)
    out = step.transform(frame)
    assert list(out.columns) == ["x", "x_missing", "full", "c"]  # indicators only where train had gaps
    assert out["x_missing"].tolist() == [0.0, 1.0, 0.0]
    assert out["c"].tolist() == ["a", "missing", "a"]


def test_impute_a_column_empty_in_training_uses_the_fill_value():
    frame = pd.DataFrame({"x": [np.nan, np.nan], "c": [None, None]}).astype({"c": object})
    out = Impute().fit(frame).transform(frame)
    assert out["x"].tolist() == [0.0, 0.0] and out["c"].tolist() == ["missing", "missing"]


def test_impute_nullable_integers_and_booleans():
    frame = pd.DataFrame({"n": pd.array([1, None, 3, 3], dtype="Int64"),
                          "b": pd.array([True, None, True, False], dtype="boolean")})
    out = Impute().fit(frame).transform(frame)
    assert out["n"].tolist() == [1.0, 3.0, 3.0, 3.0]
    assert out["b"].tolist() == ["True", "True", "True", "False"]


def test_impute_named_columns_only(train):
    out = Impute(columns=["amount"]).fit(train).transform(train)
    assert out["amount"].notna().all() and out["city"].isna().any()


# -- one_hot --------------------------------------------------------------------------


def test_one_hot_columns_unseen_and_missing(train, test_frame):
    step = OneHot(columns=["city"]).fit(train)
    names = list(step.get_feature_names_out())
    assert names[:2] == ["amount", "visits"]
    city = ["city_paris", "city_lyon", "city_lille", "city_nice", "city_missing"]
    assert names[2:4] == city[:2] and sorted(names[4:6]) == city[2:4] and names[6] == "city_missing"
    out = step.transform(test_frame)[city]
    assert out.loc[10].tolist() == [0, 0, 0, 0, 0]  # 'berlin' was never seen: all zeros
    assert out.loc[11].tolist() == [0, 0, 0, 0, 1]  # missing has its own column
    assert out.loc[12].tolist() == [1, 0, 0, 0, 0]
    assert out.dtypes.eq(np.float64).all()


def test_one_hot_missing_as_zeros(train, test_frame):
    out = OneHot(columns=["city"], missing="zeros").fit(train).transform(test_frame)
    assert "city_missing" not in out.columns
    assert out.filter(like="city_").iloc[1].sum() == 0


def test_one_hot_max_categories_groups_the_rare_into_other():
    frame = pd.DataFrame({"c": ["a"] * 5 + ["b"] * 4 + ["c"] * 2 + ["d"]})
    step = OneHot(max_categories=3).fit(frame)
    assert list(step.get_feature_names_out()) == ["c_a", "c_b", "c_other"]
    out = step.transform(pd.DataFrame({"c": ["a", "c", "d", "zz"]}))
    assert out.to_numpy().tolist() == [[1, 0, 0], [0, 0, 1], [0, 0, 1], [0, 0, 0]]


def test_one_hot_matches_numbers_sent_as_strings():
    train = pd.DataFrame({"zip": pd.Series([75001, 69001, 75001, None], dtype=object),
                          "code": [1.0, 2.0, np.nan, 1.0]})
    step = OneHot(columns=["zip", "code"]).fit(train)
    assert list(step.get_feature_names_out()) == ["zip_75001", "zip_69001", "zip_missing",
                                                  "code_1", "code_2", "code_missing"]
    request = pd.DataFrame({"zip": ["69001", "75001.0"], "code": ["2", "1"]})
    assert step.transform(request).to_numpy().tolist() == [[0, 1, 0, 0, 1, 0], [1, 0, 0, 1, 0, 0]]


def test_one_hot_booleans_and_categoricals_by_default(train):
    names = list(OneHot().fit(train).get_feature_names_out())
    assert "member_True" in names and "member_False" in names and "plan_a" in names
    assert "amount" in names and "visits" in names


def test_one_hot_name_clash_with_a_column_is_made_unique():
    frame = pd.DataFrame({"c": ["x", "y"], "c_x": [1.0, 2.0]})
    step = OneHot().fit(frame)
    assert list(step.get_feature_names_out()) == ["c_x", "c_y", "c_x_2"]
    assert step.transform(frame)["c_x_2"].tolist() == [1.0, 2.0]


def test_one_hot_names_are_safe_for_every_estimator():
    frame = pd.DataFrame({"c": ["08:30", "[x]", 'say "hi", {ok}', "a<b", "plain text"]})
    names = list(OneHot().fit(frame).get_feature_names_out())
    assert names == ["c_08_30", "c__x_", "c_a_b", "c_plain text", "c_say _hi__ _ok_"]  # ties: string order


# -- ordinal_encode -------------------------------------------------------------------


def test_ordinal_encode_by_frequency_unseen_and_missing():
    frame = pd.DataFrame({"c": ["b", "a", "b", "c", "a", "b", None]})
    step = OrdinalEncode().fit(frame)
    assert step.categories_["c"] == ["b", "a", "c"]
    out = step.transform(pd.DataFrame({"c": ["a", "zz", None, "b"]}))
    assert out["c"].tolist()[:2] == [1.0, -1.0]
    assert np.isnan(out["c"].iloc[2]) and out["c"].iloc[3] == 0.0


# -- scale ----------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["standard", "minmax", "robust"])
def test_scale_numeric_columns_only(method, train):
    out = Scale(method=method).fit(train).transform(train)
    amount = out["amount"]
    if method == "standard":
        assert amount.mean() == pytest.approx(0, abs=1e-9) and amount.std(ddof=0) == pytest.approx(1)
    elif method == "minmax":
        assert amount.min() == pytest.approx(0) and amount.max() == pytest.approx(1)
    else:
        assert amount.median() == pytest.approx(0, abs=1e-9)
    assert amount.isna().sum() == train["amount"].isna().sum()  # missing stays missing
    pd.testing.assert_series_equal(out["city"], train["city"])


def test_scale_refuses_a_named_categorical(train):
    with pytest.raises(SchemaError, match="scale: column 'city' is categorical; scale acts on numeric columns"):
        Scale(columns=["city"]).fit(train)


def test_named_column_that_is_not_there(train):
    with pytest.raises(SchemaError, match=r"scale: 'amout' is not a column\. Did you mean 'amount'\?"):
        Scale(columns=["amout"]).fit(train)


# -- clip_outliers --------------------------------------------------------------------


def test_clip_outliers_quantiles_from_train():
    frame = pd.DataFrame({"x": np.arange(101, dtype=float)})
    step = ClipOutliers(lower=0.1, upper=0.9).fit(frame)
    out = step.transform(pd.DataFrame({"x": [-50.0, 50.0, 500.0, np.nan]}))
    assert out["x"].tolist()[:3] == [10.0, 50.0, 90.0] and np.isnan(out["x"].iloc[3])


def test_clip_outliers_iqr_fences():
    frame = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0]})  # Q1 2, Q3 4, IQR 2
    out = ClipOutliers(method="iqr", factor=1.0).fit(frame).transform(pd.DataFrame({"x": [-9.0, 9.0]}))
    assert out["x"].tolist() == [0.0, 6.0]


def test_clip_outliers_leaves_a_column_empty_in_training_alone():
    frame = pd.DataFrame({"x": [np.nan, np.nan]})
    out = ClipOutliers().fit(frame).transform(pd.DataFrame({"x": [5.0, np.nan]}))
    assert out["x"].iloc[0] == 5.0


# -- date_parts -----------------------------------------------------------------------


def test_date_parts_from_strings_with_time(train, test_frame):
    step = DateParts().fit(train)
    names = list(step.get_feature_names_out())
    assert "signup" not in names
    assert [n for n in names if n.startswith("signup_")] == [
        "signup_year", "signup_month", "signup_day", "signup_dayofweek", "signup_hour"]
    out = step.transform(test_frame)
    assert out.loc[10, ["signup_year", "signup_month", "signup_day", "signup_dayofweek", "signup_hour"]].tolist() \
        == [2024, 2, 29, 3, 13]
    assert out.loc[[11, 12], "signup_year"].isna().all()  # missing and unparseable: NaN parts


def test_date_parts_without_time_has_no_hour():
    frame = pd.DataFrame({"d": pd.to_datetime(["2024-01-01", "2024-06-15"]), "x": [1, 2]})
    step = DateParts().fit(frame)
    assert list(step.get_feature_names_out()) == ["d_year", "d_month", "d_day", "d_dayofweek", "x"]


def test_date_parts_mixed_offsets_and_other_formats():
    frame = pd.DataFrame({"d": ["2024-01-05T10:00+01:00", "2024-01-06T10:00+03:00"]})
    out = DateParts(parts=("day", "hour")).fit(frame).transform(frame)
    assert out.to_numpy().tolist() == [[5.0, 9.0], [6.0, 7.0]]  # compared in UTC
    us = pd.DataFrame({"d": ["03/15/2024", "12/01/2023"]})
    assert DateParts(parts=("month",)).fit(us).transform(us)["d_month"].tolist() == [3.0, 12.0]


def test_date_parts_leaves_non_dates_alone_and_refuses_named_ones(train):
    assert "city" in DateParts().fit(train).get_feature_names_out()
    with pytest.raises(SchemaError, match="date_parts: column 'city' holds no values that parse as dates"):
        DateParts(columns=["city"]).fit(train)


# -- the default chains feed any estimator --------------------------------------------


@pytest.mark.parametrize(("estimator", "needs_scaling", "handles_missing", "encoding"), [
    (LogisticRegression(max_iter=500), True, False, "one_hot"),
    (DecisionTreeClassifier(random_state=0), False, False, "ordinal"),
    (DecisionTreeClassifier(random_state=0), False, True, "ordinal"),
    (HistGradientBoostingClassifier(max_iter=10), False, True, "one_hot"),
])
def test_default_transforms_feed_estimators(estimator, needs_scaling, handles_missing, encoding,
                                            train, target, test_frame):
    steps = default_transforms(infer_column_types(train), needs_scaling=needs_scaling,
                               handles_missing=handles_missing, encoding=encoding)
    features = Pipeline(steps).fit(train)
    out = features.transform(test_frame)
    assert all(pd.api.types.is_float_dtype(t) or pd.api.types.is_integer_dtype(t) for t in out.dtypes)
    assert handles_missing or not out.isna().any().any()
    model = Pipeline([*[(n, clone(t)) for n, t in steps], ("model", estimator)]).fit(train, target)
    predicted = model.predict(test_frame)
    assert len(predicted) == 3 and set(predicted) <= {"yes", "no"}
    restored = pickle.loads(pickle.dumps(model))
    assert restored.predict(test_frame).tolist() == predicted.tolist()
    assert model.predict(test_frame.iloc[[1]]).tolist() == predicted[[1]].tolist()  # one request
