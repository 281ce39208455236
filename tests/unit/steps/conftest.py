"""Small frames with every column kind, missing values, and a test split with surprises."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def make_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, n)
    amount[::7] = np.nan
    city = rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    city[::9] = None
    return pd.DataFrame({
        "amount": amount,
        "visits": rng.integers(0, 10, n),
        "city": city,
        "member": rng.random(n) > 0.5,
        "signup": pd.date_range("2023-01-01 08:30", periods=n, freq="37h").strftime("%Y-%m-%d %H:%M"),
        "plan": pd.Series(rng.choice(["a", "b"], n)).astype("category"),
    })


@pytest.fixture
def train() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def test_frame() -> pd.DataFrame:
    """Rows a service may receive: unseen categories, missing values, an unparseable date."""
    return pd.DataFrame({
        "amount": [np.nan, 90.0, 1000.0],
        "visits": [3, 4, 5],
        "city": ["berlin", None, "paris"],
        "member": [True, False, True],
        "signup": ["2024-02-29 13:00", None, "not a date"],
        "plan": pd.Series(["c", "a", None]).astype("category"),
    }, index=[10, 11, 12])


@pytest.fixture
def target(train: pd.DataFrame) -> pd.Series:
    amount = train["amount"].fillna(100)
    return pd.Series(np.where((amount > 100) ^ (train["city"] == "nice"), "yes", "no"), index=train.index)
