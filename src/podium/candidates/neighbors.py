"""k-nearest neighbours."""

from __future__ import annotations

from typing import Any, Mapping

from podium.candidates.base import Candidate, Choice, Int, Tags, register_candidate


def _knn(task: str, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.neighbors import KNeighborsClassifier, KNeighborsRegressor

    cls = KNeighborsRegressor if task == "regression" else KNeighborsClassifier
    return cls(**{"n_neighbors": 10, "weights": "distance", **params})


register_candidate(Candidate(
    name="knn",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_knn,
    presets=({"n_neighbors": 10, "weights": "distance"}, {"n_neighbors": 25, "weights": "uniform"}),
    space={"n_neighbors": Int(3, 50, log=True), "weights": Choice(("uniform", "distance")),
           "p": Choice((1, 2))},
    tags=Tags(needs_scaling=True, encoding="one_hot", max_rows=30_000),
    summary="k-nearest neighbours: no training, slow to predict on large tables.",
))
