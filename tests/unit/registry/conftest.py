"""Small fitted pipelines and their packages, trained in the tests themselves."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from podium.data import infer_column_types
from podium.registry import InputSchema, ModelPackage, OutputSchema


def training_frame(n: int = 120, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 80, n)
    return pd.DataFrame({
        "age": age,
        "income": np.where(rng.random(n) < 0.1, np.nan, rng.normal(50, 10, n)),
        "city": rng.choice(["paris", "lyon", "nice"], n),
        "member": rng.choice([True, False], n),
        "churn": np.where(age > 45, "yes", "no"),
    })


def _features(numeric: list[str], categorical: list[str], passthrough: list[str]):
    return make_column_transformer(
        (make_pipeline(SimpleImputer(), StandardScaler()), numeric),
        (OneHotEncoder(handle_unknown="ignore"), categorical),
        ("passthrough", passthrough),
    )


@pytest.fixture(scope="session")
def frame() -> pd.DataFrame:
    return training_frame()


@pytest.fixture(scope="session")
def classifier_package(frame: pd.DataFrame) -> ModelPackage:
    X, y = frame.drop(columns=["churn"]), frame["churn"]
    pipeline = make_pipeline(_features(["age", "income"], ["city"], ["member"]), LogisticRegression())
    pipeline.fit(X, y)
    return ModelPackage(
        pipeline=pipeline,
        input_schema=InputSchema.from_frame(X, infer_column_types(X)),
        output_schema=OutputSchema.from_target(y, "binary"),
        metric="accuracy",
        metrics={"accuracy": 0.95, "f1": 0.94},
        leaderboard=[{"rank": 1, "candidate": "logistic_regression", "score": 0.95}],
        lineage={"dataset_fingerprint": "abc", "seed": 42, "run_id": None},
        notes=["trained in a test"],
    )


@pytest.fixture(scope="session")
def regressor_package(frame: pd.DataFrame) -> ModelPackage:
    X, y = frame[["age", "city"]], frame["income"].fillna(50.0)
    pipeline = make_pipeline(_features(["age"], ["city"], []), LinearRegression()).fit(X, y)
    return ModelPackage(
        pipeline=pipeline,
        input_schema=InputSchema.from_frame(X),
        output_schema=OutputSchema.from_target(y, "regression"),
        metric="rmse",
        metrics={"rmse": 9.8},
    )
