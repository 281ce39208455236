from __future__ import annotations

import pandas as pd
import pytest

from podium.errors import DataError, SchemaError, SpecError
from podium.spec import StepSpec
from podium.steps import (
    DropColumns,
    DropDuplicates,
    DropMissing,
    FrameStep,
    SelectColumns,
    StepResult,
    build_steps,
)


@pytest.fixture
def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "id": [1, 2, 3, 3, 4, 5],
        "a": [1.0, None, 3.0, 3.0, None, 5.0],
        "b": ["x", "y", None, None, "y", "x"],
        "empty": [None, None, None, None, 1.0, None],
        "y": [0, 1, 0, 0, 1, None],
    })


def test_every_frame_step_is_a_frame_step():
    built = build_steps([StepSpec(name=n, params=p) for n, p in [
        ("select_columns", {"columns": ["a"]}), ("drop_columns", {"columns": ["a"]}),
        ("drop_duplicates", {}), ("drop_missing", {}),
    ]])
    assert len(built.frame) == 4 and not built.transforms
    assert all(isinstance(step, FrameStep) for step in built.frame)


def test_select_columns_keeps_the_target_in_frame_order(frame):
    result = SelectColumns(columns=["b", "a"]).apply(frame, target="y")
    assert isinstance(result, StepResult)
    assert list(result.frame.columns) == ["a", "b", "y"]
    assert result.notes == ["select_columns kept 2 feature columns, dropped 2"]


def test_select_columns_names_an_unknown_column(frame):
    with pytest.raises(SchemaError, match=r"select_columns: 'bb' is not a column\. Did you mean 'b'\?"):
        SelectColumns(columns=["bb"]).apply(frame, target="y")


def test_drop_columns(frame):
    result = DropColumns(columns=["id", "empty"]).apply(frame, target="y")
    assert list(result.frame.columns) == ["a", "b", "y"]
    assert result.notes == ["drop_columns dropped 'id', 'empty'"]
    assert list(frame.columns) == ["id", "a", "b", "empty", "y"]  # the input is left alone


def test_drop_columns_refuses_the_target(frame):
    with pytest.raises(SpecError, match=r"drop_columns: 'y' is the target; it cannot be dropped"):
        DropColumns(columns=["a", "y"]).apply(frame, target="y")


def test_drop_columns_names_an_unknown_column(frame):
    with pytest.raises(SchemaError, match=r"'idd' is not a column\. Did you mean 'id'\?"):
        DropColumns(columns=["idd"]).apply(frame, target="y")


def test_drop_columns_with_reasons_says_why_each(frame):
    step = DropColumns(columns=["id", "gone"], reasons={"id": "id-like (unique per row)", "gone": "x"})
    result = step.apply(frame, target="y")
    assert "id" not in result.frame.columns
    assert result.notes == ["dropped 'id': id-like (unique per row)"]


def test_drop_duplicates_counts_the_rows(frame):
    result = DropDuplicates().apply(frame, target="y")
    assert len(result.frame) == 5
    assert result.notes == ["drop_duplicates removed 1 rows"]
    assert list(result.frame.index) == [0, 1, 2, 4, 5]  # the first of a group stays


def test_drop_duplicates_on_a_subset(frame):
    result = DropDuplicates(subset=["b"]).apply(frame, target="y")
    assert list(result.frame.index) == [0, 1, 2]
    assert result.notes == ["drop_duplicates removed 3 rows"]


def test_drop_duplicates_with_unhashable_cells():
    frame = pd.DataFrame({"tags": [["a"], ["a"], ["b"]], "y": [1, 1, 0]})
    result = DropDuplicates().apply(frame, target="y")
    assert len(result.frame) == 2


def test_drop_duplicates_takes_the_list_shorthand():
    built = build_steps([StepSpec(name="drop_duplicates", params={"columns": ["b"]})])
    assert built.frame[0].subset == ["b"]


def test_drop_missing_rows(frame):
    result = DropMissing(columns=["a", "b"]).apply(frame, target="y")
    assert list(result.frame.index) == [0, 5]
    assert result.notes == ["drop_missing removed 4 rows with missing values"]


def test_drop_missing_rows_that_empties_the_frame_is_a_data_error(frame):
    with pytest.raises(DataError, match="drop_missing removed every row"):
        DropMissing().apply(frame, target="y")


def test_drop_missing_columns_never_drops_the_target():
    frame = pd.DataFrame({"a": [1, None, None], "b": [1, 2, 3], "y": [None, None, 1]})
    result = DropMissing(how="columns", max_missing=0.5).apply(frame, target="y")
    assert list(result.frame.columns) == ["b", "y"]
    assert result.notes == ["dropped 'a': 66.6% missing (more than 50%)"]


def test_drop_missing_columns_keeps_a_column_at_the_threshold(frame):
    result = DropMissing(how="columns", max_missing=1 / 3).apply(frame, target="y")
    assert list(result.frame.columns) == ["id", "a", "b", "y"]


@pytest.mark.parametrize("step", [DropDuplicates(), DropMissing(how="columns"), SelectColumns(columns=["a"])])
def test_frame_steps_never_change_values(frame, step):
    out = step.apply(frame, target="y").frame
    pd.testing.assert_frame_equal(out, frame.loc[out.index, out.columns])
