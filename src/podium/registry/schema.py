"""The input and output schemas of a model package, and conforming a frame to the input one.

The input schema records what training saw of each feature (dtype, kind, whether values were
missing, categories, range, an example). ``conform`` turns a frame to score into what the
pipeline was fitted on: the schema's columns in order, each in its training dtype family.
Unseen categories and missing values are left to the pipeline, which handles them as
training did.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, Field, field_validator

from podium.data.types import ColumnType, as_text, infer_column_type
from podium.errors import SchemaError
from podium.registry._json import to_jsonable

__all__ = ["ColumnSchema", "InputSchema", "OutputSchema", "Task", "MAX_CATEGORIES"]

Task = Literal["binary", "multiclass", "regression"]

#: categories kept per column (the most frequent); serving still accepts any other value
MAX_CATEGORIES = 1000

_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}
_SHOWN = 20


class ColumnSchema(BaseModel):
    """One feature as training saw it."""

    model_config = ConfigDict(extra="forbid")

    name: str
    dtype: str = Field(description="the pandas dtype at training, e.g. float64, str, bool")
    kind: str = Field(description="the inferred kind: a ColumnType value (numeric, categorical...)")
    nullable: bool = Field(False, description="whether training saw missing values")
    categories: list[bool | str] | None = Field(
        None, description="training categories (categorical and boolean columns); bools for a bool column"
    )
    min: float | int | None = Field(None, description="smallest value seen (numeric columns)")
    max: float | int | None = Field(None, description="largest value seen (numeric columns)")
    example: Any = Field(None, description="a value seen in training")

    @field_validator("kind", mode="before")
    @classmethod
    def _kind_value(cls, value: Any) -> str:
        return ColumnType(value).value

    @field_validator("categories", mode="before")
    @classmethod
    def _plain_categories(cls, value: Any) -> Any:
        if value is None:
            return None
        return [v if isinstance(v, bool) else str(v) for v in to_jsonable(list(value))]

    @field_validator("min", "max", "example", mode="before")
    @classmethod
    def _plain_value(cls, value: Any) -> Any:
        return to_jsonable(value)

    @classmethod
    def from_series(cls, name: str, values: pd.Series, kind: ColumnType | str | None = None) -> ColumnSchema:
        """Describe one training column."""
        kind = ColumnType(kind) if kind is not None else infer_column_type(values)
        present = values.dropna()
        numeric = ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype)
        categories: list[Any] | None = None
        if kind in (ColumnType.CATEGORICAL, ColumnType.BOOLEAN):
            if ptypes.is_bool_dtype(values.dtype):
                categories = sorted({bool(v) for v in present})
            else:
                counts = as_text(present).value_counts()
                categories = sorted(str(c) for c in counts.index[:MAX_CATEGORIES])
        return cls(
            name=str(name),
            dtype=str(values.dtype),
            kind=kind,
            nullable=bool(values.isna().any()),
            categories=categories,
            min=present.min() if numeric and len(present) else None,
            max=present.max() if numeric and len(present) else None,
            example=present.iloc[0] if len(present) else None,
        )


class InputSchema(BaseModel):
    """The features a model takes, in the order the pipeline was fitted on."""

    model_config = ConfigDict(extra="forbid")

    columns: list[ColumnSchema]

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    def column(self, name: str) -> ColumnSchema:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)

    @classmethod
    def from_frame(
        cls, frame: pd.DataFrame, column_types: Mapping[str, ColumnType | str] | None = None
    ) -> InputSchema:
        """The schema of the training features (kinds inferred where ``column_types`` has none)."""
        kinds = dict(column_types or {})
        return cls(columns=[ColumnSchema.from_series(str(c), frame[c], kinds.get(str(c)))
                            for c in frame.columns])

    def conform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        """The schema's columns of ``frame``, in order and in their training dtypes, plus notes.

        Raises ``SchemaError`` for a missing column or a value that cannot take the column's
        type (text in a numeric column). Extra columns are ignored with a note.
        """
        by_name = {str(c): c for c in frame.columns}
        missing = [n for n in self.names if n not in by_name]
        if missing:
            raise SchemaError(
                f"input is missing columns: {', '.join(missing)} "
                f"(the model was trained on: {_listing(self.names)}).",
                hint="add the missing columns (empty values are fine where training saw missing ones)",
            )
        notes: list[str] = []
        wanted = set(self.names)
        extra = [n for n in by_name if n not in wanted]
        if extra:
            notes.append(f"ignored extra columns: {_listing(extra)}")
        data = {c.name: _coerce(frame[by_name[c.name]], c) for c in self.columns}
        return pd.DataFrame(data, index=frame.index), notes


class OutputSchema(BaseModel):
    """What a model predicts: the task, the target's name, its classes or its range."""

    model_config = ConfigDict(extra="forbid")

    task: Task
    target: str
    classes: list[bool | int | float | str] | None = Field(
        None, description="the class labels in the model's order (classification)"
    )
    target_range: tuple[float, float] | None = Field(
        None, description="smallest and largest target value seen (regression)"
    )

    @field_validator("classes", mode="before")
    @classmethod
    def _plain_classes(cls, value: Any) -> Any:
        return None if value is None else to_jsonable(list(value))

    @field_validator("target_range", mode="before")
    @classmethod
    def _plain_range(cls, value: Any) -> Any:
        return None if value is None else to_jsonable(list(value))

    @classmethod
    def from_target(cls, y: pd.Series, task: Task, *, target: str | None = None) -> OutputSchema:
        """The output schema of a training target."""
        name = str(target if target is not None else y.name)
        present = y.dropna()
        if task == "regression":
            span = (float(present.min()), float(present.max())) if len(present) else None
            return cls(task=task, target=name, target_range=span)
        return cls(task=task, target=name, classes=sorted(present.unique().tolist()))


