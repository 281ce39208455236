"""Column type inference on the frames sources return."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data import ColumnType, infer_column_type, infer_column_types
from podium.data.types import as_categories, as_text

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


def test_a_long_frame_is_inferred_on_a_sample_and_checked_where_a_sample_could_be_wrong() -> None:
    n = 2_000
    rng = np.random.default_rng(1)
    rare = ["a"] * n
    rare[1234] = "b"  # one row in 2,000: a 50-row sample likely misses it
    answer = ["yes", "no"] * (n // 2)
    answer[777] = "maybe"
    frame = pd.DataFrame({
        "key": np.arange(1, n + 1),  # unique 1..n: a key, however few rows the sample holds
        "amount": rng.normal(size=n),
        "plan": rng.choice(["basic", "pro", "team"], n),
        "rare": rare,  # not constant: the rows the sample left out are counted
        "answer": answer,  # a third value: categorical, not boolean
        "code": [f"c{i % 60}" for i in range(n)],  # 60 levels over 2,000 rows: categorical
    })
    sampled = infer_column_types(frame, sample_rows=50)
    assert sampled == infer_column_types(frame)
    assert sampled == {"key": ColumnType.ID, "amount": ColumnType.NUMERIC, "plan": ColumnType.CATEGORICAL,
                       "rare": ColumnType.CATEGORICAL, "answer": ColumnType.CATEGORICAL,
                       "code": ColumnType.CATEGORICAL}
    assert infer_column_type(frame["rare"], sample_rows=50) == ColumnType.CATEGORICAL


def test_a_key_of_rows_drawn_at_random_is_a_key_of_the_source() -> None:
    counts = np.random.default_rng(2).permutation(10_001)[:10_000] * 7
    source = pd.DataFrame({"key": np.arange(1, 10_001), "count": counts})
    drawn = source.sample(2_500, random_state=3).sort_values("key")  # a run's budget.max_rows
    assert infer_column_types(source)["key"] == ColumnType.ID
    assert infer_column_types(drawn)["key"] == ColumnType.NUMERIC  # 2,500 rows spanning 10,000: not 1..n here
    kinds = infer_column_types(drawn, drawn_from=len(source))
    assert kinds["key"] == ColumnType.ID  # spanning the source's 10,000 rows: a key
    assert kinds["count"] == ColumnType.NUMERIC  # unique integers spanning 7 × the rows: values, not a key
    assert infer_column_types(drawn, sample_rows=500, drawn_from=len(source))["key"] == ColumnType.ID


@pytest.mark.parametrize("values", [
    ["a", "b", None, "a", ""],
    [1.0, 2.0, np.nan, 1.0],
    [1.5, 2.0, np.nan],
    pd.Categorical(["x", None, "y"]),
    [np.nan, np.nan],
    [1, "1", 1.0],
    [True, False, None],
])
def test_as_categories_holds_the_typed_text_compactly(values: object) -> None:
    series = pd.Series(values, dtype=object if not isinstance(values, pd.Categorical) else None)
    compact = as_categories(series)
    assert isinstance(compact.dtype, pd.CategoricalDtype)
    assert compact.astype(object).tolist() == as_text(series).fillna("").tolist()
    assert list(compact.cat.categories) == sorted(compact.cat.categories)  # the same order in every frame
