"""Gaussian naive Bayes as a podium candidate family: ``naive_bayes``.

scikit-learn's ``GaussianNB`` models each feature as a normal distribution per class. It
trains in one pass over the rows, which makes it a fast baseline for classes; podium's
default steps give it imputed, one-hot encoded columns. skl2onnx converts ``GaussianNB``,
so a champion of this family is served on the ONNX engine without a converter of ours.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sklearn.naive_bayes import GaussianNB

from podium.candidates import Candidate, Float, Tags

__all__ = ["NaiveBayesParams", "candidate"]


class NaiveBayesParams(BaseModel):
    """The family's parameters: a spec's or a search draw's are checked against these."""

    model_config = ConfigDict(extra="forbid")

    var_smoothing: float = Field(
        1e-9, gt=0, le=1,
        description="the part of the largest feature variance added to every variance, for stability")


def build(task: str, params: Mapping[str, Any], seed: int) -> GaussianNB:
    """An unfitted estimator for ``task`` (GaussianNB is deterministic: no seed to pass)."""
    return GaussianNB(var_smoothing=params["var_smoothing"])


candidate = Candidate(
    name="naive_bayes",
    tasks=frozenset({"binary", "multiclass"}),
    build=build,
    params=NaiveBayesParams,
    presets=({"var_smoothing": 1e-9}, {"var_smoothing": 1e-3}),
    space={"var_smoothing": Float(1e-12, 1e-1, log=True)},
    tags=Tags(handles_missing=False, needs_scaling=False, encoding="one_hot"),
    summary="Gaussian naive Bayes (plugin podium-naive-bayes): one pass over the rows, a fast baseline.",
)
