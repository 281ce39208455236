"""podium 0.1.0's transform steps, frozen: kept only so that model packages it wrote still load and score.

Those packages pickled these classes under ``podium.steps.impute.Impute``,
``podium.steps.encode.OneHot`` / ``OrdinalEncode``, ``podium.steps.scale.Scale``,
``podium.steps.dates.DateParts`` and ``podium.steps.outliers.ClipOutliers``; those names
resolve here. New pipelines never use them: the steps are configured
scikit-learn transformers now (``podium.steps.compose``). Do not change their behaviour.
"""

# ruff: noqa
# mypy: ignore-errors
from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Any, ClassVar, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted

from podium._internal.suggest import did_you_mean
from podium.data.types import as_text
from podium.errors import SchemaError, SpecError
from podium.steps.base import describe_error

__all__ = ["ClipOutliers", "DateParts", "Impute", "OneHot", "OrdinalEncode", "Scale"]

Kind = Literal["numeric", "categorical", "boolean", "datetime", "other"]


class StepParams(BaseModel):
    model_config = ConfigDict(extra="forbid")


def column_kind(values: pd.Series) -> Kind:
    """The kind of a column from its dtype alone (what transform steps decide on at fit)."""
    dtype = values.dtype
    if ptypes.is_bool_dtype(dtype):
        return "boolean"
    if ptypes.is_datetime64_any_dtype(dtype):
        return "datetime"
    if ptypes.is_timedelta64_dtype(dtype) or isinstance(dtype, pd.PeriodDtype):
        return "other"
    if ptypes.is_numeric_dtype(dtype):
        return "numeric"
    return "categorical"


