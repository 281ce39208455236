"""In-memory doubles of a model package and a registry, for serving's unit tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.errors import NotFoundError

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

    def conform(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        frame = frame[[c.name for c in self.columns]].copy()
        for c in self.columns:
            if c.kind == "numeric":
                frame[c.name] = pd.to_numeric(frame[c.name], errors="coerce").astype(float)
            else:
                frame[c.name] = frame[c.name].astype(object).where(frame[c.name].notna(), np.nan)
        return frame, []


@dataclass
class OutputSchema:
    task: str
    target: str
    classes: list[Any] | None = None


@dataclass
class Package:
    pipeline: Any
    input_schema: InputSchema
    output_schema: OutputSchema
    metric: str = "accuracy"
    metrics: dict[str, float] = field(default_factory=dict)
    leaderboard: list[dict[str, Any]] = field(default_factory=list)
    lineage: dict[str, Any] = field(default_factory=dict)

    def predict_frame(self, frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
        frame, notes = self.input_schema.conform(frame)
        out = pd.DataFrame(index=frame.index)
        out["prediction"] = self.pipeline.predict(frame)
        if self.output_schema.task != "regression":
            proba = self.pipeline.predict_proba(frame)
            for i, c in enumerate(self.pipeline.classes_):
                out[f"proba_{c}"] = proba[:, i]
        return out, notes

    def describe(self) -> dict[str, Any]:
        return {"metric": self.metric, "metrics": self.metrics, "lineage": self.lineage,
                "input_schema": {"columns": [c.__dict__ for c in self.input_schema.columns]},
                "output_schema": self.output_schema.__dict__}


@dataclass
class VersionInfo:
    name: str
    version: int


class Registry:
    """Models by name and version, aliases, and API keys (plaintext: it is a double)."""

    def __init__(self) -> None:
        self.versions: dict[str, dict[int, Package]] = {}
        self.aliases: dict[tuple[str, str], int] = {}
        self.keys: dict[str, dict[str, Any]] = {}
        self.key_checks = 0
        self.loads = 0

    def register(self, name: str, package: Package, alias: str | None = "champion") -> int:
        versions = self.versions.setdefault(name, {})
        number = max(versions, default=0) + 1
        versions[number] = package
        if alias:
            self.aliases[(name, alias)] = number
        return number

    def resolve(self, ref: str) -> VersionInfo:
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

    def load(self, ref: str) -> Package:
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


def classifier_package(seed: int = 0, *, target: str = "survived") -> Package:
    frame = titanic_frame(seed=seed)
    features = frame.drop(columns=[target])
    categorical = ["gender", "class", "embarked"]
    numeric = ["age", "fare", "sibsp"]
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
        ("num", SimpleImputer(strategy="median"), numeric),
    ])
    pipeline = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(max_iter=20 + seed, random_state=seed))])
    pipeline.fit(features, frame[target])
    return Package(pipeline, schema_of(features), OutputSchema("binary", target, sorted(frame[target].unique())),
                   metrics={"accuracy": 0.8}, lineage={"seed": seed})


def regressor_package() -> Package:
    frame = titanic_frame()
    features = frame[["age", "sibsp", "class"]]
    pre = ColumnTransformer([
        ("cat", OneHotEncoder(handle_unknown="ignore"), ["class"]),
        ("num", SimpleImputer(strategy="median"), ["age", "sibsp"]),
    ])
    pipeline = make_pipeline(pre, LinearRegression())
    pipeline.fit(features, frame["fare"])
    return Package(pipeline, schema_of(features), OutputSchema("regression", "fare"), metric="rmse")


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


def onnx_friendly_package(seed: int = 0) -> Package:
    """A pipeline skl2onnx converts: an explicit missing-category marker (""), float features."""
    frame = titanic_frame(seed=seed)
    target = frame.pop("survived")
    categorical = ["gender", "class", "embarked"]
    numeric = ["age", "fare", "sibsp"]
    frame["sibsp"] = frame["sibsp"].astype(float)
    train = frame.copy()
    train[categorical] = train[categorical].fillna("")
    pre = ColumnTransformer([
        ("cat", make_pipeline(SimpleImputer(missing_values="", strategy="constant", fill_value="missing"),
                              OneHotEncoder(handle_unknown="ignore")), categorical),
        ("num", SimpleImputer(strategy="median"), numeric),
    ])
    pipeline = Pipeline([("pre", pre), ("model", HistGradientBoostingClassifier(max_iter=30, random_state=seed))])
    pipeline.fit(train, target)
    return Package(pipeline, schema_of(frame), OutputSchema("binary", "survived", sorted(target.unique())))
