"""Gradient-boosted trees: LightGBM, XGBoost and scikit-learn's histogram boosting.

LightGBM and XGBoost are wrapped by ``EarlyStoppedBooster``: it holds out a slice of the
training rows to find the number of trees, then refits on all rows with that number, and
stops at the trial's deadline. It also encodes class labels, so any label type works.
Histogram boosting grows its trees in rounds (``warm_start``) and stops at the deadline too.
"""

from __future__ import annotations

import warnings
from dataclasses import replace
from typing import Any, Mapping

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.model_selection import train_test_split
from sklearn.preprocessing import LabelEncoder

from podium._internal.lazy import require
from podium.candidates.base import Candidate, Choice, Float, Int, Tags, register_candidate
from podium.candidates.deadline import GrowsToDeadline, for_selection, past_deadline
from podium.candidates.device import booster_device_params, current_device

#: the trees a boosted model may grow in all: a round of a k-class model grows k trees, so it
#: gets 5,000 // k rounds. Early stopping on a multiclass log-loss that keeps improving by
#: crumbs ran LightGBM on digits (10 classes) to 3,921 rounds: 39,000 trees, 23 s of CPU and
#: +340 MB at the fit's peak, for the holdout accuracy it had at 250 rounds.
_MAX_TREES = 5000
_PATIENCE = 50


class EarlyStoppedBooster(BaseEstimator):  # type: ignore[misc]
    """Fit a LightGBM/XGBoost sklearn estimator with early stopping on an inner holdout, then
    (``refit``) again on every row with that many trees — but not in a trial (``for_selection``):
    its model is only scored, and the early-stopped one scores as well at half the time."""

    def __init__(self, booster: Any = None, *, validation_fraction: float = 0.1,
                 refit: bool = True, random_state: int = 0) -> None:
        self.booster = booster
        self.validation_fraction = validation_fraction
        self.refit = refit
        self.random_state = random_state

    @property
    def _is_classifier(self) -> bool:
        return getattr(self.booster, "_estimator_type", None) == "classifier" or \
            "Classifier" in type(self.booster).__name__

    def fit(self, X: Any, y: Any) -> EarlyStoppedBooster:
        X = _matrix(X)  # plain floats: column names with JSON characters upset LightGBM
        y = np.asarray(y)
        if self._is_classifier:
            self.label_encoder_ = LabelEncoder().fit(y)
            self.classes_ = self.label_encoder_.classes_
            y = self.label_encoder_.transform(y)
        stratify = y if self._is_classifier and np.bincount(y).min() >= 2 else None
        X_fit, X_val, y_fit, y_val = train_test_split(
            X, y, test_size=self.validation_fraction, random_state=self.random_state, stratify=stratify)
        model = clone(self.booster)
        model.set_params(n_estimators=max_rounds(model.get_params()["n_estimators"], self._trees_per_round()))
        self._fit_one(model, X_fit, y_fit, (X_val, y_val))
        self.best_iteration_ = max(1, self._best_iteration(model))
        if self.refit and not past_deadline() and not for_selection():
            model = clone(self.booster).set_params(n_estimators=int(self.best_iteration_ * 1.1) + 1)
            self._fit_one(model, X, y, None)
        self.model_ = model
        if hasattr(model, "n_features_in_"):
            self.n_features_in_ = model.n_features_in_
        return self

    def _trees_per_round(self) -> int:
        classes = len(getattr(self, "classes_", ()))
        return classes if classes > 2 else 1

    def _fit_one(self, model: Any, X: Any, y: Any, eval_set: tuple[Any, Any] | None) -> None:
        name = type(model).__module__.split(".")[0]
        if name == "lightgbm":
            lgb = require("lightgbm")
            callbacks = [_lightgbm_deadline]
            if eval_set is not None:
                callbacks.append(lgb.early_stopping(_PATIENCE, verbose=False))
            with warnings.catch_warnings():  # eval_set is renamed eval_X/eval_y in 4.7
                warnings.simplefilter("ignore", category=FutureWarning)
                warnings.simplefilter("ignore", category=DeprecationWarning)
                model.fit(X, y, eval_set=[eval_set] if eval_set else None, callbacks=callbacks)
        else:  # xgboost
            if eval_set is not None:
                model.set_params(early_stopping_rounds=_PATIENCE, callbacks=[_XGBoostDeadline()])
                model.fit(X, y, eval_set=[eval_set], verbose=False)
            else:
                model.set_params(early_stopping_rounds=None, callbacks=[_XGBoostDeadline()])
                model.fit(X, y, verbose=False)
            model.set_params(callbacks=None)  # the callback class is local: unpicklable

    @staticmethod
    def _best_iteration(model: Any) -> int:
        best = getattr(model, "best_iteration_", None)  # lightgbm
        if best is None:
            best = getattr(model, "best_iteration", None)  # xgboost
            best = None if best is None else best + 1
        return int(best or model.get_params()["n_estimators"])

    def predict(self, X: Any) -> np.ndarray:
        pred = self.model_.predict(_matrix(X))
        if self._is_classifier:
            return np.asarray(self.label_encoder_.inverse_transform(np.asarray(pred).astype(int)))
        return np.asarray(pred)

    def predict_proba(self, X: Any) -> np.ndarray:
        return np.asarray(self.model_.predict_proba(_matrix(X)))


