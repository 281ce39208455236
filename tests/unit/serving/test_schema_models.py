from __future__ import annotations

import pytest
from pydantic import ValidationError
from serving_doubles import Column, InputSchema, OutputSchema

from podium.serving.schema_models import build_request_models, build_response_models, model_title

SCHEMA = InputSchema([
    Column("plan", "str", "categorical", nullable=False, categories=["basic", "pro"], example="pro"),
    Column("tenure", "int64", "numeric", min=0, max=72, example=12),
    Column("monthly charges", "float64", "numeric", nullable=True, min=18.2, max=118.7, example=70.1),
    Column("pclass", "int64", "categorical", categories=["1", "2", "3"], example=3),
    Column("paperless", "bool", "boolean", categories=[False, True], example=True),
])


def models():
    return build_request_models("churn-v2", SCHEMA, max_batch=10)


def test_model_title_is_a_schema_name():
    assert model_title("churn-v2") == "ChurnV2"
    assert model_title("3d_prints") == "M3dPrints"


def test_the_schema_lists_every_feature_with_its_type_and_categories():
    schema = models().record.model_json_schema()
    props = schema["properties"]
    assert list(props) == ["plan", "tenure", "monthly charges", "pclass", "paperless"]
    assert props["plan"]["anyOf"][0] == {"enum": ["basic", "pro"], "type": "string"}
    assert props["plan"]["x-categories"] == ["basic", "pro"]
    assert props["tenure"]["type"] == "integer"
    assert {"type": "number"} in props["monthly charges"]["anyOf"]
    assert {"type": "null"} in props["monthly charges"]["anyOf"]
    assert props["pclass"]["anyOf"][0]["enum"] == [1, 2, 3]
    assert props["paperless"]["type"] == "boolean"
    assert set(schema["required"]) == {"plan", "tenure", "pclass", "paperless"}
    assert schema["additionalProperties"] is True  # ignored, as `podium predict` ignores extra columns


def test_examples_are_synthetic_in_range_unless_real_ones_are_asked_for():
    synthetic = models().record.model_json_schema()["examples"][0]
    assert synthetic == {"plan": "basic", "tenure": 36, "monthly charges": pytest.approx(68.45), "pclass": 1,
                         "paperless": False}  # the middle of each range, the first category: no training row
    real = build_request_models("churn-v2", SCHEMA, max_batch=10, real_examples=True).record.model_json_schema()
    assert real["examples"] == [{"plan": "pro", "tenure": 12, "monthly charges": 70.1, "pclass": 3,
                                 "paperless": True}]


def test_text_fields_have_a_maximum_length():
    schema = InputSchema([Column("note", "object", "text"), Column("plan", "str", "categorical",
                                                                   categories=["basic"])])
    m = build_request_models("notes", schema, max_batch=10, max_string_length=8)
    assert m.record.model_json_schema()["properties"]["note"]["maxLength"] == 8
    m.record.model_validate({"note": "a" * 8, "plan": "basic"})
    for body, field in (({"note": "a" * 9, "plan": "basic"}, "note"), ({"note": "", "plan": "x" * 9}, "plan")):
        with pytest.raises(ValidationError) as info:
            m.record.model_validate(body)
        assert any(e["loc"][0] == field and e["type"] == "string_too_long" for e in info.value.errors())


def test_an_unseen_category_is_accepted_and_values_come_back_in_column_order():
    m = models()
    record = m.record.model_validate({"plan": "enterprise", "tenure": 3, "pclass": 2, "paperless": False})
    assert m.values(record) == ("enterprise", 3, None, 2, False)
    assert m.columns == ["plan", "tenure", "monthly charges", "pclass", "paperless"]


@pytest.mark.parametrize(("body", "field"), [
    ({"plan": "pro", "tenure": "twelve", "pclass": 1, "paperless": True}, "tenure"),
    ({"plan": "pro", "pclass": 1, "paperless": True}, "tenure"),
    ({"plan": "pro", "tenure": 1, "pclass": 1, "paperless": True, "monthly charges": float("inf")},
     "monthly charges"),
    ({"plan": None, "tenure": 1, "pclass": 1, "paperless": True}, "plan"),
])
def test_a_bad_record_names_the_field(body, field):
    with pytest.raises(ValidationError) as info:
        models().record.model_validate(body)
    assert field in [str(e["loc"][0]) for e in info.value.errors()]


def test_a_field_the_model_does_not_take_is_kept_aside_not_refused():
    m = models()
    record = m.record.model_validate({"plan": "pro", "tenure": 1, "pclass": 1, "paperless": True, "tenur": 4})
    assert m.values(record) == ("pro", 1, None, 1, True)
    assert record.__pydantic_extra__ == {"tenur": 4}


def test_the_batch_model_limits_and_documents_its_size():
    schema = models().batch.model_json_schema()
    assert schema["properties"]["records"]["maxItems"] == 10
    assert schema["properties"]["records"]["minItems"] == 1


