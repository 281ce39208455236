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
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from types import UnionType
from typing import Annotated, Any, Literal, Optional, Union, get_args, get_origin, overload

import orjson
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    create_model,
)


def _a_number(value: Any) -> Any:
    """``true`` and ``"12"`` are not integers; ``3.0`` is (as JSON Schema has it)."""
    if isinstance(value, (bool, str)):
        raise ValueError("Input should be a valid integer")
    return value


#: a JSON integer within what JSON numbers hold exactly
Int64 = Annotated[int, Field(ge=-(2**53), le=2**53), BeforeValidator(_a_number)]
#: ``Int64`` for values already known to be numbers (``RecordColumns``' check): no Python callback
_Int64Numbers = Annotated[int, Field(ge=-(2**53), le=2**53)]
#: a finite JSON number
Float = Annotated[float, Field(allow_inf_nan=False), Strict()]
#: a date-time or a date (ISO 8601 text in JSON); strict on each (a constraint on the union fails)
StrictDatetime = Union[Annotated[datetime, Strict()], Annotated[date, Strict()]]

__all__ = ["RequestModels", "ResponseModels", "RecordColumns", "build_request_models", "build_response_models",
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


class RecordColumns(Sequence[tuple[Any, ...]]):
    """Validated records as columns (name → values, in the schema's order), and which fields
    the records held that the model does not take.

    It reads as the sequence of its rows (tuples in column order), which is what the prediction
    log keeps; the model is fed the columns themselves.
    """

    __slots__ = ("names", "data", "ignored", "_length")

    def __init__(self, names: Sequence[str], data: dict[str, list[Any]], ignored: Sequence[str] = ()) -> None:
        self.names = list(names)
        self.data = data
        self.ignored = list(ignored)
        self._length = len(data[self.names[0]]) if self.names else 0

    @classmethod
    def from_rows(cls, names: Sequence[str], rows: Sequence[Sequence[Any]],
                  ignored: Sequence[str] = ()) -> RecordColumns:
        """Rows (tuples in column order) as columns."""
        if not rows:
            return cls(names, {n: [] for n in names}, ignored)
        return cls(names, dict(zip(names, map(list, zip(*rows)))), ignored)

    @classmethod
    def join(cls, parts: Sequence[RecordColumns]) -> RecordColumns:
        """Several requests' records as one (the model scores them in one call)."""
        first = parts[0]
        if len(parts) == 1:
            return first
        return cls(first.names, {n: [v for part in parts for v in part.data[n]] for n in first.names},
                   list(dict.fromkeys(name for part in parts for name in part.ignored)))

    def __len__(self) -> int:
        return self._length

    @overload
    def __getitem__(self, index: int) -> tuple[Any, ...]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[Any, ...]]: ...

    def __getitem__(self, index: int | slice) -> tuple[Any, ...] | list[tuple[Any, ...]]:
        if isinstance(index, slice):
            return list(zip(*(self.data[n][index] for n in self.names)))
        return tuple(self.data[n][index] for n in self.names)

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        return zip(*(self.data[n] for n in self.names))


_ABSENT = object()  # a field a record leaves out (distinct from null)


def _by_field(records: list[dict[str, Any]]) -> dict[str, tuple[Any, ...]] | None:
    """The records' values by field when every record has the same fields in the same order
    (what a client's serialiser writes), else None: one transposition instead of a pass over
    the records per field (a 100-record batch of 64 fields: 0.1 ms instead of 0.5)."""
    if len(set(map(tuple, records))) != 1:
        return None
    return dict(zip(records[0], zip(*map(dict.values, records))))


@dataclass(frozen=True)
class _ColumnCheck:
    """How ``RequestModels.read_batch`` checks one column's values (what the record model's field
    checks for one value): its validator over a list, and where the field has a Python callback,
    the value types that make it a no-op."""

    name: str
    required: bool
    validate: Callable[[list[Any]], list[Any]]
    types: frozenset[type] | None = None  # the value types it takes (others: the record model decides)


