"""Frame steps that keep or drop whole columns: ``select_columns``, ``drop_columns``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import pandas as pd
from pydantic import Field

from podium.errors import SpecError
from podium.steps.base import StepInfo, StepParams, StepResult, register_step, require_columns

__all__ = ["SelectColumns", "DropColumns", "SelectColumnsParams", "DropColumnsParams"]


class SelectColumnsParams(StepParams):
    """Keep only these columns (the target is always kept)."""

    columns: list[str] = Field(min_length=1, description="the feature columns to keep")


class DropColumnsParams(StepParams):
    """Drop these columns; dropping the target is an error."""

    columns: list[str] = Field(min_length=1, description="the columns to drop")


@dataclass(frozen=True)
class SelectColumns:
    """Keep the named columns and the target, in the frame's order."""

    columns: Sequence[str]
    name: str = "select_columns"

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult:
        require_columns(frame, self.columns, self.name)
        keep = set(self.columns) | {target}
        kept = [c for c in frame.columns if c in keep]
        dropped = len(frame.columns) - len(kept)
        note = f"{self.name} kept {len(kept) - (target in frame.columns)} feature columns, dropped {dropped}"
        return StepResult(frame[kept], [note])


@dataclass(frozen=True)
class DropColumns:
    """Drop the named columns; ``reasons`` (column → why) turns into one note a column."""

    columns: Sequence[str]
    reasons: Mapping[str, str] = field(default_factory=dict)
    name: str = "drop_columns"

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult:
        if target in self.columns:
            raise SpecError(f"{self.name}: '{target}' is the target; it cannot be dropped.",
                            hint="remove it from drop_columns or choose another target")
        if not self.reasons:
            require_columns(frame, self.columns, self.name)
        drop = [c for c in self.columns if c in frame.columns]
        if self.reasons:
            notes = [f"dropped '{c}': {self.reasons.get(c, 'listed in ' + self.name)}" for c in drop]
        else:
            notes = [f"{self.name} dropped {', '.join(repr(c) for c in drop)}"]
        return StepResult(frame.drop(columns=drop), notes)


register_step(StepInfo(
    name="select_columns", kind="frame", params=SelectColumnsParams,
    factory=lambda p: SelectColumns(columns=list(p.columns)),
    summary="keep only the listed feature columns (and the target)",
))
register_step(StepInfo(
    name="drop_columns", kind="frame", params=DropColumnsParams,
    factory=lambda p: DropColumns(columns=list(p.columns)),
    summary="drop the listed columns",
))
