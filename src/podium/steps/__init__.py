"""Steps: the data operations of a pipeline, registered by name with declared parameters.

Frame steps (``select_columns``, ``drop_columns``, ``drop_duplicates``, ``drop_missing``)
remove rows or whole columns at training time, before the split. Transform steps
(``impute``, ``one_hot``, ``ordinal_encode``, ``scale``, ``clip_outliers``, ``date_parts``)
are configured scikit-learn transformers (``SimpleImputer``, ``OneHotEncoder``,
``OrdinalEncoder``, the scalers; podium's own ``DateParts`` and ``ClipOutliers`` where
scikit-learn has none), composed with a ``ColumnTransformer`` by ``compose_steps`` from the
column kinds of the input schema, and fitted on the train split inside each candidate's
pipeline, so serving applies exactly what training applied.

The ONNX converters of podium's transformers (``podium.steps.onnx``) are registered with
skl2onnx when podium converts a pipeline, or by ``podium.steps.onnx.register_converters()``
(importing this package does not import skl2onnx: trial workers never need it).

Plugins register a ``StepInfo`` under the ``podium.steps`` entry-point group, or call
``register_step``; ``check_transform_step`` checks a transform step's contract.
"""

from __future__ import annotations

from podium.steps.base import (
    FrameStep,
    StepInfo,
    StepParams,
    StepResult,
    register_step,
    step_registry,
)
from podium.steps.build import BuiltSteps, build_steps, step_params, step_schemas, validate_params
from podium.steps.checks import check_transform_step, step_transformer
from podium.steps.columns import DropColumns, SelectColumns
from podium.steps.compose import ColumnStep, Kind, compose_steps, value_kind
from podium.steps.date_parts import DateParts, DatePartsParams
from podium.steps.defaults import default_frame_steps, default_transforms
from podium.steps.encode import OneHotEncoder, OneHotParams, OrdinalEncodeParams
from podium.steps.impute import ImputeParams
from podium.steps.clip_outliers import ClipOutliers, ClipOutliersParams
from podium.steps.rows import DropDuplicates, DropMissing
from podium.steps.scale import ScaleParams

#: the name this part's brief used for ``step_params``
transform_params = step_params

__all__ = [
    "BuiltSteps",
    "ClipOutliers",
    "ClipOutliersParams",
    "ColumnStep",
    "DateParts",
    "DatePartsParams",
    "DropColumns",
    "DropDuplicates",
    "DropMissing",
    "FrameStep",
    "ImputeParams",
    "Kind",
    "OneHotEncoder",
    "OneHotParams",
    "OrdinalEncodeParams",
    "ScaleParams",
    "SelectColumns",
    "StepInfo",
    "StepParams",
    "StepResult",
    "build_steps",
    "check_transform_step",
    "compose_steps",
    "default_frame_steps",
    "default_transforms",
    "register_step",
    "step_params",
    "step_registry",
    "step_schemas",
    "step_transformer",
    "transform_params",
    "validate_params",
    "value_kind",
]