def _coerce(values: pd.Series, column: ColumnSchema) -> pd.Series:
    dtype = column.dtype
    if dtype.startswith(("bool", "boolean")):
        return _to_bool(values, column)
    if dtype.startswith(("int", "uint", "float", "Int", "UInt", "Float")):
        return _to_number(values, column)
    if dtype.startswith("datetime64"):
        return _to_datetime(values, column)
    return as_text(values)


def _blank_to_missing(values: pd.Series) -> pd.Series:
    if values.dtype == object or ptypes.is_string_dtype(values.dtype):
        blank = values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
        if blank.any():
            values = values.astype(object).where(~blank, np.nan)
    return values


def _bad_value(values: pd.Series, bad: pd.Series, column: ColumnSchema, what: str, hint: str) -> None:
    """Raise for the first value flagged in ``bad``, naming its column, row and value."""
    flags = bad.to_numpy(dtype=bool)
    if flags.any():
        pos = int(flags.argmax())
        raise SchemaError(
            f"column '{column.name}' expects {what} but row {values.index[pos]!r} has {values.iloc[pos]!r}.",
            hint=f"send {hint} in '{column.name}' (or leave the value empty)",
        )


def _to_number(values: pd.Series, column: ColumnSchema) -> pd.Series:
    values = _blank_to_missing(values)
    if ptypes.is_bool_dtype(values.dtype):
        values = values.astype(int)
    converted = pd.to_numeric(values.astype(object) if not ptypes.is_numeric_dtype(values.dtype) else values,
                              errors="coerce")
    _bad_value(values, values.notna() & converted.isna(), column, "numbers", "numbers")
    try:
        return converted.astype(column.dtype)  # the training dtype where it holds the values
    except (TypeError, ValueError):
        return converted.astype("float64")


def _to_bool(values: pd.Series, column: ColumnSchema) -> pd.Series:
    if ptypes.is_bool_dtype(values.dtype):
        return values
    parsed = values.astype(object).map(_parse_bool)
    bad = parsed.map(lambda v: v is _NOT_BOOL)
    _bad_value(values, bad, column, "true or false", "true/false (or yes/no, 1/0)")
    if parsed.isna().any():
        return parsed.astype("boolean") if column.dtype == "boolean" else parsed
    return parsed.astype(bool)


_NOT_BOOL = object()


def _parse_bool(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return np.nan
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    text = str(value).strip().lower()
    if not text:
        return np.nan
    return True if text in _TRUE else False if text in _FALSE else _NOT_BOOL


def _to_datetime(values: pd.Series, column: ColumnSchema) -> pd.Series:
    if ptypes.is_datetime64_any_dtype(values.dtype):
        converted = values
    else:
        values = _blank_to_missing(values)
        utc = "UTC" in column.dtype or "," in column.dtype
        converted = pd.to_datetime(values, errors="coerce", format="mixed", utc=utc)
        _bad_value(values, values.notna() & converted.isna(), column, "dates", "ISO 8601 dates")
    try:
        return converted.astype(column.dtype)
    except (TypeError, ValueError):
        return converted


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"
