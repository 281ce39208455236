"""Steps: the data operations of a pipeline, registered by name with declared parameters.

Frame steps (``select_columns``, ``drop_columns``, ``drop_duplicates``, ``drop_missing``)
remove rows or whole columns at training time, before the split. Transform steps
(``impute``, ``one_hot``, ``ordinal_encode``, ``scale``, ``clip_outliers``, ``date_parts``)
are scikit-learn transformers fitted on the train split inside each candidate's
pipeline, so serving applies exactly what training applied.

Plugins register a ``StepInfo`` under the ``podium.steps`` entry-point group, or call
``register_step``; ``check_transform_step`` checks a transform step's contract.
"""

from __future__ import annotations

from podium.steps.base import (
    ColumnStep,
    FrameStep,
    StepInfo,
    StepParams,
    StepResult,
    register_step,
    step_registry,
)
from podium.steps.build import BuiltSteps, build_steps, step_params, step_schemas, validate_params
from podium.steps.checks import check_transform_step
from podium.steps.columns import DropColumns, SelectColumns
from podium.steps.dates import DateParts
from podium.steps.defaults import default_frame_steps, default_transforms
from podium.steps.encode import OneHot, OrdinalEncode
from podium.steps.impute import Impute
from podium.steps.outliers import ClipOutliers
from podium.steps.rows import DropDuplicates, DropMissing
from podium.steps.scale import Scale

#: the name this part's brief used for ``step_params``
transform_params = step_params

__all__ = [
    "BuiltSteps",
    "ClipOutliers",
    "ColumnStep",
    "DateParts",
    "DropColumns",
    "DropDuplicates",
    "DropMissing",
    "FrameStep",
    "Impute",
    "OneHot",
    "OrdinalEncode",
    "Scale",
    "SelectColumns",
    "StepInfo",
    "StepParams",
    "StepResult",
    "build_steps",
    "check_transform_step",
    "default_frame_steps",
    "default_transforms",
    "register_step",
    "step_params",
    "step_registry",
    "step_schemas",
    "transform_params",
    "validate_params",
]
