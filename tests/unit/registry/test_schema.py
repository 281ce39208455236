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


def test_conform_selects_and_orders_columns(schema: InputSchema) -> None:
    given = pd.DataFrame({"member": [True], "city": ["nice"], "id": [7], "income": [10.0], "age": [30]})
    conformed, notes = schema.conform(given)
    assert list(conformed.columns) == ["age", "income", "city", "member"]
    assert notes == ["ignored extra columns: id"]


def test_conform_missing_columns_message_is_pinned(schema: InputSchema) -> None:
    with pytest.raises(SchemaError, match=r"^input is missing columns: income, member \(the model was "
                                          r"trained on: age, income, city, member\)"):
        schema.conform(pd.DataFrame({"age": [30], "city": ["nice"]}))


def test_conform_coerces_numbers_given_as_text(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": ["30", "41"], "income": ["12.5", ""], "city": ["nice", None],
                          "member": ["true", "no"]})
    conformed, _ = schema.conform(given)
    assert conformed["age"].dtype == np.int64 and conformed["age"].tolist() == [30, 41]
    assert conformed["income"].dtype == np.float64 and np.isnan(conformed["income"].iloc[1])
    assert conformed["city"].iloc[0] == "nice" and pd.isna(conformed["city"].iloc[1])
    assert conformed["member"].tolist() == [True, False]


def test_conform_names_the_column_and_the_bad_value(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": ["30", "forty"], "income": [1.0, 2.0], "city": ["a", "b"],
                          "member": [True, False]})
    with pytest.raises(SchemaError, match=r"column 'age' expects numbers but row 1 has 'forty'"):
        schema.conform(given)
    given["age"] = [30, 40]
    given["member"] = ["yes", "maybe"]
    with pytest.raises(SchemaError, match=r"column 'member' expects true or false but row 1 has 'maybe'"):
        schema.conform(given)


def test_conform_turns_categories_into_text_and_keeps_unseen_ones(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": [30, 31], "income": [1.0, 2.0], "city": [1.0, "atlantis"],
                          "member": [True, False]})
    conformed, _ = schema.conform(given)
    assert conformed["city"].tolist() == ["1", "atlantis"]


def test_conform_integers_with_missing_values_become_floats(schema: InputSchema) -> None:
    given = pd.DataFrame({"age": [30, None], "income": [1.0, 2.0], "city": ["a", "b"], "member": [True, False]})
    conformed, _ = schema.conform(given)
    assert conformed["age"].dtype == np.float64 and np.isnan(conformed["age"].iloc[1])


def test_conform_dates() -> None:
    train = pd.DataFrame({"when": pd.to_datetime(["2024-01-01", "2024-02-01"])})
    schema = InputSchema.from_frame(train)
    conformed, _ = schema.conform(pd.DataFrame({"when": ["2024-03-05", None]}))
    assert str(conformed["when"].dtype) == str(train["when"].dtype)
    assert conformed["when"].iloc[0] == pd.Timestamp("2024-03-05") and pd.isna(conformed["when"].iloc[1])
    with pytest.raises(SchemaError, match="column 'when' expects dates but row 0 has 'soon'"):
        schema.conform(pd.DataFrame({"when": ["soon"]}))
