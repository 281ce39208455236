"""Small typed frames with every column kind, missing values, and a test split with surprises.

The frames are typed as ``InputSchema.typed`` types a model's input: numeric and boolean
columns float64 (NaN missing), dates float64 seconds since the epoch, categories str ("" missing).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data.types import ColumnType

KINDS = {
    "amount": ColumnType.NUMERIC,
    "visits": ColumnType.NUMERIC,
    "city": ColumnType.CATEGORICAL,
    "member": ColumnType.BOOLEAN,
    "signup": ColumnType.DATETIME,
    "plan": ColumnType.CATEGORICAL,
}


def epoch(text: list[str | None]) -> np.ndarray:
    """Epoch seconds (UTC) of date strings; None → NaN."""
    dates = pd.to_datetime(pd.Series(text, dtype=object), utc=True)
    seconds = (dates - pd.Timestamp("1970-01-01", tz="UTC")).dt.total_seconds()
    return seconds.to_numpy(dtype=np.float64, na_value=np.nan)


def make_frame(n: int = 40, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    amount = rng.normal(100, 20, n)
    amount[::7] = np.nan
    city = rng.choice(["paris", "lyon", "nice", "lille"], n, p=[0.4, 0.3, 0.2, 0.1]).astype(object)
    city[::9] = ""
    return pd.DataFrame({
        "amount": amount,
        "visits": rng.integers(0, 10, n).astype(np.float64),
        "city": city,
        "member": (rng.random(n) > 0.5).astype(np.float64),
        "signup": epoch(list(pd.date_range("2023-01-01 08:30", periods=n, freq="37h").strftime("%Y-%m-%d %H:%M"))),
        "plan": rng.choice(["a", "b"], n).astype(object),
    })


@pytest.fixture
def kinds() -> dict[str, ColumnType]:
    return dict(KINDS)


@pytest.fixture
def train() -> pd.DataFrame:
    return make_frame()


@pytest.fixture
def test_frame() -> pd.DataFrame:
    """Rows a service may receive: unseen categories, missing values."""
    return pd.DataFrame({
        "amount": [np.nan, 90.0, 1000.0],
        "visits": [3.0, 4.0, 5.0],
        "city": np.array(["berlin", "", "paris"], dtype=object),
        "member": [1.0, np.nan, 0.0],
        "signup": epoch(["2024-02-29 13:00", None, "1969-12-31 23:00"]),
        "plan": np.array(["c", "a", ""], dtype=object),
    }, index=[10, 11, 12])


@pytest.fixture
def target(train: pd.DataFrame) -> pd.Series:
    amount = train["amount"].fillna(100)
    return pd.Series(np.where((amount > 100) ^ (train["city"] == "nice"), "yes", "no"), index=train.index)
