"""Column type inference: what kind of values each column holds.

The kind decides the default steps (impute how, encode or not, date parts) and the
input schema of a model package.
"""

from __future__ import annotations

from enum import Enum

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where values are inferred: ColumnType alone needs none
    import pandas as pd

__all__ = ["ColumnType", "infer_column_type", "infer_column_types", "as_text"]


class ColumnType(str, Enum):
    NUMERIC = "numeric"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    DATETIME = "datetime"
    TEXT = "text"  # free text: many distinct long strings
    ID = "id"  # a unique key per row: carries no signal, dropped by default
    CONSTANT = "constant"  # a single value (or none): dropped by default

    def __str__(self) -> str:
        return self.value


_MAX_CATEGORIES_RATIO = 0.5


def infer_column_type(values: pd.Series) -> ColumnType:
    """Infer one column's kind from its values (missing values ignored)."""
    from pandas.api import types as ptypes

    present = values.dropna()
    n = len(present)
    distinct = present.nunique()
    if distinct <= 1:
        return ColumnType.CONSTANT
    if ptypes.is_bool_dtype(values) or (distinct == 2 and _looks_boolean(present)):
        return ColumnType.BOOLEAN
    if ptypes.is_datetime64_any_dtype(values):
        return ColumnType.DATETIME
    if ptypes.is_numeric_dtype(values):
        if ptypes.is_integer_dtype(present) and distinct == n and n >= 20 and _is_sequence(present):
            return ColumnType.ID
        return ColumnType.NUMERIC
    if _parses_as_dates(present.head(200).astype(str)):  # it looks at 200 values: text only those
        return ColumnType.DATETIME
    if distinct == n and n >= 20:
        return ColumnType.ID
    if distinct > max(50, _MAX_CATEGORIES_RATIO * n):
        return ColumnType.TEXT if present.astype(str).str.len().mean() > 30 else ColumnType.ID
    return ColumnType.CATEGORICAL


def infer_column_types(frame: pd.DataFrame) -> dict[str, ColumnType]:
    """Infer every column's kind, in column order."""
    return {str(c): infer_column_type(frame[c]) for c in frame.columns}


def _looks_boolean(present: pd.Series) -> bool:
    lowered = {str(v).strip().lower() for v in present.unique()}
    return lowered <= {"true", "false"} or lowered <= {"yes", "no"} or lowered <= {"t", "f"}


def _is_sequence(present: pd.Series) -> bool:
    """An integer key: unique and (nearly) consecutive, e.g. 1..n."""
    span = int(present.max()) - int(present.min()) + 1
    return span <= 1.1 * len(present)


def _parses_as_dates(text: pd.Series) -> bool:
    sample = text.head(200)
    if not sample.str.contains(r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}", regex=True).all():
        return False
    import pandas as pd

    parsed = pd.to_datetime(sample, errors="coerce", format="mixed")
    return bool(parsed.notna().mean() > 0.9)


def as_text(values: pd.Series) -> pd.Series:
    """Categories as strings, missing kept missing: training and serving must agree.

    ``1``, ``1.0`` and ``"1"`` all become ``"1"`` so numbers that arrive as strings
    (or as floats after a missing value) meet the categories seen in training.
    """
    import pandas as pd
    from pandas.api import types as ptypes

    missing = values.isna()
    if ptypes.is_float_dtype(values.dtype) and not missing.all():
        present = values[~missing]
        if (present == np.round(present)).all() and present.abs().max() < 2**53:
            values = values.astype("Int64")
    # the text of each distinct value, then spread over the rows: a column of a million rows
    # holds a few thousand distinct values at most (else it is an id or free text)
    codes, uniques = pd.factorize(values)
    if len(uniques) == 0:  # every value missing
        return pd.Series(np.full(len(values), np.nan, dtype=object), index=values.index, name=values.name)
    text = pd.Series(uniques).astype(str)
    if text.str.endswith(".0").any():
        text = text.str.replace(r"^(-?\d+)\.0$", r"\1", regex=True)
    out = text.iloc[np.maximum(codes, 0)]
    out.index, out.name = values.index, values.name
    if (codes < 0).any():
        out = out.where(codes >= 0)
    return out
