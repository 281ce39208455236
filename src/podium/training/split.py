"""Holdout splits: stratified for classes, time-ordered when a time column is named."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold, train_test_split

from podium.errors import DataError, SchemaError
from podium.spec import SplitSpec
from podium.training.budget import holdout_rows

__all__ = ["Split", "holdout_split", "cv_folds"]


@dataclass(frozen=True)
class Split:
    X_train: pd.DataFrame
    y_train: pd.Series
    X_test: pd.DataFrame
    y_test: pd.Series
    stratified: bool
    note: str | None = None


def holdout_split(X: pd.DataFrame, y: pd.Series, spec: SplitSpec, *, task: str) -> Split:
    """Hold out ``spec.test_size`` of the rows (at most ``spec.max_test_rows``): the latest by
    ``time_column``, else at random."""
    n = len(X)
    n_test = holdout_rows(n, spec.test_size, spec.max_test_rows)
    if n < 10 or n_test < 2 or n - n_test < 5:
        raise DataError(f"Only {n} usable rows: too few to train and hold out a test set.",
                        hint="provide more rows (at least a few dozen)")
    if spec.time_column is not None:
        if spec.time_column not in X.columns:
            raise SchemaError(f"split.time_column '{spec.time_column}' is not a column of the data.")
        order = np.argsort(pd.to_datetime(X[spec.time_column], errors="coerce").to_numpy(), kind="stable")
        train_idx, test_idx = order[: n - n_test], order[n - n_test:]
        return Split(X.iloc[train_idx], y.iloc[train_idx], X.iloc[test_idx], y.iloc[test_idx],
                     stratified=False, note=f"held out the latest {n_test} rows by '{spec.time_column}'")
    stratify = None
    note = None
    if task != "regression":
        counts = y.value_counts()
        if counts.min() >= 2 and len(counts) <= n_test:
            # the classes as sorted integer codes: the same split as the labels give, without
            # sorting millions of label objects
            stratify = pd.factorize(y, sort=True)[0]
        else:
            note = "split not stratified: some class has fewer than 2 rows"
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=n_test, random_state=spec.seed, stratify=stratify)
    return Split(X_train, y_train, X_test, y_test, stratified=stratify is not None, note=note)


def cv_folds(y: pd.Series, k: int, *, task: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds over the train part, stratified for classes when every class can be."""
    if task != "regression" and y.value_counts().min() >= k:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y))))
