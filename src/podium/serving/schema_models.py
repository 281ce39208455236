"""Request and response models generated from a model package's schemas.

One pydantic model per served model: a field per feature, typed from the column's kind and
dtype, its training categories listed as an enum (an unseen category is still accepted: the
pipeline handles it as training did), optional where training saw missing values, text no longer than ``max_string_length``. The
examples are synthetic — the middle of a numeric column's range, its first category — so the
published document holds no training row; ``real_examples`` uses a value seen in training
instead. The OpenAPI document is generated from these models.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    create_model,
)


def _a_number(value: Any) -> Any:
    """``true`` and ``"12"`` are not integers; ``3.0`` is (as JSON Schema has it)."""
    if isinstance(value, (bool, str)):
        raise ValueError("Input should be a valid integer")
    return value


#: a JSON integer within what JSON numbers hold exactly
Int64 = Annotated[int, Field(ge=-(2**53), le=2**53), BeforeValidator(_a_number)]
#: a finite JSON number
Float = Annotated[float, Field(allow_inf_nan=False), Strict()]
StrictDatetime = Annotated[datetime | date, Strict()]

__all__ = ["RequestModels", "ResponseModels", "build_request_models", "build_response_models",
           "class_label", "model_title"]


def model_title(name: str) -> str:
    """``churn-v2`` → ``ChurnV2``: the prefix of the generated schema names."""
    parts = [p for p in re.split(r"[^0-9A-Za-z]+", name) if p]
    title = "".join(p[:1].upper() + p[1:] for p in parts) or "Model"
    return title if title[0].isalpha() else f"M{title}"


def class_label(value: Any) -> Any:
    """A class as JSON has it: numpy scalars become Python values."""
    item = getattr(value, "item", None)
    return item() if callable(item) else value


@dataclass(frozen=True)
class RequestModels:
    """The generated input models and how to read a validated record back in column order."""

    record: type[BaseModel]
    batch: type[BaseModel]
    columns: list[str]
    values: Callable[[BaseModel], tuple[Any, ...]]
    max_batch: int

    def schemas(self) -> dict[str, dict[str, Any]]:
        """JSON schemas of the record and batch models, keyed by component name."""
        from pydantic.json_schema import models_json_schema

        _, top = models_json_schema([(self.record, "validation"), (self.batch, "validation")],
                                    ref_template="#/components/schemas/{model}")
        return dict(top.get("$defs", {}))


@dataclass(frozen=True)
class ResponseModels:
    prediction: type[BaseModel]
    batch: type[BaseModel]


def build_request_models(name: str, input_schema: Any, *, max_batch: int, max_string_length: int = 4096,
                         real_examples: bool = False) -> RequestModels:
    """The record and batch models of one served model, from its input schema."""
    title = model_title(name)
    fields: dict[str, Any] = {}
    attrs: list[str] = []
    columns: list[str] = []
    example: dict[str, Any] = {}
    for i, column in enumerate(input_schema.columns):
        attr = f"f{i}"
        value = _example(column, real=real_examples)
        annotation, info = _field(column, max_string_length, value)
        fields[attr] = (annotation, info)
        attrs.append(attr)
        columns.append(str(column.name))
        if value is not None:
            example[str(column.name)] = value
    record = create_model(
        f"{title}Input",
        # fields the model does not take are ignored, as `podium predict` ignores extra columns
        # (a raw row holding the columns training dropped scores the same); the service names
        # them in the X-Ignored-Fields header
        __config__=ConfigDict(extra="allow", title=f"{title}Input",
                              json_schema_extra={"examples": [example]} if example else None),
        __doc__=f"One record to score with model '{name}': one field per feature.",
        **fields,
    )
    batch = create_model(
        f"{title}Batch",
        __config__=ConfigDict(extra="forbid", title=f"{title}Batch"),
        __doc__=f"Several records to score with model '{name}' (at most {max_batch}).",
        records=(list[record], Field(min_length=1, max_length=max_batch,
                                     description=f"the records, at most {max_batch}")),
    )
    getter = operator.attrgetter(*attrs) if attrs else (lambda _m: ())
    values: Callable[[BaseModel], tuple[Any, ...]]
    values = getter if len(attrs) != 1 else (lambda m: (getter(m),))
    return RequestModels(record, batch, columns, values, max_batch)


def build_response_models(name: str, output_schema: Any) -> ResponseModels:
    """The response models: a label and class probabilities, or a value."""
    title = model_title(name)
    task = str(getattr(output_schema, "task", "regression"))
    common: dict[str, Any] = {
        "model": (str, Field(description="the served model's name")),
        "version": (int, Field(description="the model version that answered")),
        "request_id": (str, Field(description="the request id (X-Request-ID)")),
    }
    if task == "regression":
        item_fields: dict[str, Any] = {
            "prediction": (float, Field(description=f"the predicted {output_schema.target}"))}
    else:
        classes = [class_label(c) for c in (output_schema.classes or [])]
        label_type: Any = Literal[tuple(classes)] if classes else Union[str, int, float, bool]
        proba = create_model(  # type: ignore[call-overload]
            f"{title}Probabilities",
            __config__=ConfigDict(title=f"{title}Probabilities"),
            __doc__="The probability of each class.",
            **{f"p{i}": (float, Field(alias=str(c), ge=0, le=1)) for i, c in enumerate(classes)},
        )
        item_fields = {
            "prediction": (label_type, Field(description=f"the predicted {output_schema.target}")),
            "probabilities": (proba, Field(description="the probability of each class")),
        }
    item = create_model(f"{title}Scored", __config__=ConfigDict(title=f"{title}Scored"),
                        **item_fields)
    one = create_model(f"{title}Prediction", __config__=ConfigDict(title=f"{title}Prediction"),
                       **common, **item_fields)
    many = create_model(f"{title}BatchPrediction",
                        __config__=ConfigDict(title=f"{title}BatchPrediction"),
                        **common, predictions=(list[item], Field(description="one per record, in order")))
    return ResponseModels(one, many)


def _field(column: Any, max_string_length: int, example: Any) -> tuple[Any, Any]:
    text = Annotated[str, StringConstraints(max_length=max_string_length)]
    kind = str(getattr(column, "kind", "numeric"))
    dtype = str(getattr(column, "dtype", "object"))
    nullable = bool(getattr(column, "nullable", False))
    categories = [_json_value(c) for c in (getattr(column, "categories", None) or [])]
    categories = [_typed(c, dtype) for c in categories if c is not None]
    described: list[str] = []
    annotation: Any
    if kind == "numeric":
        annotation = Int64 if dtype.startswith(("int", "uint", "Int", "UInt")) else Float
        lo, hi = _json_value(getattr(column, "min", None)), _json_value(getattr(column, "max", None))
        if lo is not None and hi is not None:
            described.append(f"seen in training from {lo} to {hi}")
    elif kind == "boolean" and (not categories or all(isinstance(c, bool) for c in categories)):
        annotation = StrictBool
    elif kind in ("categorical", "boolean") and categories:
        base = _base_type(dtype, text)
        annotation = Union[Literal[tuple(categories)], base]
        shown = ", ".join(map(str, categories[:20])) + (", …" if len(categories) > 20 else "")
        described.append(f"training categories: {shown}; another value is accepted and "
                         "handled as training handles an unseen category")
    elif kind == "datetime":
        annotation = StrictDatetime if "datetime" in dtype else text
        described.append("a date or date-time (ISO 8601)")
    else:
        annotation = _base_type(dtype, text)
    if nullable:
        annotation = Optional[annotation]
        described.append("may be null or left out")
    extra: dict[str, Any] = {"x-kind": kind}
    if categories:
        extra["x-categories"] = categories
    info = Field(
        None if nullable else ...,
        alias=str(column.name),
        description=f"{kind} ({dtype})" + ("; " + "; ".join(described) if described else ""),
        examples=[example] if example is not None else None,
        json_schema_extra=extra,
    )
    return annotation, info


def _typed(category: Any, dtype: str) -> Any:
    """A category as the column's type: the registry keeps them as text ("1" for 1)."""
    if isinstance(category, str) and dtype.startswith(("int", "uint", "Int", "UInt", "float", "Float")):
        try:
            number = float(category)
        except ValueError:
            return category
        return int(number) if dtype.startswith(("int", "uint", "Int", "UInt")) and number.is_integer() else number
    return category