@dataclass(frozen=True)
class RequestModels:
    """The generated input models and how to read a validated record back in column order."""

    record: type[BaseModel]
    batch: type[BaseModel]
    columns: list[str]
    values: Callable[[BaseModel], tuple[Any, ...]]
    max_batch: int
    checks: tuple[_ColumnCheck, ...] = ()

    def read_batch(self, data: Any) -> RecordColumns | None:
        """A parsed batch body (``{"records": [...]}``) checked column by column, as the batch
        model would check it record by record; None when anything is off.

        The batch model (``batch.model_validate_json``) stays the judge: a body this refuses is
        validated again by it, which either names the problem (the 422) or takes the body (a
        form this check does not cover). So this may refuse more than the model, never less, and
        never takes a value the model would turn into another one.
        """
        records = data.get("records") if type(data) is dict and len(data) == 1 else None
        if type(records) is not list or not 0 < len(records) <= self.max_batch or \
                not all(type(r) is dict for r in records):
            return None
        columns: dict[str, list[Any]] = {}
        absent = 0
        shared = _by_field(records)
        try:
            for check in self.checks:
                name = check.name
                if shared is not None:  # every record has the same fields: each column read at once
                    found = shared.get(name)
                    if found is None and check.required:
                        return None
                    if found is None:
                        absent += len(records)
                    values = [None] * len(records) if found is None else list(found)
                elif check.required:
                    values = [r[name] for r in records]
                else:
                    values = [r.get(name, _ABSENT) for r in records]
                    missing = values.count(_ABSENT)
                    if missing:  # a field left out is null, as the record model's default has it
                        absent += missing
                        values = [None if v is _ABSENT else v for v in values]
                if check.types is not None and not set(map(type, values)) <= check.types:
                    return None
                columns[name] = check.validate(values)
        except (KeyError, ValidationError, orjson.JSONEncodeError):
            return None
        ignored: list[str] = []
        if sum(map(len, records)) != len(records) * len(self.checks) - absent:  # fields the model does not take
            known = set(self.columns)
            ignored = list(dict.fromkeys(k for r in records for k in r if k not in known))
        return RecordColumns(self.columns, columns, ignored)

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
    checks = tuple(_column_check(column, fields[attr][0]) for column, attr in zip(input_schema.columns, attrs))
    return RequestModels(record, batch, columns, values, max_batch, checks)


_NUMBER_TYPES = frozenset({int, float})


def _column_check(column: Any, annotation: Any) -> _ColumnCheck:
    """The check of one column's values: the field's own type over a list, in Python mode.

    Python mode takes what JSON mode takes for what ``orjson`` parses (str, int, float, bool,
    None, lists, dicts) with two exceptions: a strict date-time refuses text in Python mode, so
    such a column is checked as JSON; and ``Int64``'s callback (no bool, no text) is a type check
    here, made before the values meet a callback-free ``int``.
    """
    name = str(column.name)
    required = not bool(getattr(column, "nullable", False))
    if str(getattr(column, "kind", "")) == "datetime":
        adapter = TypeAdapter(list[annotation])

        def as_json(values: list[Any]) -> list[Any]:
            return adapter.validate_json(orjson.dumps(values))

        return _ColumnCheck(name, required, as_json)
    types = None
    if _mentions(annotation, Int64):
        annotation = _replace(annotation, Int64, _Int64Numbers)
        types = _NUMBER_TYPES if required else _NUMBER_TYPES | {type(None)}
    adapter = TypeAdapter(list[annotation])
    return _ColumnCheck(name, required, adapter.validate_python, types)


def _mentions(annotation: Any, part: Any) -> bool:
    return annotation == part or any(_mentions(a, part) for a in get_args(annotation) if a is not annotation)


def _replace(annotation: Any, old: Any, new: Any) -> Any:
    """``annotation`` with ``old`` put as ``new`` (inside Optional and Union too)."""
    if annotation == old:
        return new
    origin, args = get_origin(annotation), get_args(annotation)
    if origin is Union or origin is UnionType:
        return Union[tuple(_replace(a, old, new) for a in args)]
    return annotation


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

