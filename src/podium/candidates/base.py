"""The candidate contract: a model family with its tasks, tags, presets and search space.

The trainer filters candidates on their tags (never on ``isinstance``) and asks each for
configurations: its presets first (a few strong settings), then random draws from its
search space. A PyTorch sequence model or a user's own family plugs in the same way,
registered under the entry-point group ``podium.candidates`` (see docs/plugins.md).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Union

from pydantic import BaseModel, ValidationError

from podium._internal.named import Named
from podium.errors import NotFoundError, SpecError

__all__ = [
    "Candidate",
    "Tags",
    "Int",
    "Float",
    "Choice",
    "Distribution",
    "TASKS",
    "candidate_registry",
    "register_candidate",
]

TASKS = ("binary", "multiclass", "regression", "forecast")


@dataclass(frozen=True)
class Int:
    low: int
    high: int
    log: bool = False

    def sample(self, rng: random.Random) -> int:
        if self.log:
            return int(round(math.exp(rng.uniform(math.log(self.low), math.log(self.high)))))
        return rng.randint(self.low, self.high)


@dataclass(frozen=True)
class Float:
    low: float
    high: float
    log: bool = False

    def sample(self, rng: random.Random) -> float:
        if self.log:
            return math.exp(rng.uniform(math.log(self.low), math.log(self.high)))
        return rng.uniform(self.low, self.high)


@dataclass(frozen=True)
class Choice:
    values: tuple[Any, ...]

    def sample(self, rng: random.Random) -> Any:
        return rng.choice(self.values)


Distribution = Union[Int, Float, Choice]


@dataclass(frozen=True)
class Tags:
    """What a family can do and needs; the trainer and default steps read these."""

    handles_missing: bool = False
    needs_scaling: bool = False
    encoding: Literal["one_hot", "ordinal"] = "one_hot"
    input: Literal["table", "sequence"] = "table"
    #: the fit stops by itself at a deadline (boosting checks it every iteration)
    respects_deadline: bool = False
    #: the shipped model's fit costs this many times a trial's (``selection_fit``: a booster's
    #: trial skips the refit on its early-stopping rows that the shipped model gets)
    final_fit_factor: float = 1.0
    #: converting the family's model to ONNX takes this many times as long a pickled byte as
    #: skl2onnx's own converters (onnxmltools parses a booster's JSON dump in Python)
    compile_factor: float = 1.0
    #: the share of a fit that runs on every thread it is given (Amdahl's law): the shipped
    #: model's fit, alone on the machine with ``n`` threads, takes ``1 - share + share / n`` of a
    #: one-thread trial's time. 0: planned as one thread (a family that has no threads to give)
    parallel_share: float = 0.0
    #: rows above which the family gets slow enough to be skipped first
    max_rows: int | None = None
    #: the library that puts this family on a CUDA GPU when a run's device is cuda
    #: (``torch``; ``xgboost`` or ``lightgbm`` when their build has CUDA); None: CPU only
    gpu: Literal["torch", "xgboost", "lightgbm"] | None = None


Builder = Callable[[str, Mapping[str, Any], int], Any]
"""(task, params, seed) → an unfitted scikit-learn estimator."""


@dataclass(frozen=True)
class Candidate:
    """A model family: which tasks it supports, how to build it, where to search."""

    name: str
    tasks: frozenset[str]
    build: Builder
    presets: tuple[Mapping[str, Any], ...] = ({},)
    space: Mapping[str, Distribution] = field(default_factory=dict)
    tags: Tags = Tags()
    summary: str = ""
    #: the family's parameters as a pydantic model: when given, every configuration is
    #: validated by it and ``build`` gets the full validated set (defaults filled in)
    params: type[BaseModel] | None = None

    def supports(self, task: str) -> bool:
        return task in self.tasks

    def configurations(self, rng: random.Random) -> Iterator[dict[str, Any]]:
        """The presets in order, then endless random draws from the search space."""
        for preset in self.presets:
            yield dict(preset)
        if not self.space:
            return
        while True:
            yield {name: dist.sample(rng) for name, dist in self.space.items()}

    def validate(self, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The parameters as ``build`` gets them: checked by ``self.params`` when the family has one."""
        given = dict(params or {})
        if self.params is None:
            return given
        try:
            return self.params.model_validate(given).model_dump()
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise SpecError(f"{self.name}: {where}: {first['msg']} (got {given!r}).") from None

    def estimator(self, task: str, params: Mapping[str, Any] | None = None, seed: int = 0) -> Any:
        return self.build(task, self.validate(params), seed)


candidate_registry: Named[Candidate] = Named("candidate", "podium.candidates", error=NotFoundError)


def register_candidate(candidate: Candidate) -> Candidate:
    """Register a family under its name (plugins may also use the entry-point group)."""
    return candidate_registry.register(candidate.name, candidate)
