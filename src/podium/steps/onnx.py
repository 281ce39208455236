"""ONNX converters (skl2onnx) for the transformers podium's steps use that skl2onnx lacks.

``register_converters()`` registers a shape calculator and a converter for ``DateParts``,
``ClipOutliers``, podium's ``OneHotEncoder`` (infrequent and unseen categories, which
skl2onnx's own converter refuses or fails on at run time) and scikit-learn's
``MissingIndicator`` (no converter in skl2onnx). ``podium.steps`` calls it on import when
skl2onnx is installed; without skl2onnx it is never imported.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.impute import MissingIndicator

from podium.steps.date_parts import DAY, DateParts
from podium.steps.encode import OneHotEncoder
from podium.steps.impute import MISSING_TEXT
from podium.steps.clip_outliers import ClipOutliers

__all__ = ["register_converters"]

_registered = False


def register_converters() -> None:
    """Register podium's converters with skl2onnx (idempotent)."""
    global _registered
    if _registered:
        return
    from skl2onnx import update_registered_converter

    update_registered_converter(DateParts, "PodiumDateParts", _shape_date_parts, _convert_date_parts,
                                parser=_parse_date_parts)
    update_registered_converter(ClipOutliers, "PodiumClipOutliers", _shape_same, _convert_clip)
    update_registered_converter(OneHotEncoder, "PodiumOneHotEncoder", _shape_one_hot, _convert_one_hot)
    update_registered_converter(MissingIndicator, "PodiumMissingIndicator", _shape_indicator,
                                _convert_indicator)
    _registered = True


# -- a small graph builder over skl2onnx's scope and container -----------------------------------


class _Graph:
    def __init__(self, scope: Any, container: Any) -> None:
        self.scope, self.container = scope, container

    def const(self, values: Any, dtype: Any) -> str:
        from onnx import TensorProto, helper

        array = np.asarray(values, dtype=dtype)
        name = str(self.scope.get_unique_variable_name("c"))
        if array.dtype == object:
            proto, flat = TensorProto.STRING, [str(v).encode("utf-8") for v in array.ravel()]
        else:
            proto, flat = helper.np_dtype_to_tensor_dtype(array.dtype), array.ravel().tolist()
        self.container.add_initializer(name, proto, list(array.shape), flat)
        return name

    def op(self, kind: str, inputs: list[str], out: str | None = None, **attrs: Any) -> str:
        name = out or self.scope.get_unique_variable_name(kind.lower())
        domain = attrs.pop("op_domain", "")
        self.container.add_node(kind, inputs, [name], name=self.scope.get_unique_operator_name(kind),
                                op_domain=domain, **attrs)
        return name

    def columns(self, operator: Any) -> str:
        """The operator's inputs as one (N, C) tensor."""
        names = [v.full_name for v in operator.inputs]
        return names[0] if len(names) == 1 else self.op("Concat", names, axis=1)

    def column(self, X: str, j: int) -> str:
        return self.op("Gather", [X, self.const([j], np.int64)], axis=1)

    def cast(self, X: str, to: int) -> str:
        return self.op("Cast", [X], to=to)


def _rows(operator: Any) -> Any:
    return operator.inputs[0].get_first_dimension()


def _width(operator: Any) -> int:
    return sum(int(v.type.shape[1]) for v in operator.inputs)


# -- date parts ---------------------------------------------------------------------------------


def _parse_date_parts(scope: Any, model: Any, inputs: list[Any], custom_parsers: Any = None) -> list[Any]:
    """Declares a float output: skl2onnx would give it the input's type (double), and the
    steps after date parts (the Imputer op) take float."""
    from skl2onnx import get_model_alias
    from skl2onnx.common.data_types import FloatTensorType

    operator = scope.declare_local_operator(get_model_alias(type(model)), model)
    operator.inputs = list(inputs)
    operator.outputs.append(scope.declare_local_variable("date_parts", FloatTensorType()))
    return list(operator.outputs)


