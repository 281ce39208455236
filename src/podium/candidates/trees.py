"""Tree models: a single decision tree, random forests and extra trees.

The forests are scikit-learn's, grown in rounds of trees under a fit deadline
(``GrowsToDeadline``): a trial that runs out of time keeps the trees it has.
"""

from __future__ import annotations

from typing import Any, Mapping

from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor, RandomForestClassifier, RandomForestRegressor
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from podium.candidates.base import Candidate, Choice, Distribution, Float, Int, Tags, register_candidate
from podium.candidates.deadline import GrowsToDeadline


def _sk(classifier: type, regressor: type, *, jobs: bool) -> Any:
    def build(task: str, params: Mapping[str, Any], seed: int) -> Any:
        extra = {"n_jobs": 1} if jobs else {}
        return (regressor if task == "regression" else classifier)(**{**extra, **params}, random_state=seed)

    return build


class DeadlineRandomForestClassifier(GrowsToDeadline, RandomForestClassifier):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of trees to a fit deadline."""


class DeadlineRandomForestRegressor(GrowsToDeadline, RandomForestRegressor):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of trees to a fit deadline."""


class DeadlineExtraTreesClassifier(GrowsToDeadline, ExtraTreesClassifier):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of trees to a fit deadline."""


class DeadlineExtraTreesRegressor(GrowsToDeadline, ExtraTreesRegressor):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of trees to a fit deadline."""


#: leaves a forest may grow, all its trees together: each tree gets ``leaves // n_estimators``
#: (``max_leaf_nodes``; then it grows best split first, so the cap cuts the splits that gain
#: least). Fully grown, a regression tree has about one leaf per training row: on diamonds'
#: 34,500 train rows an extra-trees forest of 150 trees was 65,000 nodes a tree and 673 MB;
#: at 4,000 leaves a tree it is 86 MB, fits in half the time and scores as well (RMSE 542
#: against 544 on the holdout). A node is 64 bytes + 8 a class, so classification gets fewer
#: leaves: its trees stop at pure leaves, far below the cap on small data (digits: ~300 leaves
#: a tree), but grow about a leaf per noisy row on large data. A cap far above what a tree
#: grows costs memory too: scikit-learn allocates ``max_leaf_nodes`` nodes a tree before it
#: grows it (150 extra trees on digits: 82 MB with 4,000 leaves a tree, 32 with 1,333, 17 uncapped).
FOREST_LEAVES = {"regression": 600_000, "classification": 200_000}
#: the fewest leaves a tree is capped at, whatever the number of trees
MIN_TREE_LEAVES = 1_000


def forest_leaves(task: str, n_estimators: int) -> int:
    """``max_leaf_nodes`` of each tree of a forest of ``n_estimators`` trees (``FOREST_LEAVES``)."""
    budget = FOREST_LEAVES["regression" if task == "regression" else "classification"]
    return max(MIN_TREE_LEAVES, budget // max(1, n_estimators))


def _forest(classifier: type, regressor: type) -> Any:
    """A forest's builder: its trees capped at ``forest_leaves`` unless ``max_leaf_nodes`` is given."""
    build = _sk(classifier, regressor, jobs=True)

    def bounded(task: str, params: Mapping[str, Any], seed: int) -> Any:
        if "max_leaf_nodes" not in params:
            params = {**params, "max_leaf_nodes": forest_leaves(task, int(params.get("n_estimators", 100)))}
        return build(task, params, seed)

    return bounded


_TREE_TAGS = Tags(handles_missing=True, encoding="ordinal")
# a forest's trees grow one a thread: 2.07x as fast on 2 threads (250,000 rows)
_FOREST_TAGS = Tags(handles_missing=True, encoding="ordinal", respects_deadline=True, parallel_share=0.9)
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
    build=_sk(DecisionTreeClassifier, DecisionTreeRegressor, jobs=False),
    presets=({"max_depth": 8, "min_samples_leaf": 5}, {"max_depth": None, "min_samples_leaf": 10}),
    space={"max_depth": Int(2, 20), "min_samples_leaf": Int(1, 50, log=True),
           "ccp_alpha": Float(1e-6, 1e-2, log=True)},
    tags=_TREE_TAGS,
    summary="One decision tree: readable, fast, usually beaten by ensembles.",
))

register_candidate(Candidate(
    name="random_forest",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_forest(DeadlineRandomForestClassifier, DeadlineRandomForestRegressor),
    presets=({"n_estimators": 150, "max_features": "sqrt", "min_samples_leaf": 1},
             {"n_estimators": 150, "max_features": 0.5, "min_samples_leaf": 2}),
    space=_FOREST_SPACE,
    tags=_FOREST_TAGS,
    summary="Bagged decision trees: robust with little tuning.",
))

register_candidate(Candidate(
    name="extra_trees",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_forest(DeadlineExtraTreesClassifier, DeadlineExtraTreesRegressor),
    presets=({"n_estimators": 150, "max_features": "sqrt", "min_samples_leaf": 1},
             {"n_estimators": 150, "max_features": 0.8, "min_samples_leaf": 2}),
    space=_FOREST_SPACE,
    tags=_FOREST_TAGS,
    summary="Extremely randomised trees: like a forest, faster, often as good.",
))
