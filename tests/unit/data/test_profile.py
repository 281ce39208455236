from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from podium.data.profile import OTHER, QUANTILES, profile_frame
from podium.errors import SchemaError


@pytest.fixture
def frame() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    n = 400
    return pd.DataFrame({
        "age": np.where(rng.random(n) < 0.1, np.nan, rng.integers(18, 80, n).astype(float)),
        "city": rng.choice([f"city{i}" for i in range(25)], n),
        "member": rng.choice([True, False], n),
        "id": np.arange(n),
        "joined": pd.date_range("2024-01-01", periods=n, freq="D"),
        "churn": rng.choice(["yes", "no"], n, p=[0.25, 0.75]),
        "spend": rng.normal(100, 15, n),
    })


def test_profile_is_json_and_counts_rows_and_columns(frame: pd.DataFrame) -> None:
    profile = profile_frame(frame)
    assert json.loads(json.dumps(profile, allow_nan=False)) == profile
    assert (profile["rows"], profile["n_columns"]) == (400, 7)
    assert list(profile["columns"]) == list(frame.columns)
    assert profile["target"] is None


def test_numeric_column(frame: pd.DataFrame) -> None:
    age = profile_frame(frame)["columns"]["age"]
    present = frame["age"].dropna()
    assert age["type"] == "numeric"
    assert age["missing"] == frame["age"].isna().sum()
    assert age["missing_pct"] == pytest.approx(100 * frame["age"].isna().mean())
    assert age["distinct"] == present.nunique()
    assert (age["min"], age["max"]) == (present.min(), present.max())
    assert age["mean"] == pytest.approx(present.mean()) and age["std"] == pytest.approx(present.std())
    assert list(age["quantiles"]) == [f"p{q}" for q in QUANTILES]
    assert age["quantiles"]["p50"] == pytest.approx(present.median())
    hist = age["histogram"]
    assert len(hist["edges"]) == len(hist["counts"]) + 1 == 21
    assert sum(hist["counts"]) == len(present)
    assert "top" not in age


def test_categorical_column_keeps_the_top_categories(frame: pd.DataFrame) -> None:
    city = profile_frame(frame)["columns"]["city"]
    assert city["type"] == "categorical" and city["distinct"] == 25
    assert len(city["top"]) == 20
    counts = [t["count"] for t in city["top"]]
    assert counts == sorted(counts, reverse=True)
    assert sum(counts) + city["other"] == 400
    assert city["top"][0]["value"] == frame["city"].value_counts().index[0]


def test_other_kinds(frame: pd.DataFrame) -> None:
    columns = profile_frame(frame)["columns"]
    assert columns["member"]["type"] == "boolean"
    assert {t["value"] for t in columns["member"]["top"]} == {"True", "False"}
    assert columns["id"]["type"] == "id" and "histogram" not in columns["id"]
    assert columns["joined"]["type"] == "datetime"
    assert columns["joined"]["min"].startswith("2024-01-01")


def test_target_balance_of_classes_and_values(frame: pd.DataFrame) -> None:
    classes = profile_frame(frame, target="churn")["target"]
    assert classes["kind"] == "classes" and classes["column"] == "churn"
    assert sum(classes["shares"].values()) == pytest.approx(1.0)
    assert classes["counts"]["yes"] == (frame["churn"] == "yes").sum()
    values = profile_frame(frame, target="spend")["target"]
    assert values["kind"] == "values" and values["mean"] == pytest.approx(frame["spend"].mean())


def test_unknown_target_suggests_a_column(frame: pd.DataFrame) -> None:
    with pytest.raises(SchemaError, match="'chrun' is not in the data. Did you mean 'churn'"):
        profile_frame(frame, target="chrun")


def test_edge_cases() -> None:
    frame = pd.DataFrame({"empty": [np.nan] * 3, "same": [1.0, 1.0, 1.0], "inf": [1.0, np.inf, 2.0]})
    columns = profile_frame(frame)["columns"]
    assert columns["empty"]["missing_pct"] == 100.0 and columns["empty"]["min"] is None
    assert columns["same"]["type"] == "constant" and sum(columns["same"]["histogram"]["counts"]) == 3
    assert columns["inf"]["max"] == 2.0
    assert profile_frame(pd.DataFrame({"x": []}))["rows"] == 0
    assert OTHER
