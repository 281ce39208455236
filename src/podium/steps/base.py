"""What a step is: the registry, the two step kinds and the shared column helpers.

A *frame* step removes rows or whole columns at training time, before the split
(``apply(frame, target=...) -> StepResult``). A *transform* step changes values: it is
fitted on the train split inside each candidate's pipeline (``podium.steps.compose``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, runtime_checkable

import pandas as pd
from pydantic import BaseModel, ConfigDict

from podium._internal.named import Named
from podium._internal.suggest import did_you_mean
from podium.errors import DataError, NotFoundError, SchemaError

__all__ = [
    "StepParams",
    "StepResult",
    "FrameStep",
    "StepInfo",
    "step_registry",
    "register_step",
    "describe_error",
    "require_columns",
]


class StepParams(BaseModel):
    """Base of every step's parameter model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid")


@dataclass
class StepResult:
    """What a frame step returns: the new frame and notes for the person running it."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)


@runtime_checkable
class FrameStep(Protocol):
    """Removes rows or whole columns at training time; never changes values."""

    @property
    def name(self) -> str: ...

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult: ...


@dataclass(frozen=True)
class StepInfo:
    """A registered step: its kind, its parameter model and how to build it from them.

    A frame step's factory returns a ``FrameStep``. A transform step's factory returns a
    ``ColumnStep`` (podium's own: the parameters themselves, composed with the others into
    one ColumnTransformer) or any scikit-learn transformer (DataFrame in, DataFrame out).
    """

    name: str
    kind: Literal["frame", "transform"]
    params: type[BaseModel]
    factory: Callable[[Any], Any]
    summary: str = ""


step_registry: Named[StepInfo] = Named("step", "podium.steps", error=NotFoundError)


def register_step(info: StepInfo, *, replace: bool = False) -> StepInfo:
    """Register a step under its name (plugins may also use the ``podium.steps`` entry points)."""
    return step_registry.register(info.name, info, replace=replace)


def describe_error(err: Mapping[str, Any], fields: Iterable[str]) -> tuple[str, str]:
    """(where, what) of one pydantic error, worded for a person; ``what`` ends a sentence."""
    where = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        name = str(err["loc"][-1]) if err["loc"] else ""
        known = sorted(fields)
        hint = did_you_mean(name, known) if known else "This step takes no parameters."
        return where, f"unknown parameter. {hint}".rstrip()
    if err["type"] == "missing":
        return where, "required parameter is missing."
    msg = str(err["msg"])
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    if "input" in err and not isinstance(err["input"], Mapping):
        msg = f"{msg} (got {err['input']!r})"
    return where, msg if msg.endswith((".", "?", "!")) else f"{msg}."


def require_columns(frame: pd.DataFrame, columns: Iterable[Hashable], step: str) -> None:
    """Every named column is in the frame, or a SchemaError with the closest name."""
    for column in columns:
        if column not in frame.columns:
            raise SchemaError(
                f"{step}: '{column}' is not a column. "
                f"{did_you_mean(str(column), map(str, frame.columns))}".rstrip()
            )


def percent(fraction: float) -> str:
    """0.951 → "95.1%", 1.0 → "100%": precise enough that a note never contradicts its threshold."""
    return f"{int(fraction * 1000) / 10:g}%"


def check_rows_left(frame: pd.DataFrame, step: str) -> None:
    """A frame step that leaves no rows is a data problem, said plainly."""
    if len(frame) == 0:
        raise DataError(f"{step} removed every row; nothing is left to train on.",
                        hint=f"loosen or remove the {step} step")
