"""Column type inference: what kind of values each column holds.

The kind decides the default steps (impute how, encode or not, date parts) and the
input schema of a model package. Above ``INFER_ROWS`` rows the kinds are inferred on a seeded
random sample of that many rows; the verdicts a sample can get wrong (constant, boolean, an
integer key) are checked on every row.
"""

from __future__ import annotations

from enum import Enum

from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:  # pandas is imported where values are inferred: ColumnType alone needs none
    import pandas as pd

__all__ = ["INFER_ROWS", "ColumnType", "infer_column_type", "infer_column_types", "as_text", "as_categories"]


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
#: columns longer than this are inferred on a seeded random sample of this many rows
INFER_ROWS = 100_000


def infer_column_type(values: pd.Series, *, sample_rows: int = INFER_ROWS) -> ColumnType:
    """Infer one column's kind from its values (missing values ignored; a long column from a
    sample of ``sample_rows``, see the module's note)."""
    if len(values) <= sample_rows:
        return _infer(values)
    sample = values.iloc[_sample_positions(len(values), sample_rows)]
    return _checked(_infer(sample), sample, values)


def infer_column_types(frame: pd.DataFrame, *, sample_rows: int = INFER_ROWS,
                       drawn_from: int | None = None) -> dict[str, ColumnType]:
    """Infer every column's kind, in column order (a long frame from one sample of its rows).

    ``drawn_from``: the frame's rows were drawn at random from that many (a run's
    ``budget.max_rows``); an integer key then spans the source's rows, not the frame's, and is
    a key all the same."""
    spread = max(1.0, drawn_from / len(frame)) if drawn_from and len(frame) else 1.0
    if len(frame) <= sample_rows:
        return {str(c): _infer(frame[c], spread) for c in frame.columns}
    sample = frame.iloc[_sample_positions(len(frame), sample_rows)]
    return {str(c): _checked(_infer(sample[c], spread), sample[c], frame[c], spread) for c in frame.columns}


def _sample_positions(n: int, size: int) -> np.ndarray:
    """About ``size`` distinct row positions out of ``n``, in order, the same on every call."""
    return np.unique(np.random.default_rng(0).integers(0, n, size=size))


def _checked(kind: ColumnType, sample: pd.Series, values: pd.Series, spread: float = 1.0) -> ColumnType:
    """A sample's verdict, or the whole column's where the rows left out could change it: a
    value the sample missed makes a constant vary, a two-valued column take a third, a key
    repeat (or integers distinct in the sample be a key whose span only every row shows)."""
    from pandas.api import types as ptypes

    distinct_integers = ptypes.is_integer_dtype(sample) and sample.is_unique
    if kind is ColumnType.CONSTANT or (kind is ColumnType.BOOLEAN and not ptypes.is_bool_dtype(values)) \
            or (kind is ColumnType.ID and ptypes.is_numeric_dtype(values)) or distinct_integers:
        return _infer(values, spread)
    if kind in (ColumnType.ID, ColumnType.TEXT):  # a code of many levels, or a key: count them all
        n, distinct = int(values.count()), int(values.nunique())
        return kind if distinct == n or distinct > max(50, _MAX_CATEGORIES_RATIO * n) else ColumnType.CATEGORICAL
    return kind


def _infer(values: pd.Series, spread: float = 1.0) -> ColumnType:
    """``spread``: how many source rows each of ``values``'s rows stands for (rows drawn at random)."""
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
        if ptypes.is_integer_dtype(present) and distinct == n and n >= 20 and _is_sequence(present, spread):
            return ColumnType.ID
        return ColumnType.NUMERIC
    if _parses_as_dates(present.head(200).astype(str)):  # it looks at 200 values: text only those
        return ColumnType.DATETIME
    if distinct == n and n >= 20:
        return ColumnType.ID
    if distinct > max(50, _MAX_CATEGORIES_RATIO * n):
        return ColumnType.TEXT if present.astype(str).str.len().mean() > 30 else ColumnType.ID
    return ColumnType.CATEGORICAL


def _looks_boolean(present: pd.Series) -> bool:
    lowered = {str(v).strip().lower() for v in present.unique()}
    return lowered <= {"true", "false"} or lowered <= {"yes", "no"} or lowered <= {"t", "f"}


def _is_sequence(present: pd.Series, spread: float = 1.0) -> bool:
    """An integer key: unique and (nearly) consecutive, e.g. 1..n — of the source's rows, where
    each row here stands for ``spread`` of them."""
    span = int(present.max()) - int(present.min()) + 1
    return span <= 1.1 * len(present) * spread


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


def as_categories(values: pd.Series) -> pd.Series:
    """``as_text(values).fillna("")`` (the typed form of a category column) held compactly: a
    pandas categorical over the sorted distinct texts ("" for missing), so a column of millions
    of rows costs a small integer a row and its text is worked out once per distinct value."""
    import pandas as pd

    if isinstance(values.dtype, pd.CategoricalDtype):  # its codes already: no hashing of every row
        codes, uniques = values.cat.codes.to_numpy(), values.cat.categories
    else:
        codes, uniques = pd.factorize(values)
    texts = as_text(pd.Series(uniques, dtype=values.dtype if len(uniques) else object)).to_numpy(dtype=object)
    if (codes < 0).any():
        texts = np.append(texts, "")
        codes = np.where(codes < 0, len(texts) - 1, codes)
    inverse, categories = pd.factorize(texts, sort=True)
    small = np.int8 if len(inverse) < 127 else np.int16 if len(inverse) < 32_767 else np.int32
    typed = pd.Categorical.from_codes(np.asarray(inverse, dtype=small)[codes],
                                      categories=pd.Index(categories, dtype=object))
    return pd.Series(typed, index=values.index, name=values.name)