def test_response_models_name_classes_and_probabilities():
    responses = build_response_models("churn", OutputSchema("binary", "churned", ["no", "yes"]))
    schema = responses.prediction.model_json_schema()
    assert schema["properties"]["prediction"]["enum"] == ["no", "yes"]
    proba = schema["$defs"]["ChurnProbabilities"]["properties"]
    assert list(proba) == ["no", "yes"]
    value = build_response_models("fare", OutputSchema("regression", "fare")).prediction
    assert value.model_json_schema()["properties"]["prediction"]["type"] == "number"


# -- batches read column by column: RequestModels.read_batch ------------------------------------
def _judged(m, body: bytes):
    """(read_batch's columns or None, the batch model's rows or its ValidationError)."""
    import orjson

    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError:
        import json

        parsed = json.loads(body)
    quick = m.read_batch(parsed)
    try:
        batch = m.batch.model_validate_json(body)
    except ValidationError as exc:
        return quick, exc
    return quick, [m.values(r) for r in batch.records]


GOOD = {"plan": "pro", "tenure": 12, "monthly charges": 70.1, "pclass": 3, "paperless": True}


@pytest.mark.parametrize("records", [
    [GOOD],
    [GOOD, {**GOOD, "plan": "enterprise", "tenure": 3.0, "pclass": 2}],  # unseen category; 3.0 is an integer
    [{k: v for k, v in GOOD.items() if k != "monthly charges"}, {**GOOD, "monthly charges": None}],  # null, left out
    [{**GOOD, "monthly charges": 5}, {**GOOD, "tenure": -(2**53)}],
    [{k: v for k, v in GOOD.items() if k != "monthly charges"}] * 2,  # every record leaves it out
    [GOOD, dict(reversed(GOOD.items()))],  # the same fields in another order
])
def test_a_good_batch_is_read_column_by_column_as_the_batch_model_reads_it(records):
    import json

    m = models()
    quick, rows = _judged(m, json.dumps({"records": records}).encode())
    assert quick is not None and quick.ignored == []
    assert list(quick) == rows
    assert quick.data["monthly charges"] == [r[2] for r in rows]


def test_fields_the_model_does_not_take_are_named_once_in_order():
    import json

    m = models()
    body = {"records": [{**GOOD, "zip": 1}, {**GOOD, "zip": 2, "note": "x"}, {"tenure": 1, "plan": "pro", "pclass": 1,
                                                                           "paperless": False, "cabin": "C"}]}
    quick, rows = _judged(m, json.dumps(body).encode())
    assert quick is not None and list(quick) == rows
    assert quick.ignored == ["zip", "note", "cabin"]
    same = {"records": [{**GOOD, "zip": 1}, {**GOOD, "zip": 2}]}  # every record has the same fields
    quick, rows = _judged(m, json.dumps(same).encode())
    assert quick is not None and list(quick) == rows and quick.ignored == ["zip"]


@pytest.mark.parametrize("body", [
    b'{"records": [{"plan": "pro", "tenure": "12", "pclass": 1, "paperless": true}]}',  # text for a number
    b'{"records": [{"plan": "pro", "tenure": true, "pclass": 1, "paperless": true}]}',  # a bool is no integer
    b'{"records": [{"plan": "pro", "tenure": 1.5, "pclass": 1, "paperless": true}]}',
    b'{"records": [{"plan": "pro", "tenure": 9007199254740993, "pclass": 1, "paperless": true}]}',
    b'{"records": [{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": 1}]}',
    b'{"records": [{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true, "monthly charges": NaN}]}',
    b'{"records": [{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true, "monthly charges": "1"}]}',
    b'{"records": [{"plan": null, "tenure": 1, "pclass": 1, "paperless": true}]}',
    b'{"records": [{"plan": 7, "tenure": 1, "pclass": 1, "paperless": true}]}',
    b'{"records": [{"plan": "pro", "pclass": 1, "paperless": true}]}',  # a required field left out
    b'{"records": [{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true}, 3]}',
    b'{"records": []}',
    b'{"records": {"plan": "pro"}}',
    b'{"records": [{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true}], "more": 1}',
    b'[{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true}]',
    b'{"records": [' + b",".join([b'{"plan": "pro", "tenure": 1, "pclass": 1, "paperless": true}'] * 11) + b"]}",
])
def test_a_bad_batch_is_left_to_the_batch_model_which_refuses_it(body):
    quick, judged = _judged(models(), body)
    assert quick is None
    assert isinstance(judged, ValidationError)


def test_dates_are_read_with_json_rules():
    import json

    schema = InputSchema([Column("when", "datetime64[ns]", "datetime", nullable=True),
                          Column("x", "float64", "numeric")])
    m = build_request_models("events", schema, max_batch=10)
    good = json.dumps({"records": [{"when": "2024-03-01T10:00:00", "x": 1}, {"when": None, "x": 2.5}]}).encode()
    quick, rows = _judged(m, good)
    assert quick is not None and list(quick) == rows
    quick, judged = _judged(m, b'{"records": [{"when": "yesterday", "x": 1}]}')
    assert quick is None and isinstance(judged, ValidationError)