def _shape_date_parts(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    width = sum(len(parts) for parts in operator.raw_operator.parts_)
    operator.outputs[0].type = FloatTensorType([_rows(operator), width])


def _convert_date_parts(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    g = _Graph(scope, container)
    X = g.cast(g.columns(operator), TensorProto.DOUBLE)  # float32 cannot hold epoch seconds

    def floor_div(a: str, b: float) -> str:
        return g.op("Floor", [g.op("Div", [a, g.const(b, np.float64)])])

    def mul(a: str, b: float) -> str:
        return g.op("Mul", [a, g.const(b, np.float64)])

    def add(a: str, b: float) -> str:
        return g.op("Add", [a, g.const(b, np.float64)])

    def sub(a: str, b: str) -> str:
        return g.op("Sub", [a, b])

    # the same steps as podium.steps.date_parts.civil_parts, element-wise on (N, C)
    days = floor_div(X, DAY)
    hour = floor_div(sub(X, mul(days, DAY)), 3600.0)
    shifted = add(days, 3.0)
    dayofweek = sub(shifted, mul(floor_div(shifted, 7.0), 7.0))
    z = add(days, 719468.0)
    era = floor_div(z, 146097.0)
    doe = sub(z, mul(era, 146097.0))
    inner = g.op("Add", [sub(doe, floor_div(doe, 1460.0)),
                         sub(floor_div(doe, 36524.0), floor_div(doe, 146096.0))])
    yoe = floor_div(inner, 365.0)
    doy = sub(doe, sub(g.op("Add", [mul(yoe, 365.0), floor_div(yoe, 4.0)]), floor_div(yoe, 100.0)))
    mp = floor_div(add(mul(doy, 5.0), 2.0), 153.0)
    day = add(sub(doy, floor_div(add(mul(mp, 153.0), 2.0), 5.0)), 1.0)
    late = g.cast(g.op("GreaterOrEqual", [mp, g.const(10.0, np.float64)]), TensorProto.DOUBLE)
    month = sub(add(mp, 3.0), mul(late, 12.0))
    early = g.cast(g.op("LessOrEqual", [month, g.const(2.0, np.float64)]), TensorProto.DOUBLE)
    year = g.op("Add", [g.op("Add", [yoe, mul(era, 400.0)]), early])
    every = {"year": year, "month": month, "day": day, "dayofweek": dayofweek, "hour": hour}

    pieces = [g.column(every[part], j) for j, parts in enumerate(operator.raw_operator.parts_) for part in parts]
    joined = pieces[0] if len(pieces) == 1 else g.op("Concat", pieces, axis=1)
    g.op("Cast", [joined], out=operator.outputs[0].full_name, to=TensorProto.FLOAT)  # small integers: exact


# -- clipping -----------------------------------------------------------------------------------


def _shape_same(operator: Any) -> None:
    kind = type(operator.inputs[0].type)
    operator.outputs[0].type = kind([_rows(operator), _width(operator)])


def _convert_clip(scope: Any, operator: Any, container: Any) -> None:
    from skl2onnx.common.data_types import DoubleTensorType

    g = _Graph(scope, container)
    X = g.columns(operator)
    dtype = np.float64 if isinstance(operator.inputs[0].type, DoubleTensorType) else np.float32
    model = operator.raw_operator
    # Min and Max propagate NaN: a missing value stays missing
    low = g.op("Min", [X, g.const(model.upper_.reshape(1, -1), dtype)])
    g.op("Max", [low, g.const(model.lower_.reshape(1, -1), dtype)], out=operator.outputs[0].full_name)


# -- missing indicators -------------------------------------------------------------------------


def _shape_indicator(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    operator.outputs[0].type = FloatTensorType([_rows(operator), len(operator.raw_operator.features_)])


def _convert_indicator(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto

    model = operator.raw_operator
    if not (isinstance(model.missing_values, float) and np.isnan(model.missing_values)):
        raise NotImplementedError("only MissingIndicator(missing_values=np.nan) converts")
    g = _Graph(scope, container)
    chosen = g.op("Gather", [g.columns(operator), g.const(np.asarray(model.features_, np.int64), np.int64)], axis=1)
    g.op("Cast", [g.op("IsNaN", [chosen])], out=operator.outputs[0].full_name, to=TensorProto.FLOAT)


# -- one-hot ------------------------------------------------------------------------------------


def _shape_one_hot(operator: Any) -> None:
    from skl2onnx.common.data_types import FloatTensorType

    width = sum(len(own) + other - (blank is not None) for own, other, blank in operator.raw_operator.blocks())
    operator.outputs[0].type = FloatTensorType([_rows(operator), width])


def _convert_one_hot(scope: Any, operator: Any, container: Any) -> None:
    from onnx import TensorProto, helper
    from skl2onnx.common.data_types import StringTensorType

    model = operator.raw_operator
    if model.drop is not None:
        raise NotImplementedError("podium's OneHotEncoder converter does not support drop")
    g = _Graph(scope, container)
    X = g.columns(operator)
    text = isinstance(operator.inputs[0].type, StringTensorType)
    dtype = np.float64 if "Double" in type(operator.inputs[0].type).__name__ else np.float32
    pieces: list[str] = []
    for j, (own, other, blank) in enumerate(model.blocks()):
        x = g.column(X, j)
        block = _match(g, x, own, text, dtype) if own else None
        if other:
            if model.handle_unknown != "infrequent_if_exist":  # only the rare ones seen in training
                rare = model.infrequent_categories_[j].tolist()
                rest = g.op("ReduceSum", [_match(g, x, rare, text, dtype), g.const([1], np.int64)], keepdims=1)
            elif block is None:  # every category is rare
                rest = g.op("ConstantOfShape", [g.op("Shape", [x])],
                            value=helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0]))
            else:  # rare and unseen alike: whatever matched no own category
                seen = g.op("ReduceSum", [block, g.const([1], np.int64)], keepdims=1)
                rest = g.op("Sub", [g.const([[1.0]], np.float32), seen])
            block = rest if block is None else g.op("Concat", [block, rest], axis=1)
        if block is None:
            continue
        if blank is not None:
            keep = [i for i in range(len(own) + other) if i != blank]
            block = g.op("Gather", [block, g.const(np.asarray(keep, np.int64), np.int64)], axis=1)
        if model.blank == "zeros" and text:
            present = g.cast(g.op("Not", [g.op("Equal", [x, g.const([[MISSING_TEXT]], object)])]),
                             TensorProto.FLOAT)
            block = g.op("Mul", [block, present])
        pieces.append(block)
    out = operator.outputs[0].full_name
    if len(pieces) == 1:
        g.op("Identity", pieces, out=out)
    else:
        g.op("Concat", pieces, out=out, axis=1)


def _match(g: _Graph, x: str, categories: list[Any], text: bool, dtype: Any) -> str:
    """(N, 1) values → (N, k) float 0/1 columns, one per category (all zeros when unseen)."""
    from onnx import TensorProto

    if text:
        if not categories:
            raise NotImplementedError("a feature with no categories of its own")
        encoded = g.op("OneHotEncoder", [x], op_domain="ai.onnx.ml", zeros=1,
                       cats_strings=[str(c).encode("utf-8") for c in categories])
        return g.op("Reshape", [encoded, g.const([-1, len(categories)], np.int64)])
    numbers = [c for c in categories if not (isinstance(c, float) and np.isnan(c))]
    parts = [g.cast(g.op("Equal", [x, g.const([numbers], dtype)]), TensorProto.FLOAT)] if numbers else []
    if len(numbers) < len(categories):  # NaN is a category of its own (scikit-learn puts it last)
        parts.append(g.cast(g.op("IsNaN", [x]), TensorProto.FLOAT))
    return parts[0] if len(parts) == 1 else g.op("Concat", parts, axis=1)
