"""Compiling pipelines to one ONNX graph over the typed columns, and the holdout check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import VotingClassifier, VotingRegressor
from sklearn.impute import SimpleImputer
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder, OrdinalEncoder, StandardScaler

from podium.candidates import candidate_registry
from podium.registry import InputSchema
from podium.spec import ConstraintsSpec
from podium.training.compile import (
    PROBA_TOLERANCE,
    VALUE_TOLERANCE,
    check_graph,
    compile_graph,
    compile_model,
    serving_us,
    unconvertible_step,
)
from podium.training.leaderboard import Trial, TrialResult
from podium.training.trainer import _apply_constraints

pytest.importorskip("skl2onnx")
pytest.importorskip("onnxruntime")
pytest.importorskip("onnxmltools")

NUMERIC, CATEGORICAL = ["x", "z", "flag"], ["color"]


@pytest.fixture(scope="module")
def data() -> tuple[InputSchema, pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(3)
    n = 360
    raw = pd.DataFrame({
        "x": rng.normal(size=n).round(3),
        "z": rng.integers(0, 50, n).astype(float),
        "color": rng.choice(["red", "green", "blue", None], n),
        "flag": rng.choice([True, False], n),
    })
    raw.loc[::9, "x"] = np.nan
    schema = InputSchema.from_frame(raw)
    signal = raw["x"].fillna(0) + (raw["color"] == "red") - raw["z"] / 50 + rng.normal(0, 0.3, n)
    typed = pd.DataFrame(schema.typed(raw))
    typed["binary"] = np.where(signal > 0, "yes", "no")
    typed["multiclass"] = np.digitize(signal, [-0.5, 0.5])  # 0, 1, 2
    typed["regression"] = signal * 1000 + 5000
    return schema, typed, schema.typed(raw.iloc[240:])


def _pipeline(candidate: str, task: str) -> Pipeline:
    family = candidate_registry.get(candidate)
    if family.tags.needs_scaling:
        pre = ColumnTransformer([
            ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), NUMERIC),
            ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL),
        ])
    else:  # as podium does for families that handle missing values: NaN reaches the trees
        pre = ColumnTransformer([
            ("num", "passthrough", NUMERIC),
            ("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), CATEGORICAL),
        ])
    params: dict = {"n_estimators": 30} if candidate in ("random_forest", "extra_trees") else {}
    return Pipeline([("pre", pre), ("model", family.estimator(task, params, 0))])


def _fit(pipeline, typed: pd.DataFrame, task: str):
    return pipeline.fit(typed[NUMERIC + CATEGORICAL].iloc[:240], typed[task].iloc[:240])


def _classes(typed: pd.DataFrame, task: str) -> list:
    return [] if task == "regression" else sorted(typed[task].unique().tolist())


FAMILIES = ["logistic_regression", "ridge", "decision_tree", "random_forest", "extra_trees",
            "hist_gradient_boosting", "lightgbm", "xgboost", "knn", "mlp"]


@pytest.mark.parametrize("task", ["binary", "multiclass", "regression"])
@pytest.mark.parametrize("candidate", FAMILIES)
def test_every_family_compiles_and_agrees_on_the_holdout(data, candidate, task):
    schema, typed, holdout = data
    if not candidate_registry.get(candidate).supports(task):
        pytest.skip(f"{candidate} does not do {task}")
    pipeline = _fit(_pipeline(candidate, task), typed, task)
    compiled = compile_model(pipeline, schema, task, _classes(typed, task), holdout)
    assert compiled.engine.name == "onnx", compiled.engine.reason
    assert compiled.engine.checked_rows == 120 and compiled.model
    assert compiled.engine.tolerance == (VALUE_TOLERANCE if task == "regression" else PROBA_TOLERANCE)
    assert unconvertible_step(pipeline) is None


@pytest.mark.parametrize("task", ["binary", "regression"])
def test_the_weighted_ensemble_compiles_to_one_graph(data, task):
    schema, typed, holdout = data
    members = [(name, _pipeline(name, task)) for name in
               (("logistic_regression" if task == "binary" else "ridge"), "lightgbm", "random_forest")]
    weights = np.array([3.0, 2.0, 1.0])
    ensemble = (VotingClassifier(members, voting="soft", weights=weights, flatten_transform=False)
                if task == "binary" else VotingRegressor(members, weights=weights))
    ensemble = _fit(ensemble, typed, task)
    compiled = compile_model(ensemble, schema, task, _classes(typed, task), holdout)
    assert compiled.engine.name == "onnx", compiled.engine.reason


class Squares(TransformerMixin, BaseEstimator):
    """A home-made step no converter knows."""

    def fit(self, X, y=None):
        return self

    def transform(self, X):
        return np.asarray(X, dtype=float) ** 2


def test_a_step_without_a_converter_ships_on_the_sklearn_engine_with_the_reason(data):
    schema, typed, holdout = data
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(), Squares()), NUMERIC),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), CATEGORICAL)])
    pipeline = _fit(Pipeline([("pre", pre), ("model", candidate_registry.get("logistic_regression")
                                                       .estimator("binary", {}, 0))]), typed, "binary")
    assert unconvertible_step(pipeline) == "Squares"
    compiled = compile_model(pipeline, schema, "binary", ["no", "yes"], holdout)
    assert compiled.engine.name == "sklearn" and compiled.model is None
    assert compiled.engine.reason == "does not compile: ValueError: no ONNX converter for Squares"


@pytest.mark.parametrize("weights", ["uniform", "distance"])
def test_knn_compiles_with_either_weighting(data, weights):
    """skl2onnx 1.20 flips the sign of kNN distances; compile_graph undoes it."""
    schema, typed, holdout = data
    for task in ("binary", "regression"):
        pipeline = _fit(_pipeline("knn", task).set_params(model__weights=weights), typed, task)
        compiled = compile_model(pipeline, schema, task, _classes(typed, task), holdout)
        assert compiled.engine.name == "onnx", compiled.engine.reason


def test_a_graph_that_differs_on_the_holdout_ships_on_the_sklearn_engine_with_the_reason(data, monkeypatch):
    schema, typed, holdout = data
    pipeline = _fit(_pipeline("knn", "binary").set_params(model__weights="distance"), typed, "binary")
    monkeypatch.setattr("podium.training.compile._fix_neighbour_distances", lambda onx: None)  # skl2onnx as is
    compiled = compile_model(pipeline, schema, "binary", ["no", "yes"], holdout)
    assert compiled.engine.name == "sklearn" and compiled.model is None
    assert compiled.engine.reason.startswith("compiled graph differs from the pipeline on the holdout: row ")
    assert compiled.engine.checked_rows == 120


def test_the_holdout_check_catches_a_graph_that_answers_differently(data):
    schema, typed, holdout = data
    pipeline = _fit(_pipeline("logistic_regression", "binary"), typed, "binary")
    graph = compile_graph(pipeline, schema, "binary")
    other = _pipeline("logistic_regression", "binary").fit(typed[NUMERIC + CATEGORICAL].iloc[:60],
                                                            typed["binary"].iloc[:60])
    problem, _ = check_graph(graph, other, schema, "binary", ["no", "yes"], holdout)
    assert problem is not None and problem.startswith("row ") and f"tolerance {PROBA_TOLERANCE:g}" in problem
    assert check_graph(graph, pipeline, schema, "binary", ["no", "yes"], holdout) == (None, None)


def test_the_compiled_constraint_excludes_what_does_not_compile():
    result = TrialResult(Trial(1, "custom", {}, 0), "ok", value=0.9, score=0.9, compiled=False,
                         compile_blocker="FunctionTransformer")
    excluded = _apply_constraints(result, ConstraintsSpec(compiled=True))
    assert excluded.status == "excluded" and "FunctionTransformer" in (excluded.error or "")
    kept = TrialResult(Trial(2, "lightgbm", {}, 0), "ok", value=0.9, score=0.9, compiled=True)
    assert _apply_constraints(kept, ConstraintsSpec(compiled=True)).status == "ok"
    assert _apply_constraints(result.__class__(Trial(3, "custom", {}, 0), "ok", compiled=False),
                              ConstraintsSpec()).status == "ok"


def test_a_forest_graph_keeps_only_its_non_zero_leaf_weights_and_answers_alike(data):
    import onnx

    schema, typed, holdout = data
    pipeline = _fit(_pipeline("random_forest", "multiclass"), typed, "multiclass")
    graph = onnx.load_from_string(compile_graph(pipeline, schema, "multiclass"))
    (node,) = [n for n in graph.graph.node if n.op_type == "TreeEnsembleClassifier"]
    attributes = {a.name: a for a in node.attribute}
    weights = np.asarray(attributes["class_weights"].floats)
    leaves = sum(1 for mode in attributes["nodes_modes"].strings if mode == b"LEAF")
    assert (weights != 0).all() and len(weights) < 3 * leaves  # dense: 3 weights a leaf
    assert set(attributes["class_ids"].ints) == {0, 1, 2}
    assert "nodes_hitrates" not in attributes  # optional, and held by onnxruntime for nothing
    assert check_graph(graph.SerializeToString(), pipeline, schema, "multiclass", [0, 1, 2], holdout) == (None, None)


def test_the_serving_cost_estimate_follows_the_model_structure(data):
    schema, typed, _ = data
    cost = {name: serving_us(_fit(_pipeline(name, "binary"), typed, "binary"))
            for name in ("logistic_regression", "hist_gradient_boosting", "random_forest", "lightgbm")}
    assert 0 < cost["logistic_regression"] < min(cost["hist_gradient_boosting"], cost["random_forest"],
                                                  cost["lightgbm"])
    bigger = _pipeline("random_forest", "binary").set_params(model__n_estimators=60)
    assert serving_us(_fit(bigger, typed, "binary")) == pytest.approx(2 * cost["random_forest"], rel=0.2)


def test_the_graph_takes_one_tensor_a_kind_and_answers_as_the_column_graph_did(data, monkeypatch):
    """Numbers and booleans come as one float32 (N, k) block, categories as one string block; a
    graph compiled before (a tensor a column, no mark) still scores through the same typed columns."""
    import onnx

    from podium.registry.scoring import BY_KIND, INPUTS_KEY, OnnxEngine

    schema, typed, holdout = data
    for candidate, task in (("extra_trees", "multiclass"), ("logistic_regression", "binary"),
                            ("lightgbm", "regression")):
        pipeline = _fit(_pipeline(candidate, task), typed, task)
        graph = onnx.load_from_string(compile_graph(pipeline, schema, task))
        shapes = {i.name: [d.dim_value or None for d in i.type.tensor_type.shape.dim] for i in graph.graph.input}
        assert shapes == {"numbers": [None, 3], "categories": [None, 1]}
        assert {p.key: p.value for p in graph.metadata_props}[INPUTS_KEY] == BY_KIND
        with monkeypatch.context() as patched:  # the graph as podium compiled it before inputs by kind
            patched.setattr("podium.training.compile._inputs_by_kind", lambda onx, schema: None)
            columns = compile_graph(pipeline, schema, task)
        classes = _classes(typed, task)
        new = OnnxEngine(graph.SerializeToString(), schema, task, classes).score(holdout)
        old = OnnxEngine(columns, schema, task, classes).score(holdout)
        assert np.array_equal(new.values, old.values)
        assert (new.proba is None and old.proba is None) or np.array_equal(new.proba, old.proba)


def test_a_column_named_like_a_block_keeps_its_own_values():
    """A numeric column called "categories" and a category called "numbers": the blocks' names
    are the graph's, the columns' values inside it are renamed."""
    rng = np.random.default_rng(5)
    raw = pd.DataFrame({"categories": rng.normal(size=200).round(2), "numbers": rng.choice(["a", "b", "c"], 200),
                        "other": rng.normal(size=200)})
    schema = InputSchema.from_frame(raw)
    frame = pd.DataFrame(schema.typed(raw))
    y = np.where(frame["categories"] + (frame["numbers"] == "a") > 0.3, "yes", "no")
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["numbers"]),
                             ("num", StandardScaler(), ["other", "categories"])])
    pipeline = Pipeline([("pre", pre), ("model", candidate_registry.get("logistic_regression")
                                         .estimator("binary", {}, 0))]).fit(frame.iloc[:150], y[:150])
    compiled = compile_model(pipeline, schema, "binary", ["no", "yes"], schema.typed(raw.iloc[150:]))
    assert compiled.engine.name == "onnx", compiled.engine.reason


def test_max_serving_us_excludes_models_dear_or_unknown_to_serve():
    limit = ConstraintsSpec(max_serving_us=5.0)
    dear = TrialResult(Trial(1, "lightgbm", {}, 0), "ok", value=0.9, score=0.9, serving_us=17.3)
    assert _apply_constraints(dear, limit).status == "excluded"
    assert dear.error == "serves in an estimated 17.3 µs a row, over max_serving_us 5"
    unknown = TrialResult(Trial(2, "custom", {}, 0), "ok", value=0.9, score=0.9)
    assert _apply_constraints(unknown, limit).status == "excluded" and "no estimated serving cost" in unknown.error
    cheap = TrialResult(Trial(3, "lightgbm", {}, 0), "ok", value=0.9, score=0.9, serving_us=3.9)
    assert _apply_constraints(cheap, limit).status == "ok"
