"""Column type inference on the frames sources return."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data import ColumnType, infer_column_type, infer_column_types

N = 40
SENTENCES = [f"a fairly long sentence of free text, number {i}" for i in range(80)]
WORDS = [f"w{i}" for i in range(80)]


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (np.linspace(0, 1, N), ColumnType.NUMERIC),
        ([1, 2, 2, 3] * 10, ColumnType.NUMERIC),
        (list(range(1, N + 1)), ColumnType.ID),
        ([f"C{i:04d}" for i in range(N)], ColumnType.ID),
        (["red", "green", "blue", "red"] * 10, ColumnType.CATEGORICAL),
        ([True, False] * 20, ColumnType.BOOLEAN),
        (["yes", "no"] * 20, ColumnType.BOOLEAN),
        (["true", "false", None] * 10, ColumnType.BOOLEAN),
        (pd.date_range("2024-01-01", periods=N), ColumnType.DATETIME),
        ([f"2024-01-{d % 28 + 1:02d}" for d in range(N)], ColumnType.DATETIME),
        (SENTENCES + SENTENCES[:20], ColumnType.TEXT),  # many distinct long strings, a few repeated
        (WORDS + WORDS[:20], ColumnType.ID),  # many distinct short strings: codes
        (["same"] * N, ColumnType.CONSTANT),
        ([np.nan] * N, ColumnType.CONSTANT),
        ([1.0, np.nan] * 20, ColumnType.CONSTANT),
    ],
)
def test_infer_column_type(values: object, expected: ColumnType) -> None:
    assert infer_column_type(pd.Series(values)) == expected


def test_infer_column_types_in_column_order() -> None:
    frame = pd.DataFrame(
        {
            "id": range(N),
            "age": np.arange(N) % 7 * 1.5,
            "city": ["Lyon", "Oslo"] * (N // 2),
            "plan": ["basic", "pro", "team", "basic"] * (N // 4),
        }
    )
    types = infer_column_types(frame)
    assert list(types) == ["id", "age", "city", "plan"]
    assert types == {
        "id": ColumnType.ID,
        "age": ColumnType.NUMERIC,
        "city": ColumnType.CATEGORICAL,
        "plan": ColumnType.CATEGORICAL,
    }


def test_column_type_is_a_string() -> None:
    assert ColumnType.NUMERIC == "numeric"
    assert ColumnType("datetime") is ColumnType.DATETIME