class ColumnStep(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Base of podium's transform steps.

    Subclasses declare ``step_name``, ``params_model``, the column ``kinds`` they pick
    by themselves and the kinds they accept when named in ``columns``; they implement
    ``_learn`` (fit state on the chosen columns, returning the output names of each)
    and ``_apply`` (the replacement block of each chosen column). This base keeps the
    untouched columns, checks the input columns and builds the output frame.
    """

    step_name: ClassVar[str]
    params_model: ClassVar[type[StepParams]]
    kinds: ClassVar[tuple[Kind, ...]]
    named_kinds: ClassVar[tuple[Kind, ...]]

    columns: list[str] | None

    # -- scikit-learn API ------------------------------------------------------------

    def fit(self, X: pd.DataFrame, y: Any = None) -> ColumnStep:
        self._check_params()
        frame = self._frame(X, fitted=False)
        self.feature_names_in_ = np.asarray(list(frame.columns), dtype=object)
        self.n_features_in_ = frame.shape[1]
        chosen = self._choose(frame)
        names = self._learn(frame, chosen)
        self.columns_ = chosen
        out: list[Hashable] = []
        for column in frame.columns:
            out.extend(names[column] if column in names else [column])
        self.feature_names_out_ = _unique(out)
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        check_is_fitted(self, "feature_names_out_")
        frame = self._frame(X, fitted=True)
        blocks = self._apply(frame)
        arrays: list[Any] = []
        for column in self.feature_names_in_:
            block = blocks.get(column)
            if block is None:
                arrays.append(frame[column].array)
            elif isinstance(block, np.ndarray) and block.ndim == 2:
                arrays.extend(block.T)
            else:
                arrays.append(block.array if isinstance(block, pd.Series) else block)
        return pd.DataFrame(dict(zip(self.feature_names_out_, arrays)), index=frame.index)

    def get_feature_names_out(self, input_features: Any = None) -> np.ndarray:
        check_is_fitted(self, "feature_names_out_")
        return np.asarray([str(n) for n in self.feature_names_out_], dtype=object)

    # -- for subclasses ----------------------------------------------------------------

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        raise NotImplementedError

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        raise NotImplementedError

    def _picks(self, frame: pd.DataFrame, column: Hashable, kind: Kind) -> bool:
        """Whether an unnamed column of this kind is one this step acts on."""
        return kind in self.kinds

    # -- helpers -----------------------------------------------------------------------

    def _check_params(self) -> None:
        try:
            self.params_model.model_validate(self.get_params(deep=False))
        except ValidationError as exc:
            where, what = describe_error(exc.errors()[0], self.params_model.model_fields)
            raise SpecError(f"{self.step_name}{'.' + where if where else ''}: {what}") from None

    def _frame(self, X: Any, *, fitted: bool) -> pd.DataFrame:
        if not isinstance(X, pd.DataFrame):
            names = getattr(self, "feature_names_in_", None) if fitted else None
            X = pd.DataFrame(X, columns=list(names) if names is not None else None)
        if not fitted:
            if X.columns.has_duplicates:
                dup = sorted({str(c) for c in X.columns[X.columns.duplicated()]})
                raise SchemaError(f"{self.step_name}: duplicate column names {dup}.")
            return X
        expected = list(self.feature_names_in_)
        if list(X.columns) == expected:
            return X
        missing = [c for c in expected if c not in X.columns]
        if missing:
            raise SchemaError(
                f"{self.step_name}: the input lacks column(s) {', '.join(map(repr, missing))} "
                "that the step was fitted with.",
                hint="send every column of the input schema (null where unknown)",
            )
        return X[expected]

    def _choose(self, frame: pd.DataFrame) -> list[Hashable]:
        if self.columns is None:
            return [c for c in frame.columns if self._picks(frame, c, column_kind(frame[c]))]
        require_columns(frame, self.columns, self.step_name)
        chosen: list[Hashable] = []
        for column in self.columns:
            kind = column_kind(frame[column])
            if kind not in self.named_kinds:
                raise SchemaError(
                    f"{self.step_name}: column '{column}' is {kind}; "
                    f"{self.step_name} acts on {' or '.join(self.named_kinds)} columns."
                )
            chosen.append(column)
        return chosen


def require_columns(frame: pd.DataFrame, columns: Iterable[Hashable], step: str) -> None:
    """Every named column is in the frame, or a SchemaError with the closest name."""
    for column in columns:
        if column not in frame.columns:
            raise SchemaError(
                f"{step}: '{column}' is not a column. "
                f"{did_you_mean(str(column), map(str, frame.columns))}".rstrip()
            )



def _unique(names: list[Hashable]) -> list[Hashable]:
    """Output names made unique (a category may repeat a passthrough column's name)."""
    seen: set[Hashable] = set()
    out: list[Hashable] = []
    for name in names:
        candidate, n = name, 1
        while candidate in seen:
            n += 1
            candidate = f"{name}_{n}"
        seen.add(candidate)
        out.append(candidate)
    return out


# -- impute --

class ImputeParams(StepParams):
    """Fill missing values: numbers by a statistic, categories by the most frequent one."""

    numeric: Literal["mean", "median", "most_frequent", "constant"] = Field(
        "median", description="how to fill numeric columns")
    categorical: Literal["most_frequent", "constant"] = Field(
        "most_frequent", description="how to fill categorical and boolean columns")
    fill_value: float = Field(0.0, description="the number used when numeric is 'constant'")
    fill_category: str = Field("missing", description="the category used when categorical is 'constant'")
    add_indicator: bool = Field(
        False, description="add a 0/1 '<column>_missing' column for each numeric column "
                           "that had missing values in training")
    columns: list[str] | None = Field(None, description="only these columns; all that fit when omitted")


class Impute(ColumnStep):
    """Fill missing values; numeric columns come out as float, categorical ones as strings."""

    step_name = "impute"
    params_model = ImputeParams
    kinds: tuple[Kind, ...] = ("numeric", "categorical", "boolean")
    named_kinds: tuple[Kind, ...] = ("numeric", "categorical", "boolean")

    def __init__(
        self,
        *,
        numeric: str = "median",
        categorical: str = "most_frequent",
        fill_value: float = 0.0,
        fill_category: str = "missing",
        add_indicator: bool = False,
        columns: list[str] | None = None,
    ) -> None:
        self.numeric = numeric
        self.categorical = categorical
        self.fill_value = fill_value
        self.fill_category = fill_category
        self.add_indicator = add_indicator
        self.columns = columns

    def _picks(self, frame: pd.DataFrame, column: Hashable, kind: Kind) -> bool:
        # a plain bool column cannot hold a missing value; leave its dtype alone
        return kind in self.kinds and frame[column].dtype != np.bool_

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        numeric = [c for c in columns if column_kind(frame[c]) == "numeric"]
        numbers = frame[numeric].astype("float64")
        if self.numeric == "mean":
            fills = numbers.mean()
        elif self.numeric == "median":
            fills = numbers.median()
        elif self.numeric == "most_frequent":
            fills = pd.Series({c: _mode(numbers[c]) for c in numeric}, dtype="float64")
        else:
            fills = pd.Series(self.fill_value, index=numeric, dtype="float64")
        self.numeric_columns_ = numeric
        # a column empty in training is filled with fill_value rather than dropped
        self.numeric_fill_ = fills.reindex(numeric).fillna(self.fill_value).to_numpy("float64")
        had_missing = numbers.isna().any()
        self.indicator_columns_ = [c for c in numeric if self.add_indicator and had_missing[c]]
        self.categorical_fill_: dict[Hashable, Any] = {}
        for c in columns:
            if c not in numeric:
                text = as_text(frame[c])
                mode = _mode(text) if self.categorical == "most_frequent" else None
                self.categorical_fill_[c] = self.fill_category if mode is None else mode
        return {c: [c, f"{c}_missing"] for c in self.indicator_columns_}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        if self.numeric_columns_:
            values = frame[self.numeric_columns_].to_numpy(dtype="float64", na_value=np.nan)
            missing = np.isnan(values)
            filled = np.where(missing, self.numeric_fill_, values)
            indicated = set(self.indicator_columns_)
            for i, c in enumerate(self.numeric_columns_):
                if c in indicated:
                    blocks[c] = np.column_stack([filled[:, i], missing[:, i].astype("float64")])
                else:
                    blocks[c] = filled[:, i]
        for c, fill in self.categorical_fill_.items():
            blocks[c] = as_text(frame[c]).fillna(fill)
        return blocks


def _mode(values: pd.Series) -> Any:
    """The most frequent present value (the smallest on a tie), None when all are missing."""
    modes = values.mode(dropna=True)
    return None if modes.empty else modes.iloc[0]



# -- encode --

_ANY_KIND: tuple[Kind, ...] = ("numeric", "categorical", "boolean", "datetime")


class OneHotParams(StepParams):
    """One 0/1 column per category; rare categories share '<column>_other'."""

    max_categories: int | None = Field(
        20, ge=2, description="columns per feature at most: the most frequent categories keep "
                              "their own, the rest share '<column>_other'; no limit when null")
    missing: Literal["indicator", "zeros"] = Field(
        "indicator", description="a missing value: its own '<column>_missing' column "
                                 "(when training had any), or all zeros")
    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical and boolean columns when omitted")


class OrdinalEncodeParams(StepParams):
    """One integer column per feature: categories numbered by frequency."""

    columns: list[str] | None = Field(
        None, description="only these columns (numbers are then treated as categories); "
                          "all categorical and boolean columns when omitted")


# characters some estimators refuse in feature names (LightGBM: JSON ones; XGBoost: [ ] <)
_UNSAFE = re.compile(r'[\[\]<>{}":,\\]')


def _name(column: Hashable, category: str) -> str:
    """The output column of one category, safe as a feature name for every estimator."""
    return f"{column}_{_UNSAFE.sub('_', category)}"


def _by_frequency(text: pd.Series) -> list[str]:
    """Present categories, most frequent first; ties in string order so fits are reproducible."""
    counts = text.value_counts(dropna=True)
    return [str(k) for k, _ in sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))]


