"""Linear models: logistic regression for classes, ridge regression for values."""

from __future__ import annotations

from typing import Any, Mapping

from podium.candidates.base import Candidate, Choice, Float, Tags, register_candidate


def _logistic(task: str, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import LogisticRegression

    return LogisticRegression(**{"C": 1.0, "max_iter": 2000, **params}, random_state=seed)


def _ridge(task: str, params: Mapping[str, Any], seed: int) -> Any:
    from sklearn.linear_model import Ridge

    return Ridge(**{"alpha": 1.0, **params}, random_state=seed)


register_candidate(Candidate(
    name="logistic_regression",
    tasks=frozenset({"binary", "multiclass"}),
    build=_logistic,
    presets=({"C": 1.0}, {"C": 0.1}),
    space={"C": Float(1e-3, 100.0, log=True)},
    tags=Tags(needs_scaling=True, encoding="one_hot"),
    summary="L2-regularised logistic regression: fast, calibrated, a strong baseline.",
))

register_candidate(Candidate(
    name="ridge",
    tasks=frozenset({"regression"}),
    build=_ridge,
    presets=({"alpha": 1.0}, {"alpha": 10.0}),
    space={"alpha": Float(1e-3, 1e3, log=True), "fit_intercept": Choice((True,))},
    tags=Tags(needs_scaling=True, encoding="one_hot"),
    summary="L2-regularised linear regression.",
))
