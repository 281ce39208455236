"""Real podium model packages (made in memory) and an in-memory registry double, for serving's unit tests.

The schema doubles (``Column``, ``InputSchema``, ``OutputSchema``) only feed the request-model tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.data import infer_column_types
from podium.errors import NotFoundError
from podium.registry import InputSchema as RealInputSchema
from podium.registry import ModelPackage
from podium.registry import OutputSchema as RealOutputSchema
from podium.training.compile import compile_model
from podium.registry.records import ApiKeyInfo

RECORD = {"gender": "female", "age": 30, "class": "1st", "embarked": "Cherbourg", "fare": 50.5, "sibsp": 1}


@dataclass
class Column:
    name: str
    dtype: str
    kind: str
    nullable: bool = False
    categories: list[Any] | None = None
    min: Any = None
    max: Any = None
    example: Any = None


@dataclass
class InputSchema:
    columns: list[Column]


@dataclass
class OutputSchema:
    task: str
    target: str
    classes: list[Any] | None = None


@dataclass
class VersionInfo:
    name: str
    version: int


class Registry:
    """Models by name and version, aliases, and API keys (plaintext: it is a double)."""

    def __init__(self) -> None:
        self.versions: dict[str, dict[int, ModelPackage]] = {}
        self.aliases: dict[tuple[str, str], int] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.key_checks = 0
        self.loads = 0
        self.down = False  # True: every call fails as a database that cannot be reached would

    def _reach(self) -> None:
        if self.down:
            raise ConnectionError("connection to the registry database refused (the server is down)")

    def register(self, name: str, package: ModelPackage, alias: str | None = "champion") -> int:
        versions = self.versions.setdefault(name, {})
        number = max(versions, default=0) + 1
        versions[number] = package
        if alias:
            self.aliases[(name, alias)] = number
        return number

    def resolve(self, ref: str) -> VersionInfo:
        self._reach()
        if "@" in ref:
            name, alias = ref.split("@", 1)
            if (name, alias) not in self.aliases:
                raise NotFoundError(f"No alias '{alias}' on model '{name}'.")
            return VersionInfo(name, self.aliases[(name, alias)])
        if ":" in ref:
            name, number = ref.split(":", 1)
            if int(number) not in self.versions.get(name, {}):
                raise NotFoundError(f"No version {number} of model '{name}'.")
            return VersionInfo(name, int(number))
        if ref not in self.versions:
            raise NotFoundError(f"No model '{ref}'.")
        return VersionInfo(ref, max(self.versions[ref]))

    def load(self, ref: str) -> ModelPackage:
        info = self.resolve(ref)
        self.loads += 1
        return self.versions[info.name][info.version]

    def create_key(self, name: str, models: list[str] | None = None) -> tuple[str, str]:
        plaintext = f"pk_{name}_{len(self.keys)}"
        self.keys[plaintext] = {"name": name, "models": models or ["*"], "revoked": False}
        return name, plaintext

    def revoke_key(self, name: str) -> None:
        for entry in self.keys.values():
            if entry["name"] == name:
                entry["revoked"] = True

    def find_key(self, plaintext: str) -> ApiKeyInfo | None:
        self._reach()
        self.key_checks += 1
        entry = self.keys.get(plaintext)
        if entry is None:
            return None
        return ApiKeyInfo(id=entry["name"], name=entry["name"], prefix=plaintext[:4], models=entry["models"],
                          created_at=datetime.now(timezone.utc),
                          revoked_at=datetime.now(timezone.utc) if entry["revoked"] else None,
                          uploads=entry.get("uploads", []), admin=entry.get("admin", False))

    def check_key(self, plaintext: str, model: str) -> str:
        self.key_checks += 1
        entry = self.keys.get(plaintext)
        if entry is None:
            return "unknown"
        if entry["revoked"]:
            return "revoked"
        if "*" not in entry["models"] and model not in entry["models"]:
            return "forbidden"
        return "ok"


def titanic_frame(n: int = 400, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame({
        "gender": rng.choice(["male", "female"], n),
        "age": rng.uniform(1, 80, n).round(),
        "class": rng.choice(["1st", "2nd", "3rd"], n),
        "embarked": rng.choice(["Southampton", "Cherbourg", "Queenstown"], n),
        "fare": rng.uniform(5, 200, n).round(2),
        "sibsp": rng.integers(0, 4, n),
    })
    frame.loc[rng.random(n) < 0.1, "age"] = np.nan
    frame.loc[rng.random(n) < 0.05, "embarked"] = np.nan
    score = (frame["gender"] == "female") * 2 + (frame["class"] == "1st") - frame["age"].fillna(30) / 40
    frame["survived"] = np.where(score + rng.normal(0, 0.5, n) > 0.5, "yes", "no")
    return frame


def make_package(pipeline: Any, features: pd.DataFrame, y: pd.Series, task: str, *, metric: str = "accuracy",
                 compiled: bool = True, lineage: dict[str, Any] | None = None) -> ModelPackage:
    """What ``podium run`` makes: the pipeline fitted on typed columns, compiled and checked."""
    schema = RealInputSchema.from_frame(features, infer_column_types(features))
    pipeline.fit(pd.DataFrame(schema.typed(features)), y)
    classes = sorted(y.unique().tolist()) if task != "regression" else None
    engine, graph = None, None
    if compiled:
        outcome = compile_model(pipeline, schema, task, classes or [], schema.typed(features))
        engine, graph = outcome.engine, outcome.model
    return ModelPackage(pipeline, schema, RealOutputSchema(task=task, target=str(y.name), classes=classes),
                        metric=metric, metrics={metric: 0.8}, lineage=lineage or {}, engine_info=engine,
                        onnx_model=graph)


def classifier_package(seed: int = 0, *, target: str = "survived", compiled: bool = True) -> ModelPackage:
    frame = titanic_frame(seed=seed)
    features = frame.drop(columns=[target])
    categorical = ["gender", "class", "embarked"]
    numeric = ["age", "fare", "sibsp"]
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), categorical),
        ("num", SimpleImputer(strategy="median"), numeric),
    ])
    pipeline = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(max_iter=20 + seed, random_state=seed))])
    return make_package(pipeline, features, frame[target], "binary", compiled=compiled, lineage={"seed": seed})


def regressor_package(*, compiled: bool = True) -> ModelPackage:
    frame = titanic_frame()
    features = frame[["age", "sibsp", "class"]]
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["class"]),
        ("num", SimpleImputer(strategy="median"), ["age", "sibsp"]),
    ])
    pipeline = make_pipeline(pre, LinearRegression())
    return make_package(pipeline, features, frame["fare"], "regression", metric="rmse", compiled=compiled)


def schema_of(frame: pd.DataFrame) -> InputSchema:
    columns = []
    for name in frame.columns:
        values = frame[name]
        numeric = pd.api.types.is_numeric_dtype(values)
        present = values.dropna()
        columns.append(Column(
            name=name, dtype=str(values.dtype), kind="numeric" if numeric else "categorical",
            nullable=bool(values.isna().any()),
            categories=None if numeric else sorted(present.unique().tolist()),
            min=present.min() if numeric else None, max=present.max() if numeric else None,
            example=present.iloc[0]))
    return InputSchema(columns)