def _base_type(dtype: str, text: Any = str) -> Any:
    if dtype.startswith(("int", "uint", "Int", "UInt")):
        return Int64
    if dtype.startswith(("float", "Float")):
        return Float
    if dtype.startswith(("bool", "boolean")):
        return StrictBool
    return text


def _example(column: Any, *, real: bool) -> Any:
    """An example value: made from the schema (range, categories), or the training value when ``real``."""
    if real:
        return _json_value(getattr(column, "example", None))
    kind = str(getattr(column, "kind", "numeric"))
    dtype = str(getattr(column, "dtype", "object"))
    categories = [_typed(c, dtype) for c in (_json_value(c) for c in (getattr(column, "categories", None) or []))
                  if c is not None]
    lo, hi = _json_value(getattr(column, "min", None)), _json_value(getattr(column, "max", None))
    integer = dtype.startswith(("int", "uint", "Int", "UInt"))
    if kind == "numeric":
        if isinstance(lo, (int, float)) and isinstance(hi, (int, float)) and not isinstance(lo, bool):
            middle = (lo + hi) / 2
            return int(round(middle)) if integer else round(middle, 6)
        return 0 if integer else 0.0
    if categories:
        return categories[0]
    if kind == "boolean" or dtype.startswith("bool"):
        return False
    if kind == "datetime":
        return "2020-01-01T00:00:00" if "datetime" in dtype else "2020-01-01"
    if integer:
        return 0
    if dtype.startswith(("float", "Float")):
        return 0.0
    return "text"


def _json_value(value: Any) -> Any:
    """A schema value (example, category, bound) as JSON can carry it, or None."""
    value = class_label(value)
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return None
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if hasattr(value, "isoformat"):  # pandas Timestamp
        return value.isoformat()
    if isinstance(value, (str, int, float, bool)):
        return value
    return str(value)

