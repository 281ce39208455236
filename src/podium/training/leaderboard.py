"""Trials and the leaderboard they make."""

from __future__ import annotations

import pickle
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

__all__ = ["Trial", "TrialResult", "Leaderboard", "TrialStatus"]

TrialStatus = Literal["ok", "failed", "timeout", "excluded"]


@dataclass(frozen=True)
class Trial:
    """One configuration of one family to fit and score."""

    id: int
    candidate: str
    params: dict[str, Any]
    seed: int
    #: the run's device (cpu or cuda); a family that cannot use it trains on the CPU
    device: str = "cpu"
    #: train rows it is fitted on (the first ones of the shuffled train split); None: all of them
    rows: int | None = None
    #: send the fitted model back with the result (a subsampled run may ship it instead of a refit)
    keep_model: bool = False


@dataclass
class TrialResult:
    trial: Trial
    status: TrialStatus
    value: float | None = None  # the metric as a person reads it
    score: float | None = None  # greater is better
    metrics: dict[str, float] = field(default_factory=dict)
    fit_seconds: float = 0.0
    #: the fit's CPU seconds in its worker (None: not measured): unlike its wall time, not
    #: stretched by the trials fitting beside it
    fit_cpu_seconds: float | None = None
    predict_ms_per_1000: float | None = None
    size_bytes: int | None = None
    #: the compiled graph's estimated CPU µs a row (``compile.serving_us``; None: not known)
    serving_us: float | None = None
    error: str | None = None
    cv_value: float | None = None
    #: whether every part of the fitted pipeline has an ONNX converter (None: not known);
    #: ``compile_blocker`` names the part that has none
    compiled: bool | None = None
    compile_blocker: str | None = None
    #: the types of the fitted model's parts, from which the parent judges ``compiled``
    parts: tuple[type, ...] = field(default=(), repr=False)
    #: the Ray node id the trial ran on (None: this machine's local pool)
    node: str | None = None
    #: holdout predictions (labels or values) and class probabilities, kept in the parent
    predictions: np.ndarray | None = field(default=None, repr=False)
    proba: np.ndarray | None = field(default=None, repr=False)
    #: with CV, the out-of-fold predictions over the train split
    oof_predictions: np.ndarray | None = field(default=None, repr=False)
    oof_proba: np.ndarray | None = field(default=None, repr=False)
    #: the device the trial trained on: the run's, where the family can use it (Tags.gpu)
    device: str = "cpu"
    #: the train rows it was fitted on
    rows: int | None = None
    #: the fitted pipeline, pickled (``Trial.keep_model``; the parent keeps only the best trial's)
    model: bytes | None = field(default=None, repr=False)

    @property
    def candidate(self) -> str:
        return self.trial.candidate

    def fitted(self) -> Any:
        """The kept fitted pipeline (``model``), unpickled: it came from this run's own worker."""
        assert self.model is not None, f"trial {self.trial.id} kept no model"
        return pickle.loads(self.model)

    def row(self, rank: int | None = None) -> dict[str, Any]:
        """A JSON-able leaderboard row."""
        return {
            "rank": rank,
            "trial": self.trial.id,
            "candidate": self.trial.candidate,
            "params": _jsonable(self.trial.params),
            "status": self.status,
            "score": self.value,
            "cv_score": self.cv_value,
            "metrics": self.metrics,
            "fit_seconds": round(self.fit_seconds, 3),
            "rows": self.rows,
            "predict_ms_per_1000": None if self.predict_ms_per_1000 is None
            else round(self.predict_ms_per_1000, 3),
            "size_bytes": self.size_bytes,
            "serving_us": None if self.serving_us is None else round(self.serving_us, 2),
            "compiled": self.compiled,
            "device": self.device,
            "error": self.error,
            "node": self.node,
        }


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in params.items()}


class Leaderboard:
    """Results ranked best first: by selection score, ties to the model cheaper to serve (its
    compiled graph's estimated µs a row), then to the faster one — or, when ``reproducible``, to
    the earlier trial, so that timings cannot change the order."""

    def __init__(self, results: list[TrialResult], metric: str, *, reproducible: bool = False) -> None:
        self.metric = metric
        ok = [r for r in results if r.status == "ok"]
        rest = [r for r in results if r.status != "ok"]

        def key(r: TrialResult) -> tuple[float, float, float]:
            score = -(r.score if r.score is not None else -np.inf)
            serving = r.serving_us if r.serving_us is not None else np.inf
            if reproducible:
                return score, serving, r.trial.id
            return score, serving, r.fit_seconds + (r.predict_ms_per_1000 or 0) / 1000

        ok.sort(key=key)
        self.results = ok + sorted(rest, key=lambda r: r.trial.id)

    @property
    def best(self) -> TrialResult | None:
        return self.results[0] if self.results and self.results[0].status == "ok" else None

    def rows(self) -> list[dict[str, Any]]:
        return [r.row(i + 1 if r.status == "ok" else None) for i, r in enumerate(self.results)]

    def best_per_candidate(self) -> list[TrialResult]:
        seen: dict[str, TrialResult] = {}
        for r in self.results:
            seen.setdefault(r.candidate, r)
        return list(seen.values())

    def __len__(self) -> int:
        return len(self.results)
