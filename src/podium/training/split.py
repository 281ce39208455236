"""Holdout splits: stratified for classes, time-ordered when a time column is named."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, ShuffleSplit, StratifiedKFold, StratifiedShuffleSplit

from podium.errors import DataError, SchemaError
from podium.spec import SplitSpec
from podium.training.budget import holdout_rows

__all__ = ["Split", "Positions", "holdout_split", "holdout_positions", "cv_folds"]


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
    if spec.time_column is not None and spec.time_column not in X.columns:
        raise SchemaError(f"split.time_column '{spec.time_column}' is not a column of the data.")
    times = X[spec.time_column] if spec.time_column is not None else None
    positions = holdout_positions(y, spec, task=task, times=times)
    train, test = positions.train, positions.test
    return Split(X.iloc[train], y.iloc[train], X.iloc[test], y.iloc[test], stratified=positions.stratified,
                 note=positions.note)


@dataclass(frozen=True)
class Positions:
    """The row positions of a holdout split (what ``holdout_split`` takes from the frame)."""

    train: np.ndarray
    test: np.ndarray
    stratified: bool
    note: str | None = None


def holdout_positions(y: pd.Series, spec: SplitSpec, *, task: str, times: pd.Series | None = None) -> Positions:
    """The positions ``holdout_split`` holds out, without taking any rows: ``times`` (the
    values of ``spec.time_column``) order a time split. The same split as scikit-learn's
    ``train_test_split`` gives with the same seed."""
    n = len(y)
    n_test = holdout_rows(n, spec.test_size, spec.max_test_rows)
    if n < 10 or n_test < 2 or n - n_test < 5:
        raise DataError(f"Only {n} usable rows: too few to train and hold out a test set.",
                        hint="provide more rows (at least a few dozen)")
    if times is not None:
        order = np.argsort(pd.to_datetime(times, errors="coerce").to_numpy(), kind="stable")
        return Positions(order[: n - n_test], order[n - n_test:], stratified=False,
                         note=f"held out the latest {n_test} rows by '{spec.time_column}'")
    stratify = None
    note = None
    if task != "regression":
        # the classes as sorted integer codes: the same split as the labels give, without
        # sorting millions of label objects
        codes = pd.factorize(y, sort=True)[0]
        counts = np.bincount(codes[codes >= 0])
        if counts.min() >= 2 and len(counts) <= n_test:
            stratify = codes
        else:
            note = "split not stratified: some class has fewer than 2 rows"
    if stratify is not None and n > DRAWN_ROWS:
        train, test = _drawn_per_class(stratify, counts, n_test, spec.seed)
        return Positions(train, test, stratified=True, note=note)
    # what train_test_split does, without copying the frame it would be given
    kind = StratifiedShuffleSplit if stratify is not None else ShuffleSplit
    splitter = kind(n_splits=1, test_size=n_test, train_size=n - n_test, random_state=spec.seed)
    train, test = next(splitter.split(np.zeros((n, 1)), stratify))
    return Positions(train, test, stratified=stratify is not None, note=note)


#: above this many rows a stratified holdout is drawn class by class (``_drawn_per_class``)
DRAWN_ROWS = 100_000


def _drawn_per_class(codes: np.ndarray, counts: np.ndarray, n_test: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A stratified holdout of ``n_test`` rows drawn directly: each class gives its share of
    them (largest remainders first), drawn at random among its rows. scikit-learn's splitter sorts
    and permutes every row of every class (seconds on millions of rows) for the same result in
    law. The train positions come shuffled, as a subsample takes the first of them."""
    rng = np.random.default_rng(seed)
    exact = counts * (n_test / counts.sum())
    take = np.floor(exact).astype(np.int64)
    short = n_test - int(take.sum())
    if short > 0:
        take[np.argsort(-(exact - take), kind="stable")[:short]] += 1
    take = np.minimum(take, counts - 1)
    by_class = np.argsort(codes.astype(np.int32 if len(counts) > 32_000 else np.int16), kind="stable")
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    test = np.concatenate([by_class[start + rng.choice(count, size=k, replace=False)]
                           for start, count, k in zip(starts, counts, take)])
    keep = np.ones(len(codes), dtype=bool)
    keep[test] = False
    return rng.permutation(np.flatnonzero(keep)), rng.permutation(test)


def cv_folds(y: pd.Series, k: int, *, task: str, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """k folds over the train part, stratified for classes when every class can be."""
    if task != "regression" and y.value_counts().min() >= k:
        return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y)), y))
    return list(KFold(k, shuffle=True, random_state=seed).split(np.zeros(len(y))))
