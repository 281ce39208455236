import numpy as np
import pandas as pd
import pytest

from podium.errors import DataError, NotFoundError, SchemaError, SpecError
from podium.spec import SplitSpec
from podium.training import check_gate, check_target, default_metric, get_metric, infer_task
from podium.training.split import cv_folds, holdout_split


def test_losses_are_negated_so_the_best_is_the_maximum():
    rmse = get_metric("rmse", "regression")
    assert rmse.value([1, 2], [1, 4]) == pytest.approx(np.sqrt(2))
    assert rmse.score(1.0) > rmse.score(2.0)
    acc = get_metric("accuracy", "binary")
    assert acc.score(0.9) > acc.score(0.8)


def test_probability_metrics_use_the_class_order():
    auc = get_metric("roc_auc", "binary")
    proba = np.array([[0.9, 0.1], [0.2, 0.8], [0.3, 0.7], [0.6, 0.4]])
    assert auc.value(["a", "b", "b", "a"], None, proba, ["a", "b"]) == 1.0
    ll = get_metric("log_loss", "multiclass")
    assert ll.value(["a", "b"], None, np.array([[1.0, 0.0], [0.0, 1.0]]), ["a", "b"]) < 1e-6


def test_metric_errors_say_what_to_use():
    with pytest.raises(NotFoundError, match="Did you mean 'accuracy'"):
        get_metric("accurcy", "binary")
    with pytest.raises(SpecError, match="'rmse' does not apply to a binary task.*accuracy"):
        get_metric("rmse", "binary")
    assert default_metric("regression") == "rmse" and default_metric("multiclass") == "accuracy"


@pytest.mark.parametrize("values,task", [
    (["a", "b", "a"], "binary"), (["a", "b", "c"], "multiclass"), ([0, 1, 1, 0], "binary"),
    ([1.5, 2.25, 3.0], "regression"), (list(range(100)), "regression"), ([True, False, True], "binary"),
])
def test_task_is_inferred_from_the_target(values, task):
    assert infer_task(pd.Series(values, name="y")) == task


def test_unusable_targets_get_one_clear_line():
    with pytest.raises(DataError, match="single class \\('yes'\\)"):
        infer_task(pd.Series(["yes", "yes", None], name="y"))
    with pytest.raises(DataError, match="not numeric \\(e.g. 'high'\\)"):
        infer_task(pd.Series(["high", "low"], name="y"), "regression")
    frame = pd.DataFrame({"churned": [1, 0], "x": [None, None]})
    with pytest.raises(SchemaError, match="'churn' is not in the data. Did you mean 'churned'"):
        check_target(frame, "churn")
    with pytest.raises(DataError, match="'x' has no values"):
        check_target(frame, "x")


def test_holdout_is_stratified_and_seeded():
    X = pd.DataFrame({"a": range(100)})
    y = pd.Series(["p"] * 80 + ["q"] * 20)
    split = holdout_split(X, y, SplitSpec(test_size=0.2, seed=1), task="binary")
    assert split.stratified and len(split.X_test) == 20
    assert (split.y_test == "q").sum() == 4
    again = holdout_split(X, y, SplitSpec(test_size=0.2, seed=1), task="binary")
    assert list(again.X_test.index) == list(split.X_test.index)


def test_time_column_holds_out_the_latest_rows():
    X = pd.DataFrame({"when": pd.date_range("2024-01-01", periods=50)[::-1], "a": range(50)})
    split = holdout_split(X, pd.Series(range(50)), SplitSpec(test_size=0.2, time_column="when"),
                          task="regression")
    assert split.X_test["when"].min() > split.X_train["when"].max()
    with pytest.raises(SchemaError, match="time_column 'nope'"):
        holdout_split(X, pd.Series(range(50)), SplitSpec(time_column="nope"), task="regression")