class OneHot(ColumnStep):
    """One-hot encoding. A category unseen in training gives all zeros."""

    step_name = "one_hot"
    params_model = OneHotParams
    kinds: tuple[Kind, ...] = ("categorical", "boolean")
    named_kinds = _ANY_KIND

    def __init__(self, *, max_categories: int | None = 20, missing: str = "indicator",
                 columns: list[str] | None = None) -> None:
        self.max_categories = max_categories
        self.missing = missing
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.categories_: dict[Hashable, list[str]] = {}
        self.infrequent_: dict[Hashable, list[str]] = {}
        self.missing_column_: dict[Hashable, bool] = {}
        self.lookup_: dict[Hashable, pd.Index] = {}
        names: dict[Hashable, list[Hashable]] = {}
        for c in columns:
            text = as_text(frame[c])
            ordered = _by_frequency(text)
            cut = len(ordered)
            if self.max_categories is not None and len(ordered) > self.max_categories:
                cut = self.max_categories - 1  # one column left for '<column>_other'
            kept, rare = ordered[:cut], ordered[cut:]
            self.categories_[c], self.infrequent_[c] = kept, rare
            self.lookup_[c] = pd.Index(kept + rare, dtype=object)
            self.missing_column_[c] = self.missing == "indicator" and bool(text.isna().any())
            names[c] = ([_name(c, k) for k in kept] + ([f"{c}_other"] if rare else [])
                        + ([f"{c}_missing"] if self.missing_column_[c] else []))
        return names

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        n = len(frame)
        for c, kept in self.categories_.items():
            rare = self.infrequent_[c]
            text = as_text(frame[c])
            codes = self.lookup_[c].get_indexer(text)
            width = len(kept) + bool(rare) + self.missing_column_[c]
            block = np.zeros((n, width), dtype="float64")
            rows = np.flatnonzero(codes >= 0)
            block[rows, np.minimum(codes[rows], len(kept))] = 1.0
            if self.missing_column_[c]:
                block[text.isna().to_numpy(), width - 1] = 1.0
            blocks[c] = block
        return blocks


