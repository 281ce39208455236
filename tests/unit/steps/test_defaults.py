from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data.types import ColumnType, infer_column_types
from podium.steps import (
    DatePartsParams,
    ImputeParams,
    OneHotParams,
    OrdinalEncodeParams,
    ScaleParams,
    default_frame_steps,
    default_transforms,
)

N = ColumnType.NUMERIC
C = ColumnType.CATEGORICAL


@pytest.fixture
def raw() -> pd.DataFrame:
    n = 120
    rng = np.random.default_rng(1)
    sparse = np.full(n, np.nan)
    sparse[0] = 1.0
    return pd.DataFrame({
        "customer_id": [f"C{i:04d}" for i in range(n)],
        "row": np.arange(1, n + 1),
        "country": ["fr"] * n,
        "comment": [f"a rather long free text comment number {i % 100} about the service" for i in range(n)],
        # not unique, or it would read as an id
        "sparse": sparse,
        "age": rng.integers(18, 80, n),
        "city": rng.choice(["paris", "lyon"], n),
        "churned": rng.choice(["yes", "no"], n),
    })


def test_default_frame_steps_drop_useless_columns_and_say_why(raw):
    types = infer_column_types(raw.drop(columns=["churned"]))
    steps = default_frame_steps(raw, types, target="churned")
    result = steps[0].apply(raw, target="churned")
    assert list(result.frame.columns) == ["age", "city", "churned"]
    assert result.notes == [
        "dropped 'customer_id': id-like (unique per row)",
        "dropped 'row': id-like (unique per row)",
        "dropped 'country': constant (a single value)",
        "dropped 'comment': free text (many distinct long strings)",
        "dropped 'sparse': 99.1% missing (more than 95%)",
    ]


def test_default_frame_steps_never_drop_the_target(raw):
    types = {"churned": ColumnType.ID, "country": ColumnType.CONSTANT}
    result = default_frame_steps(raw, types, target="churned")[0].apply(raw, target="churned")
    assert "churned" in result.frame.columns and "country" not in result.frame.columns


def test_default_frame_steps_with_nothing_to_drop(raw):
    assert default_frame_steps(raw, {"age": N, "city": C}, target="churned") == []


def test_a_column_at_the_missing_threshold_is_kept():
    frame = pd.DataFrame({"x": [np.nan] * 19 + [1.0], "y": range(20)})
    assert default_frame_steps(frame, {"x": N}, target="y") == []


def kinds_of(steps) -> list[tuple[str, type]]:
    return [(name, type(step)) for name, step in steps]


def test_default_transforms_for_a_linear_family():
    types = {"when": ColumnType.DATETIME, "age": N, "city": C}
    steps = default_transforms(types, needs_scaling=True, handles_missing=False, encoding="one_hot")
    assert kinds_of(steps) == [("date_parts", DatePartsParams), ("impute", ImputeParams), ("scale", ScaleParams),
                               ("one_hot", OneHotParams)]
    date_parts, impute, scale, one_hot = (step for _, step in steps)
    assert date_parts.columns is None  # every date column
    assert impute.numeric == "median" and impute.categorical == "most_frequent" and impute.add_indicator
    assert scale.method == "standard" and one_hot.max_categories == 20


def test_default_transforms_for_a_tree_family_that_handles_missing():
    types = {"age": N, "city": C}
    steps = default_transforms(types, needs_scaling=False, handles_missing=True, encoding="ordinal")
    assert kinds_of(steps) == [("ordinal_encode", OrdinalEncodeParams)]


def test_booleans_are_numbers_and_need_no_encoder():
    types = {"age": N, "member": ColumnType.BOOLEAN}
    assert default_transforms(types, needs_scaling=False, handles_missing=True, encoding="ordinal") == []


def test_default_transforms_without_categories_need_no_encoder():
    steps = default_transforms({"age": N}, needs_scaling=False, handles_missing=False, encoding="one_hot")
    assert kinds_of(steps) == [("impute", ImputeParams)]
    assert not steps[0][1].add_indicator


def test_default_transforms_are_fresh_each_call():
    a = default_transforms({"c": C}, needs_scaling=False, handles_missing=False, encoding="one_hot")
    b = default_transforms({"c": C}, needs_scaling=False, handles_missing=False, encoding="one_hot")
    assert all(x is not y for (_, x), (_, y) in zip(a, b))


def test_kinds_not_known_to_steps_are_text():
    types = {"code": ColumnType.ID, "note": ColumnType.TEXT}
    steps = default_transforms(types, needs_scaling=False, handles_missing=False, encoding="one_hot")
    assert kinds_of(steps) == [("impute", ImputeParams), ("one_hot", OneHotParams)]
