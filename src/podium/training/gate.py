"""The gate: does the winner clear the threshold? A decision with its figures; acting is separate."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from podium.training.metrics import Metric

__all__ = ["GateDecision", "check_gate"]


@dataclass(frozen=True)
class GateDecision:
    passed: bool
    message: str
    figures: dict[str, Any] = field(default_factory=dict)


def check_gate(value: float | None, metric: Metric, min_score: float | None) -> GateDecision:
    """Pass when the winner's holdout ``value`` reaches ``min_score`` (direction from the metric)."""
    figures = {"metric": metric.name, "value": value, "threshold": min_score,
               "greater_is_better": metric.greater_is_better}
    if value is None:
        return GateDecision(False, "no candidate finished: nothing to promote", figures)
    if min_score is None:
        return GateDecision(True, f"{metric.name} {value:.4g} (no threshold set)", figures)
    word = "at least" if metric.greater_is_better else "at most"
    if metric.passes(value, min_score):
        return GateDecision(True, f"{metric.name} {value:.4g} meets the threshold ({word} {min_score:g})", figures)
    return GateDecision(False, f"{metric.name} {value:.4g} misses the threshold ({word} {min_score:g})", figures)