def max_rounds(rounds: int | None, trees_per_round: int) -> int:
    """The boosting rounds a model may run: ``rounds``, within ``_MAX_TREES`` trees in all."""
    cap = max(1, _MAX_TREES // max(1, trees_per_round))
    return cap if rounds is None else min(int(rounds), cap)


def _matrix(X: Any) -> np.ndarray:
    return np.asarray(X, dtype=np.float64)


class BoostedClassifier(ClassifierMixin, EarlyStoppedBooster):  # type: ignore[misc]
    pass


class BoostedRegressor(RegressorMixin, EarlyStoppedBooster):  # type: ignore[misc]
    pass


def _lightgbm_deadline(env: Any) -> None:
    if past_deadline():
        lgb = require("lightgbm")
        raise lgb.callback.EarlyStopException(env.iteration, env.evaluation_result_list or [])


class _XGBoostDeadline:
    """An xgboost TrainingCallback (built lazily so xgboost is imported only when used)."""

    def __new__(cls) -> Any:
        require("xgboost")
        from xgboost.callback import TrainingCallback

        class Deadline(TrainingCallback):
            def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
                return past_deadline()

        return Deadline()


def _wrap(task: str, booster: Any, seed: int) -> Any:
    cls = BoostedRegressor if task == "regression" else BoostedClassifier
    return cls(booster, random_state=seed)


def _lightgbm(task: str, params: Mapping[str, Any], seed: int) -> Any:
    lgb = require("lightgbm")
    cls = lgb.LGBMRegressor if task == "regression" else lgb.LGBMClassifier
    booster = cls(**{"n_estimators": _MAX_TREES, "learning_rate": 0.05, "n_jobs": 1,
                     "verbosity": -1, **booster_device_params("lightgbm", current_device()), **params},
                  random_state=seed)
    return _wrap(task, booster, seed)


def _xgboost(task: str, params: Mapping[str, Any], seed: int) -> Any:
    xgb = require("xgboost")
    cls = xgb.XGBRegressor if task == "regression" else xgb.XGBClassifier
    booster = cls(**{"n_estimators": _MAX_TREES, "learning_rate": 0.05, "n_jobs": 1,
                     "tree_method": "hist", "max_depth": 6, **booster_device_params("xgboost", current_device()),
                     **params}, random_state=seed)
    return _wrap(task, booster, seed)


class DeadlineHistGradientBoostingClassifier(GrowsToDeadline, HistGradientBoostingClassifier):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of iterations to a fit deadline."""

    grows, first_round = "max_iter", 32


class DeadlineHistGradientBoostingRegressor(GrowsToDeadline, HistGradientBoostingRegressor):  # type: ignore[misc]
    """scikit-learn's, grown in rounds of iterations to a fit deadline."""

    grows, first_round = "max_iter", 32


def _hist_gradient_boosting(task: str, params: Mapping[str, Any], seed: int) -> Any:
    cls = DeadlineHistGradientBoostingRegressor if task == "regression" else DeadlineHistGradientBoostingClassifier
    return cls(**{"max_iter": 1000, "early_stopping": True, "validation_fraction": 0.1,
                  "n_iter_no_change": 30, **params}, random_state=seed)


# the shipped model's fit refits on every row with the trees found: about twice a trial's
# measured: LightGBM's converter ~1.7 MB/s, XGBoost's ~2.7 MB/s of pickle, skl2onnx's ~10 MB/s;
# on 2 threads (250,000 rows, 300 trees) LightGBM fits 1.57x, XGBoost 1.95x as fast as on one
_BOOSTED_TAGS = Tags(handles_missing=True, encoding="ordinal", respects_deadline=True, final_fit_factor=2.0,
                     compile_factor=6.0, parallel_share=0.7)
_ALL = frozenset({"binary", "multiclass", "regression"})

register_candidate(Candidate(
    name="lightgbm",
    tasks=_ALL,
    build=_lightgbm,
    presets=(
        {},
        {"learning_rate": 0.03, "num_leaves": 128, "min_child_samples": 5, "colsample_bytree": 0.9},
        {"learning_rate": 0.05, "num_leaves": 15, "min_child_samples": 10, "colsample_bytree": 0.7,
         "reg_lambda": 1.0},
        {"extra_trees": True, "num_leaves": 31, "colsample_bytree": 0.8},
    ),
    space={
        "learning_rate": Float(0.01, 0.2, log=True),
        "num_leaves": Int(4, 256, log=True),
        "min_child_samples": Int(2, 100, log=True),
        "colsample_bytree": Float(0.4, 1.0),
        "subsample": Float(0.5, 1.0),
        "subsample_freq": Choice((0, 1)),
        "reg_alpha": Float(1e-4, 10.0, log=True),
        "reg_lambda": Float(1e-4, 10.0, log=True),
    },
    tags=replace(_BOOSTED_TAGS, gpu="lightgbm"),
    summary="LightGBM with early stopping: usually the strongest single family on tables.",
))

register_candidate(Candidate(
    name="xgboost",
    tasks=_ALL,
    build=_xgboost,
    presets=({}, {"max_depth": 4, "learning_rate": 0.03, "subsample": 0.8, "colsample_bytree": 0.8}),
    space={
        "learning_rate": Float(0.01, 0.2, log=True),
        "max_depth": Int(2, 10),
        "min_child_weight": Float(0.5, 20.0, log=True),
        "subsample": Float(0.5, 1.0),
        "colsample_bytree": Float(0.4, 1.0),
        "reg_lambda": Float(1e-3, 10.0, log=True),
    },
    tags=replace(_BOOSTED_TAGS, gpu="xgboost"),
    summary="XGBoost (hist) with early stopping.",
))

register_candidate(Candidate(
    name="hist_gradient_boosting",
    tasks=_ALL,
    build=_hist_gradient_boosting,
    presets=({}, {"learning_rate": 0.05, "max_leaf_nodes": 63, "l2_regularization": 1.0}),
    space={
        "learning_rate": Float(0.01, 0.3, log=True),
        "max_leaf_nodes": Int(8, 128, log=True),
        "min_samples_leaf": Int(5, 100, log=True),
        "l2_regularization": Float(1e-4, 10.0, log=True),
    },
    tags=Tags(handles_missing=True, encoding="ordinal", respects_deadline=True,
              parallel_share=0.75),  # 1.67x as fast on 2 threads (250,000 rows)
    summary="scikit-learn's histogram gradient boosting, early-stopped; stops at the trial's deadline.",
))
