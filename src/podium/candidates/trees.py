"""Tree models: a single decision tree, random forests and extra trees."""

from __future__ import annotations

from typing import Any, Mapping

from podium.candidates.base import Candidate, Choice, Distribution, Float, Int, Tags, register_candidate


def _sk(classifier: str, regressor: str, *, jobs: bool) -> Any:
    def build(task: str, params: Mapping[str, Any], seed: int) -> Any:
        from importlib import import_module

        module, cls = (classifier if task != "regression" else regressor).rsplit(".", 1)
        extra = {"n_jobs": 1} if jobs else {}
        return getattr(import_module(module), cls)(**{**extra, **params}, random_state=seed)

    return build


_TREE_TAGS = Tags(handles_missing=True, encoding="ordinal")
# 150 trees, not 300: a forest's serving cost (and memory) grows with its trees, its score
# hardly does past ~100 (on the bench's german_credit, digits and chile_vote, 3 seeds: within
# 0.01 accuracy of 300 trees, at half the CPU a row and half the graph)
_FOREST_SPACE: dict[str, Distribution] = {
    "n_estimators": Int(50, 300),
    "max_features": Choice(("sqrt", 0.5, 0.8, 1.0)),
    "min_samples_leaf": Int(1, 10, log=True),
}

register_candidate(Candidate(
    name="decision_tree",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_sk("sklearn.tree.DecisionTreeClassifier", "sklearn.tree.DecisionTreeRegressor", jobs=False),
    presets=({"max_depth": 8, "min_samples_leaf": 5}, {"max_depth": None, "min_samples_leaf": 10}),
    space={"max_depth": Int(2, 20), "min_samples_leaf": Int(1, 50, log=True),
           "ccp_alpha": Float(1e-6, 1e-2, log=True)},
    tags=_TREE_TAGS,
    summary="One decision tree: readable, fast, usually beaten by ensembles.",
))

register_candidate(Candidate(
    name="random_forest",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_sk("sklearn.ensemble.RandomForestClassifier", "sklearn.ensemble.RandomForestRegressor", jobs=True),
    presets=({"n_estimators": 150, "max_features": "sqrt", "min_samples_leaf": 1},
             {"n_estimators": 150, "max_features": 0.5, "min_samples_leaf": 2}),
    space=_FOREST_SPACE,
    tags=_TREE_TAGS,
    summary="Bagged decision trees: robust with little tuning.",
))

register_candidate(Candidate(
    name="extra_trees",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_sk("sklearn.ensemble.ExtraTreesClassifier", "sklearn.ensemble.ExtraTreesRegressor", jobs=True),
    presets=({"n_estimators": 150, "max_features": "sqrt", "min_samples_leaf": 1},
             {"n_estimators": 150, "max_features": 0.8, "min_samples_leaf": 2}),
    space=_FOREST_SPACE,
    tags=_TREE_TAGS,
    summary="Extremely randomised trees: like a forest, faster, often as good.",
))