class OrdinalEncode(ColumnStep):
    """Categories → 0, 1, 2… by frequency; unseen → -1; missing stays NaN for models that use it."""

    step_name = "ordinal_encode"
    params_model = OrdinalEncodeParams
    kinds: tuple[Kind, ...] = ("categorical", "boolean")
    named_kinds = _ANY_KIND

    def __init__(self, *, columns: list[str] | None = None) -> None:
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.categories_ = {c: _by_frequency(as_text(frame[c])) for c in columns}
        self.lookup_ = {c: pd.Index(cats, dtype=object) for c, cats in self.categories_.items()}
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        for c, lookup in self.lookup_.items():
            text = as_text(frame[c])
            codes = lookup.get_indexer(text).astype("float64")
            codes[text.isna().to_numpy()] = np.nan
            blocks[c] = codes
        return blocks



# -- scale --

_SCALERS = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}


class ScaleParams(StepParams):
    """Scale numeric columns; missing values stay missing."""

    method: Literal["standard", "minmax", "robust"] = Field(
        "standard", description="standard: mean 0, variance 1; minmax: to [0, 1]; "
                                "robust: median 0, interquartile range 1")
    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")


class Scale(ColumnStep):
    """Scale numeric columns with the statistics of the train split."""

    step_name = "scale"
    params_model = ScaleParams
    kinds: tuple[Kind, ...] = ("numeric",)
    named_kinds: tuple[Kind, ...] = ("numeric",)

    def __init__(self, *, method: str = "standard", columns: list[str] | None = None) -> None:
        self.method = method
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.scaled_columns_ = columns
        self.scaler_ = _SCALERS[self.method]().fit(_numbers(frame, columns)) if columns else None
        if self.scaler_ is not None:
            # every scaler is x * factor + offset; applied directly, a request skips sklearn's checks
            zero = np.zeros((1, len(columns)))
            self.offset_ = self.scaler_.transform(zero)[0]
            self.factor_ = self.scaler_.transform(zero + 1)[0] - self.offset_
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        if self.scaler_ is None:
            return {}
        scaled = _numbers(frame, self.scaled_columns_) * self.factor_ + self.offset_
        return {c: scaled[:, i] for i, c in enumerate(self.scaled_columns_)}


def _numbers(frame: pd.DataFrame, columns: list[Hashable]) -> Any:
    return frame[columns].to_numpy(dtype="float64", na_value=float("nan"))



# -- clip_outliers --

class ClipOutliersParams(StepParams):
    """Cap numeric values at quantiles (or Tukey fences) of the train split."""

    method: Literal["quantile", "iqr"] = Field(
        "quantile", description="quantile: cap at the lower/upper quantiles; "
                                "iqr: cap at Q1 - factor·IQR and Q3 + factor·IQR")
    lower: float = Field(0.01, ge=0, le=1, description="quantile method: the lower quantile")
    upper: float = Field(0.99, ge=0, le=1, description="quantile method: the upper quantile")
    factor: float = Field(1.5, gt=0, description="iqr method: how many IQRs beyond the quartiles")
    columns: list[str] | None = Field(None, description="only these numeric columns; all when omitted")

    @model_validator(mode="after")
    def _ordered(self) -> ClipOutliersParams:
        if self.lower >= self.upper:
            raise ValueError(f"lower ({self.lower}) must be below upper ({self.upper})")
        return self


