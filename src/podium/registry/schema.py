"""The input and output schemas of a model package, and the one input path: ``InputSchema.typed``.

The input schema records what training saw of each feature (kind, whether values were
missing, categories, range, an example). ``InputSchema.typed`` turns a frame or records into
the model's typed input columns — the one form every scorer takes, at training and after:

- numeric  → float64, NaN = missing
- boolean  → float64 0.0 / 1.0, NaN = missing
- datetime → float64 seconds since the Unix epoch, UTC (naive times read as UTC), NaN = missing
- categorical (and any other kind) → object array of str, missing = "" (the empty string)

The kind comes from the schema (``ColumnSchema.kind``, a ``ColumnType``), never from dtypes.
Records are typed with numpy alone (a compiled model's service imports no pandas); a frame
is typed column by column with pandas.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timezone
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from podium.data.types import ColumnType
from podium.errors import SchemaError
from podium.registry._json import to_jsonable

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["ColumnSchema", "InputSchema", "OutputSchema", "Task", "TypedColumns", "MAX_CATEGORIES"]

Task = Literal["binary", "multiclass", "regression", "forecast"]

#: the model's input: one 1-D array of length N per feature, in schema order (see the module doc)
TypedColumns = dict[str, np.ndarray]


class _NumberBlock(dict[str, np.ndarray]):
    """Typed columns whose numeric ones are the rows of one (k, N) float64 block, kept as
    ``block`` with their names: a compiled graph takes them whole (see ``registry.scoring``)."""

    __slots__ = ("names", "block")

    def __init__(self, columns: dict[str, np.ndarray], names: tuple[str, ...], block: np.ndarray) -> None:
        super().__init__(columns)
        self.names = names
        self.block = block

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
    kind: ColumnType = Field(description="the column's kind, inferred at training: it decides how values are typed")
    nullable: bool = Field(False, description="whether training saw missing values")
    categories: list[bool | str] | None = Field(
        None, description="training categories (categorical and boolean columns); bools for a bool column"
    )
    min: float | int | None = Field(None, description="smallest value seen (numeric columns)")
    max: float | int | None = Field(None, description="largest value seen (numeric columns)")
    example: Any = Field(None, description="a value seen in training")

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
        from pandas.api import types as ptypes

        from podium.data.types import as_categories, infer_column_type

        kind = ColumnType(kind) if kind is not None else infer_column_type(values)
        missing = values.isna()
        n_missing = int(missing.sum())
        first = int(np.argmin(missing.to_numpy())) if n_missing < len(values) else None
        numeric = ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype)
        categories: list[Any] | None = None
        if kind in (ColumnType.CATEGORICAL, ColumnType.BOOLEAN):
            if ptypes.is_bool_dtype(values.dtype):
                categories = sorted({bool(v) for v in values.dropna().unique()})
            else:
                # counted on integer codes; a missing value is typed "" like an empty text: not counted
                counts = as_categories(values).value_counts(sort=False)
                if n_missing and "" in counts.index:
                    counts[""] -= n_missing
                counts = counts[counts > 0].sort_index().sort_values(ascending=False, kind="stable")
                categories = sorted(str(c) for c in counts.index[:MAX_CATEGORIES])
        return cls(
            name=str(name),
            dtype=str(values.dtype),
            kind=kind,
            nullable=n_missing > 0,
            categories=categories,
            min=values.min() if numeric and first is not None else None,
            max=values.max() if numeric and first is not None else None,
            example=values.iloc[first] if first is not None else None,
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

    def extra_columns(self, names: Sequence[Any]) -> list[str]:
        """The names in ``names`` the model does not take (ignored when scoring)."""
        wanted = set(self.names)
        return [str(n) for n in names if str(n) not in wanted]

    def typed(self, data: pd.DataFrame | Sequence[Mapping[str, Any]] | Mapping[str, Sequence[Any]]) -> TypedColumns:
        """The model's typed input columns from a frame, records or columns (name → values).

        Extra columns are ignored. Raises ``SchemaError`` (one line: column, row, value) for a
        missing column or a value that cannot take its column's kind.
        """
        if hasattr(data, "iloc") and hasattr(data, "columns"):
            frame: Any = data
            by_name = {str(c): c for c in frame.columns}
            self._require(by_name)
            return {c.name: _typed_series(frame[by_name[c.name]], c) for c in self.columns}
        if isinstance(data, Mapping):
            columns: Mapping[str, Sequence[Any]] = data if set(map(type, data)) <= {str} else \
                {str(k): v for k, v in data.items()}
        else:
            records = list(data)
            present: set[str] = set().union(*(map(str, r.keys()) for r in records)) if records else set(self.names)
            self._require(dict.fromkeys(present))
            columns = {c.name: [r.get(c.name) for r in records] for c in self.columns}
        self._require(columns)
        numbers = self._numbers
        block = _number_block([columns[n] for n in numbers]) if len(numbers) > 1 else None
        if block is None:
            return {c.name: _typed_values(list(columns[c.name]), c) for c in self.columns}
        typed = dict(zip(numbers, block))
        if len(typed) < len(self.columns):
            typed = {c.name: typed[c.name] if c.name in typed else _typed_values(list(columns[c.name]), c)
                     for c in self.columns}
        return _NumberBlock(typed, numbers, block)

    @functools.cached_property
    def _names(self) -> tuple[str, ...]:
        return tuple(self.names)

    @functools.cached_property
    def _numbers(self) -> tuple[str, ...]:
        """The numeric columns (typed together from records)."""
        return tuple(c.name for c in self.columns if c.kind == ColumnType.NUMERIC)

    def _require(self, present: Mapping[str, Any]) -> None:
        missing = [n for n in self._names if n not in present]
        if missing:
            raise SchemaError(
                f"input is missing columns: {', '.join(missing)} "
                f"(the model was trained on: {_listing(self.names)}).",
                hint="add the missing columns (empty values are fine where training saw missing ones)",
            )


class OutputSchema(BaseModel):
    """What a model predicts: the task, the target's name, its classes or its range."""

    model_config = ConfigDict(extra="forbid")

    task: Task
    target: str
    classes: list[bool | int | float | str] | None = Field(
        None, description="the class labels in the model's order (classification)"
    )
    target_range: tuple[float, float] | None = Field(
        None, description="smallest and largest target value seen (regression, forecast)"
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
        if task in ("regression", "forecast"):
            span = (float(present.min()), float(present.max())) if len(present) else None
            return cls(task=task, target=name, target_range=span)
        return cls(task=task, target=name, classes=sorted(present.unique().tolist()))


# -- typing values ------------------------------------------------------------------------------
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _bad(column: ColumnSchema, row: Any, value: Any, what: str, hint: str) -> SchemaError:
    return SchemaError(f"column '{column.name}' expects {what} but row {row!r} has {value!r}.",
                       hint=f"send {hint} in '{column.name}' (or leave the value empty)")


def _is_missing(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    if type(value).__name__ in ("NAType", "NaTType"):
        return True
    if isinstance(value, np.floating):
        return bool(np.isnan(value))
    return False


def _typed_values(values: list[Any], column: ColumnSchema) -> np.ndarray:
    """One column of Python values (records, a request) typed by its kind, with numpy alone."""
    kind = column.kind
    if kind == ColumnType.NUMERIC:
        try:
            return np.array(values, dtype=np.float64)  # None → NaN; numbers and numeric text
        except (TypeError, ValueError):
            return np.array([_number(v, column, i) for i, v in enumerate(values)], dtype=np.float64)
    if kind == ColumnType.BOOLEAN:
        return np.array([_boolean(v, column, i) for i, v in enumerate(values)], dtype=np.float64)
    if kind == ColumnType.DATETIME:
        return np.array([_seconds(v, column, i) for i, v in enumerate(values)], dtype=np.float64)
    return np.array(_texts(values), dtype=object)


def _number_block(columns: list[Sequence[Any]]) -> np.ndarray | None:
    """Numeric columns typed in one numpy call, as the rows of a (k, N) float64 block — what
    ``_typed_values`` gives column by column (a request of 60 numbers: 5 µs instead of 60);
    None where a value needs a look of its own (text that is not a number: each column is
    then typed on its own, which says where)."""
    lengths = set(map(len, columns))
    if len(lengths) != 1:
        return None
    (rows,) = lengths
    try:
        if rows == 1:  # a single record: one flat list converts much faster than k lists of one
            block = np.array([values[0] for values in columns], dtype=np.float64).reshape(-1, 1)
        else:
            block = np.array(columns, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    return block if block.shape == (len(columns), rows) else None


def _texts(values: list[Any]) -> list[Any]:
    """``_text`` of every value; text that cannot hold "1.0" (the usual category) is kept as it is,
    without a look at each value."""
    try:
        joined = "\0".join(values)
    except TypeError:  # not all text: missing values (None) are the common case
        text = ["" if v is None else v for v in values]
        try:
            joined = "\0".join(text)
        except TypeError:
            return [_text(v) for v in values]
        values = text
    return values if ".0" not in joined else [_text(v) for v in values]


def _number(value: Any, column: ColumnSchema, row: Any) -> float:
    if _is_missing(value):
        return math.nan
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(column, row, value, "numbers", "numbers") from None


_TRUE = {"true", "t", "yes", "y", "1", "1.0"}
_FALSE = {"false", "f", "no", "n", "0", "0.0"}


def _boolean(value: Any, column: ColumnSchema, row: Any) -> float:
    if _is_missing(value):
        return math.nan
    if isinstance(value, (bool, np.bool_)):
        return 1.0 if value else 0.0
    if isinstance(value, (int, float, np.integer, np.floating)) and value in (0, 1):
        return float(value)
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise _bad(column, row, value, "true or false", "true/false (or yes/no, 1/0)")


def _seconds(value: Any, column: ColumnSchema, row: Any) -> float:
    """Seconds since the epoch, UTC; a naive time is read as UTC; a number is taken as seconds."""
    if _is_missing(value):
        return math.nan
    if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
        return float(value)
    if hasattr(value, "to_pydatetime"):
        value = value.to_pydatetime()
    elif isinstance(value, np.datetime64):
        return float(value.astype("datetime64[us]").astype(np.int64)) / 1e6
    if isinstance(value, str):
        text = value.strip()
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
        except ValueError:
            value = _parse_date_text(text, column, row)
    if isinstance(value, datetime):
        aware = value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)
        return (aware - _EPOCH).total_seconds()
    if isinstance(value, date):
        return (datetime(value.year, value.month, value.day, tzinfo=timezone.utc) - _EPOCH).total_seconds()
    raise _bad(column, row, value, "dates", "ISO 8601 dates")


def _parse_date_text(text: str, column: ColumnSchema, row: Any) -> datetime:
    """A date in a form ISO 8601 does not cover (e.g. 01/02/2023): pandas reads it as training did."""
    import pandas as pd

    parsed = pd.to_datetime(pd.Series([text]), errors="coerce", format="mixed", utc=True).iloc[0]
    if pd.isna(parsed):
        raise _bad(column, row, text, "dates", "ISO 8601 dates")
    result: datetime = parsed.to_pydatetime()
    return result


_INTEGRAL_TEXT = re.compile(r"^-?\d+\.0$")


def _text(value: Any) -> str:
    """A category as text: 1, 1.0 and "1" are all "1"; missing is ""."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value[:-2] if _INTEGRAL_TEXT.match(value) else value
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (float, np.floating)):
        if math.isnan(value):
            return ""
        if float(value).is_integer() and abs(float(value)) < 2**53:
            return str(int(value))
        return str(float(value))
    if isinstance(value, np.integer):
        return str(int(value))
    if type(value).__name__ in ("NAType", "NaTType"):
        return ""
    return str(value)


def _typed_series(values: pd.Series, column: ColumnSchema) -> np.ndarray:
    """One frame column typed by its kind (vectorised with pandas; same results as ``_typed_values``)."""
    import pandas as pd
    from pandas.api import types as ptypes

    from podium.data.types import as_text

    kind = column.kind
    if kind == ColumnType.NUMERIC:
        if ptypes.is_numeric_dtype(values.dtype):
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))
        blank = _blank(values)
        converted = pd.to_numeric(values.where(~blank), errors="coerce")
        _raise_first(values, converted.isna() & ~blank & values.notna(), column, "numbers", "numbers")
        return np.asarray(converted.to_numpy(dtype=np.float64, na_value=np.nan))
    if kind == ColumnType.BOOLEAN:
        if ptypes.is_bool_dtype(values.dtype) or ptypes.is_numeric_dtype(values.dtype):
            out = values.to_numpy(dtype=np.float64, na_value=np.nan)
            bad = ~np.isnan(out) & (out != 0.0) & (out != 1.0)
            _raise_first(values, pd.Series(bad, index=values.index), column, "true or false",
                         "true/false (or yes/no, 1/0)")
            return np.asarray(out)
        return _typed_values(values.tolist(), column) if len(values) else np.empty(0)
    if kind == ColumnType.DATETIME:
        if ptypes.is_numeric_dtype(values.dtype) and not ptypes.is_bool_dtype(values.dtype):
            return np.asarray(values.to_numpy(dtype=np.float64, na_value=np.nan))  # already epoch seconds
        if ptypes.is_datetime64_any_dtype(values.dtype):
            stamps = values if getattr(values.dtype, "tz", None) is not None else values.dt.tz_localize("UTC")
        else:
            blank = _blank(values)
            stamps = pd.to_datetime(values.where(~blank), errors="coerce", format="mixed", utc=True)
            _raise_first(values, stamps.isna() & ~blank & values.notna(), column, "dates", "ISO 8601 dates")
        seconds = (stamps - pd.Timestamp(0, tz="UTC")).dt.total_seconds()
        return np.asarray(seconds.to_numpy(dtype=np.float64, na_value=np.nan))
    text = as_text(values).fillna("")
    return np.asarray(text.to_numpy(dtype=object))


def _blank(values: pd.Series) -> pd.Series:
    if values.dtype == object or str(values.dtype).startswith("str"):
        return values.map(lambda v: isinstance(v, str) and not v.strip()).astype(bool)
    import pandas as pd

    return pd.Series(False, index=values.index)


def _raise_first(values: pd.Series, bad: pd.Series, column: ColumnSchema, what: str, hint: str) -> None:
    flags = np.asarray(bad, dtype=bool)
    if flags.any():
        pos = int(flags.argmax())
        raise _bad(column, values.index[pos], values.iloc[pos], what, hint)

def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:_SHOWN])
    return shown if len(names) <= _SHOWN else f"{shown} and {len(names) - _SHOWN} more"