def test_too_few_rows_is_a_data_error():
    with pytest.raises(DataError, match="Only 6 usable rows"):
        holdout_split(pd.DataFrame({"a": range(6)}), pd.Series(range(6)), SplitSpec(), task="regression")


def test_cv_folds_cover_every_row_once():
    folds = cv_folds(pd.Series([0, 1] * 10), 5, task="binary", seed=0)
    assert sorted(np.concatenate([v for _, v in folds]).tolist()) == list(range(20))


def test_gate_handles_the_metric_direction():
    rmse = get_metric("rmse", "regression")
    assert check_gate(5.0, rmse, 6.0).passed
    failed = check_gate(7.0, rmse, 6.0)
    assert not failed.passed and "at most 6" in failed.message and failed.figures["value"] == 7.0
    acc = get_metric("accuracy", "binary")
    assert not check_gate(0.7, acc, 0.8).passed and check_gate(0.8, acc, 0.8).passed
    assert check_gate(0.1, acc, None).passed
    assert not check_gate(None, acc, 0.5).passed


def test_the_stratified_holdout_is_the_one_the_labels_themselves_give():
    from sklearn.model_selection import train_test_split

    rng = np.random.default_rng(3)
    X = pd.DataFrame({"x": rng.normal(size=300)})
    y = pd.Series(rng.choice(["no", "yes", "maybe"], 300, p=[0.6, 0.3, 0.1]))
    split = holdout_split(X, y, SplitSpec(test_size=0.2, seed=7), task="multiclass")
    _, expected, _, _ = train_test_split(X, y, test_size=60, random_state=7, stratify=y)
    assert split.stratified and split.X_test.index.tolist() == expected.index.tolist()


def test_prepared_frames_hold_the_typed_values_in_compact_dtypes():
    from podium.spec import parse_spec
    from podium.training import prepare

    n = 120
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({
        "ratio": rng.normal(size=n),  # float64 that float32 cannot hold exactly: kept
        "halves": np.arange(n) % 7 * 0.5,  # exact in float32
        "count": (np.arange(n) % 9).astype(np.int64),
        "plan": rng.choice(["basic", "pro", None], n),
        "when": pd.date_range("2024-01-01", periods=n, freq="h"),
        "y": rng.choice(["a", "b"], n),
    })
    prepared = prepare(frame, parse_spec({"source": "x.csv", "target": "y"}))
    X = prepared.problem.X_train
    assert X.dtypes.astype(str).to_dict() == {"ratio": "float64", "halves": "float32", "count": "float32",
                                             "plan": "category", "when": "float64"}
    typed = prepared.input_schema.typed(prepared.features.loc[X.index])
    for name, values in typed.items():
        if values.dtype == object:
            assert X[name].astype(object).tolist() == values.tolist()
        else:
            np.testing.assert_array_equal(X[name].to_numpy(dtype=np.float64), values)


def test_a_stratified_holdout_of_many_rows_is_drawn_class_by_class():
    from podium.training.split import DRAWN_ROWS, holdout_positions

    n = DRAWN_ROWS + 20_000
    y = pd.Series(np.random.default_rng(0).choice(["a", "b", "c"], n, p=[0.7, 0.25, 0.05]))
    spec = SplitSpec(test_size=0.2, seed=4, max_test_rows=10_000)
    split = holdout_positions(y, spec, task="multiclass")
    assert split.stratified and len(split.test) == 10_000 and len(split.train) == n - 10_000
    assert len(np.union1d(split.train, split.test)) == n  # every row once
    shares = y.iloc[split.test].value_counts() / 10_000
    np.testing.assert_allclose(shares.sort_index(), (y.value_counts() / n).sort_index(), atol=1e-4)
    assert not np.all(np.diff(split.train[:1000]) > 0)  # shuffled: a subsample takes the first train rows
    again = holdout_positions(y, spec, task="multiclass")
    assert np.array_equal(again.test, split.test) and np.array_equal(again.train, split.train)
