"""``impute``: fill missing values with what was learned on the train split (``SimpleImputer``)."""

from __future__ import annotations

from typing import Any, ClassVar, Literal

from pydantic import Field
from sklearn.base import TransformerMixin
from sklearn.impute import MissingIndicator, SimpleImputer
from sklearn.pipeline import FeatureUnion

from podium.steps.base import StepInfo, register_step
from podium.steps.compose import ColumnStep, Kind

__all__ = ["ImputeParams", "MISSING_TEXT"]

#: how a typed frame writes a missing category
MISSING_TEXT = ""


class ImputeParams(ColumnStep):
    """Fill missing values: numbers by a statistic, categories by the most frequent one."""

    step_name: ClassVar[str] = "impute"
    picks: ClassVar[tuple[Kind, ...]] = ("numeric", "categorical")
    accepts: ClassVar[tuple[Kind, ...]] = ("numeric", "categorical", "datetime")

    numeric: Literal["mean", "median", "most_frequent", "constant"] = Field(
        "median", description="how to fill numeric and boolean columns")
    categorical: Literal["most_frequent", "constant"] = Field(
        "most_frequent", description="how to fill categorical columns")
    fill_value: float = Field(0.0, description="the number used when numeric is 'constant'")
    fill_category: str = Field("missing", description="the category used when categorical is 'constant'")
    add_indicator: bool = Field(
        False, description="add a 0/1 'missingindicator_<column>' column for each numeric column "
                           "that had missing values in training")
    columns: list[str] | None = Field(None, description="only these columns; all numeric and categorical "
                                                        "columns when omitted")

    def transformer(self, kind: Kind) -> TransformerMixin:
        if kind == "categorical":
            # a column empty in training: filled with fill_category, or dropped (most_frequent
            # has nothing to fill it with; scikit-learn would put the number 0 in a text column)
            return SimpleImputer(missing_values=MISSING_TEXT, strategy=self.categorical,
                                 fill_value=self.fill_category,
                                 keep_empty_features=self.categorical == "constant")
        values = SimpleImputer(strategy=self.numeric, fill_value=self.fill_value, keep_empty_features=True)
        if not self.add_indicator:
            return values
        return FeatureUnion([("values", values),
                             ("missing", MissingIndicator(features="missing-only", error_on_new=False))],
                            verbose_feature_names_out=False)


register_step(StepInfo(
    name="impute", kind="transform", params=ImputeParams, factory=lambda p: p,
    summary="fill missing values (statistics learned on the train split)",
))


def __getattr__(name: str) -> Any:
    """podium 0.1.0 pickled its impute step here: Impute resolves to the frozen legacy class."""
    if name in ("Impute",):
        from podium.steps import legacy

        return getattr(legacy, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