class ClipOutliers(ColumnStep):
    """Clip numeric columns to bounds fitted on train; missing values stay missing."""

    step_name = "clip_outliers"
    params_model = ClipOutliersParams
    kinds: tuple[Kind, ...] = ("numeric",)
    named_kinds: tuple[Kind, ...] = ("numeric",)

    def __init__(self, *, method: str = "quantile", lower: float = 0.01, upper: float = 0.99,
                 factor: float = 1.5, columns: list[str] | None = None) -> None:
        self.method = method
        self.lower = lower
        self.upper = upper
        self.factor = factor
        self.columns = columns

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        numbers = frame[columns].astype("float64")
        if self.method == "quantile":
            low, high = numbers.quantile(self.lower), numbers.quantile(self.upper)
        else:
            q1, q3 = numbers.quantile(0.25), numbers.quantile(0.75)
            low, high = q1 - self.factor * (q3 - q1), q3 + self.factor * (q3 - q1)
        self.clipped_columns_ = columns
        # a column empty in training has no bounds: leave it unclipped
        self.lower_ = low.reindex(columns).fillna(-np.inf).to_numpy("float64")
        self.upper_ = high.reindex(columns).fillna(np.inf).to_numpy("float64")
        return {}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        if not self.clipped_columns_:
            return {}
        values = frame[self.clipped_columns_].to_numpy(dtype="float64", na_value=np.nan)
        clipped = np.clip(values, self.lower_, self.upper_)
        return {c: clipped[:, i] for i, c in enumerate(self.clipped_columns_)}



# -- date_parts --

Part = Literal["year", "month", "day", "dayofweek", "hour"]
ALL_PARTS: tuple[Part, ...] = ("year", "month", "day", "dayofweek", "hour")
_DATE_LIKE = r"\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}"


class DatePartsParams(StepParams):
    """Replace each date column by numeric parts; the original column is dropped."""

    parts: tuple[Part, ...] = Field(
        ALL_PARTS, min_length=1,
        description="the parts to extract; 'hour' only where training dates had a time of day")
    columns: list[str] | None = Field(
        None, description="only these columns; datetime columns and strings that parse as dates "
                          "when omitted")


class DateParts(ColumnStep):
    """Dates → float columns '<column>_<part>'; a missing or unparseable date gives NaN parts."""

    step_name = "date_parts"
    params_model = DatePartsParams
    kinds: tuple[Kind, ...] = ("datetime", "categorical")
    named_kinds: tuple[Kind, ...] = ("datetime", "categorical")

    def __init__(self, *, parts: tuple[str, ...] = ALL_PARTS, columns: list[str] | None = None) -> None:
        self.parts = parts
        self.columns = columns

    def _picks(self, frame: pd.DataFrame, column: Hashable, kind: Kind) -> bool:
        return kind == "datetime" or (kind == "categorical" and _looks_like_dates(frame[column]))

    def _learn(self, frame: pd.DataFrame, columns: list[Hashable]) -> dict[Hashable, list[Hashable]]:
        self.parts_: dict[Hashable, list[str]] = {}
        for c in columns:
            dates = to_datetimes(frame[c])
            if dates.notna().sum() == 0 and frame[c].notna().any():
                raise SchemaError(f"date_parts: column '{c}' holds no values that parse as dates.",
                                  hint="remove it from date_parts' columns")
            has_time = bool(((dates.dt.hour != 0) | (dates.dt.minute != 0) | (dates.dt.second != 0)).any())
            self.parts_[c] = [p for p in self.parts if p != "hour" or has_time]
        return {c: [f"{c}_{p}" for p in parts] for c, parts in self.parts_.items()}

    def _apply(self, frame: pd.DataFrame) -> dict[Hashable, Any]:
        blocks: dict[Hashable, Any] = {}
        for c, parts in self.parts_.items():
            dates = to_datetimes(frame[c])
            block = np.empty((len(frame), len(parts)), dtype="float64")
            for j, part in enumerate(parts):
                block[:, j] = getattr(dates.dt, part).to_numpy(dtype="float64", na_value=np.nan)
            blocks[c] = block
        return blocks


def to_datetimes(values: pd.Series) -> pd.Series:
    """Datetimes from a datetime column or from strings; what does not parse becomes NaT."""
    if ptypes.is_datetime64_any_dtype(values.dtype):
        return values
    text = as_text(values)
    present = int(text.notna().sum())
    try:
        dates = pd.to_datetime(text, errors="coerce", format="ISO8601")
        if int(dates.notna().sum()) < present:  # not all ISO 8601: the slower general parser
            dates = pd.to_datetime(text, errors="coerce", format="mixed")
    except (ValueError, TypeError):  # mixed UTC offsets: compare them in UTC
        dates = pd.to_datetime(text, errors="coerce", format="mixed", utc=True)
    return dates


def _looks_like_dates(values: pd.Series) -> bool:
    sample = as_text(values.dropna().head(200))
    if sample.empty or not sample.str.contains(_DATE_LIKE, regex=True).all():
        return False
    return bool(to_datetimes(sample).notna().mean() > 0.9)
