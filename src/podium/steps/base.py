"""What a step is: the registry, the two step kinds and the shared column helpers.

A *frame* step removes rows or whole columns at training time, before the split
(``apply(frame, target=...) -> StepResult``). A *transform* step is a scikit-learn
transformer fitted on the train split that lives inside each candidate's pipeline:
DataFrame in, DataFrame out, acting on the columns of its kind.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal, Protocol, runtime_checkable

import numpy as np
import pandas as pd
from pandas.api import types as ptypes
from pydantic import BaseModel, ConfigDict, ValidationError
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils.validation import check_is_fitted

from podium._internal.named import Named
from podium._internal.suggest import did_you_mean
from podium.data.types import as_text
from podium.errors import DataError, NotFoundError, SchemaError, SpecError

__all__ = [
    "StepParams",
    "StepResult",
    "FrameStep",
    "StepInfo",
    "step_registry",
    "register_step",
    "ColumnStep",
    "Kind",
    "column_kind",
    "as_text",
    "describe_error",
]

Kind = Literal["numeric", "categorical", "boolean", "datetime", "other"]


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

    name: str

    def apply(self, frame: pd.DataFrame, *, target: str) -> StepResult: ...


@dataclass(frozen=True)
class StepInfo:
    """A registered step: its kind, its parameter model and how to build it from them."""

    name: str
    kind: Literal["frame", "transform"]
    params: type[BaseModel]
    factory: Callable[[Any], Any]
    summary: str = ""


step_registry: Named[StepInfo] = Named("step", "podium.steps", error=NotFoundError)


def register_step(info: StepInfo, *, replace: bool = False) -> StepInfo:
    """Register a step under its name (plugins may also use the ``podium.steps`` entry points)."""
    return step_registry.register(info.name, info, replace=replace)


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


def percent(fraction: float) -> str:
    """0.951 → "95.1%", 1.0 → "100%": precise enough that a note never contradicts its threshold."""
    return f"{int(fraction * 1000) / 10:g}%"


def check_rows_left(frame: pd.DataFrame, step: str) -> None:
    """A frame step that leaves no rows is a data problem, said plainly."""
    if len(frame) == 0:
        raise DataError(f"{step} removed every row; nothing is left to train on.",
                        hint=f"loosen or remove the {step} step")


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
