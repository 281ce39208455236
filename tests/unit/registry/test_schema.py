from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from podium.data import ColumnType, infer_column_types
from podium.errors import SchemaError
from podium.registry import ColumnSchema, InputSchema, OutputSchema


@pytest.fixture
def schema(frame: pd.DataFrame) -> InputSchema:
    X = frame.drop(columns=["churn"])
    return InputSchema.from_frame(X, infer_column_types(X))


def test_from_frame_describes_each_column(schema: InputSchema) -> None:
    assert schema.names == ["age", "income", "city", "member"]
    age, income, city, member = schema.columns
    assert (age.kind, age.dtype, age.nullable) == ("numeric", "int64", False)
    assert 18 <= age.min <= age.max < 80 and isinstance(age.min, int)
    assert income.nullable is True and income.categories is None
    assert city.kind == "categorical" and city.categories == ["lyon", "nice", "paris"]
    assert member.kind == "boolean" and member.categories == [False, True]
    assert city.example in city.categories


def test_kind_is_the_plain_column_type_value() -> None:
    column = ColumnSchema(name="x", dtype="float64", kind=ColumnType.NUMERIC)
    assert column.kind == "numeric" and str(column.kind) == "numeric"
    with pytest.raises(ValueError):
        ColumnSchema(name="x", dtype="float64", kind="nonsense")


def test_json_round_trip(schema: InputSchema) -> None:
    again = InputSchema.model_validate_json(schema.model_dump_json())
    assert again == schema
    output = OutputSchema.from_target(pd.Series(np.array([1, 0, 1]), name="y"), "binary")
    assert output.classes == [0, 1] and all(type(c) is int for c in output.classes)
    assert OutputSchema.model_validate_json(output.model_dump_json()) == output


def test_output_schema_keeps_label_types() -> None:
    assert OutputSchema(task="multiclass", target="y", classes=np.array(["a", "b"])).classes == ["a", "b"]
    assert OutputSchema(task="binary", target="y", classes=[np.int64(0), np.int64(1)]).classes == [0, 1]
    assert OutputSchema(task="binary", target="y", classes=[False, True]).classes == [False, True]
    regression = OutputSchema.from_target(pd.Series([1.5, 3.0, 2.0]), "regression", target="price")
    assert regression.target_range == (1.5, 3.0) and regression.classes is None


def _both(schema: InputSchema, given: pd.DataFrame) -> list[dict[str, np.ndarray]]:
    """The frame typed as a frame and as records: the one input path must agree with itself."""
    return [schema.typed(given), schema.typed(given.to_dict("records"))]


def test_typed_selects_and_orders_columns(schema: InputSchema) -> None:
    given = pd.DataFrame({"member": [True], "city": ["nice"], "id": [7], "income": [10.0], "age": [30]})
    for typed in _both(schema, given):
        assert list(typed) == ["age", "income", "city", "member"]
        assert all(v.shape == (1,) for v in typed.values())
    assert schema.extra_columns(list(given.columns)) == ["id"]


def test_typed_missing_columns_message_is_pinned(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": [30], "city": ["nice"]})
    for data in (given, given.to_dict("records")):
        with pytest.raises(SchemaError, match=r"^input is missing columns: income, member \(the model was "
                                              r"trained on: age, income, city, member\)"):
            schema.typed(data)


def test_typed_kinds(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": ["30", "41"], "income": ["12.5", ""], "city": ["nice", None],
                          "member": ["true", "no"]})
    for typed in _both(schema, given):
        assert typed["age"].dtype == np.float64 and typed["age"].tolist() == [30.0, 41.0]
        assert typed["income"][0] == 12.5 and np.isnan(typed["income"][1])
        assert typed["city"].dtype == object and typed["city"].tolist() == ["nice", ""]
        assert typed["member"].dtype == np.float64 and typed["member"].tolist() == [1.0, 0.0]


def test_typed_names_the_column_row_and_bad_value(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": ["30", "forty"], "income": [1.0, 2.0], "city": ["a", "b"],
                          "member": [True, False]})
    for data in (given, given.to_dict("records")):
        with pytest.raises(SchemaError, match=r"column 'age' expects numbers but row 1 has 'forty'"):
            schema.typed(data)
    given["age"] = [30, 40]
    given["member"] = ["yes", "maybe"]
    for data in (given, given.to_dict("records")):
        with pytest.raises(SchemaError, match=r"column 'member' expects true or false but row 1 has 'maybe'"):
            schema.typed(data)


def test_typed_categories_are_text_and_unseen_ones_kept(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": [30, 31, 32], "income": [1.0, 2.0, 3.0], "city": [1.0, "atlantis", "2.0"],
                          "member": [True, False, None]})
    for typed in _both(schema, given):
        assert typed["city"].tolist() == ["1", "atlantis", "2"]
        assert typed["member"][:2].tolist() == [1.0, 0.0] and np.isnan(typed["member"][2])


@pytest.mark.parametrize("city", [["a", "b"], ["a", None, ""], ["3.0", "x"], ["-2.0", "2.05", None], [4, "4.0"]])
def test_typed_text_columns_of_records_read_every_value_alike(schema: InputSchema, city: list) -> None:
    given = [{"age": 1, "income": 1.0, "city": c, "member": None} for c in city]
    typed = schema.typed({"age": [1] * len(city), "income": [1.0] * len(city), "city": city,
                          "member": [None] * len(city)})
    expected = ["" if c is None else str(c).removesuffix(".0") if c != "2.05" else c for c in city]
    assert typed["city"].tolist() == expected == schema.typed(given)["city"].tolist()


def test_typed_is_idempotent(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": [30, None], "income": [1.0, 2.0], "city": ["a", None], "member": [True, None]})
    once = schema.typed(given)
    twice = schema.typed(pd.DataFrame(once))
    for name in schema.names:
        np.testing.assert_array_equal(once[name], twice[name])


def test_typed_dates_are_utc_epoch_seconds() -> None:
    train = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    schema = InputSchema.from_frame(train)
    assert schema.columns[0].kind == ColumnType.DATETIME
    given = pd.DataFrame({"when": ["2024-03-05", None, "2024-03-05T01:00:00+01:00", "03/05/2024"]})
    expected = pd.Timestamp("2024-03-05", tz="UTC").timestamp()
    for typed in _both(schema, given):
        when = typed["when"]
        assert when.dtype == np.float64
        assert when[0] == expected and np.isnan(when[1]) and when[2] == expected and when[3] == expected
    from datetime import datetime, timezone

    aware = schema.typed([{"when": datetime(2024, 3, 5, 1, tzinfo=timezone.utc)}])["when"][0]
    assert aware == expected + 3600
    assert schema.typed(train)["when"].tolist() == [pd.Timestamp(d, tz="UTC").timestamp()
                                                     for d in ("2024-01-01", "2024-02-01")]
    with pytest.raises(SchemaError, match="column 'when' expects dates but row 0 has 'soon'"):
        schema.typed(pd.DataFrame({"when": ["soon"]}))
    with pytest.raises(SchemaError, match="column 'when' expects dates but row 0 has 'soon'"):
        schema.typed([{"when": "soon"}])
