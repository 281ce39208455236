"""Neural networks for tables: scikit-learn's multi-layer perceptron."""

from __future__ import annotations

from typing import Any, Mapping

from podium.candidates.base import Candidate, Choice, Float, Tags, register_candidate


def _mlp(task: str, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.compose import TransformedTargetRegressor
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.preprocessing import StandardScaler

    settings = {"hidden_layer_sizes": (128, 64), "alpha": 1e-4, "early_stopping": True,
                "max_iter": 300, "n_iter_no_change": 15, "learning_rate_init": 1e-3, **params}
    settings["hidden_layer_sizes"] = tuple(settings["hidden_layer_sizes"])
    if task == "regression":  # targets on their own scale would stall the optimiser
        return TransformedTargetRegressor(MLPRegressor(**settings, random_state=seed),
                                          transformer=StandardScaler())
    return MLPClassifier(**settings, random_state=seed)


register_candidate(Candidate(
    name="mlp",
    tasks=frozenset({"binary", "multiclass", "regression"}),
    build=_mlp,
    presets=({}, {"hidden_layer_sizes": (256, 128), "alpha": 1e-3}),
    space={"hidden_layer_sizes": Choice(((64,), (128,), (128, 64), (256, 128), (256, 128, 64))),
           "alpha": Float(1e-6, 1e-1, log=True), "learning_rate_init": Float(1e-4, 1e-2, log=True)},
    tags=Tags(needs_scaling=True, encoding="one_hot", max_rows=200_000),
    summary="A multi-layer perceptron (early-stopped Adam).",
))
