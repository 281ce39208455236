"""The registry: model packages, the artifact store and the metadata of runs and models.

::

    registry = Registry.from_settings(settings)          # SQLite + .podium/artifacts by default
    run_id = registry.start_run("churn", spec=..., task="binary", metric="accuracy", ...)
    version = registry.register("churn", package, run_id=run_id)   # and churn@champion moves
    package = registry.load("churn")                     # or churn@champion, churn:3
    scored, notes = package.predict_frame(frame)

A model version is immutable; moving an alias is the only mutable act, and it is atomic.
"""

from __future__ import annotations

from podium.registry.artifacts import MANIFEST, ArtifactExists, ArtifactStore
from podium.registry.package import MODEL_FILE, ModelPackage, library_versions
from podium.registry.predictions import PredictionLog
from podium.registry.records import (
    ApiKeyInfo,
    EventRecord,
    KeyRight,
    KeyVerdict,
    ModelInfo,
    ModelVersionInfo,
    RunInfo,
    RunStatus,
    TrialStatus,
)
from podium.registry.refs import DEFAULT_ALIAS, ModelRef, parse_ref
from podium.registry.schema import ColumnSchema, InputSchema, OutputSchema, Task
from podium.registry.store import Registry

__all__ = [
    "Registry",
    "ModelPackage",
    "InputSchema",
    "OutputSchema",
    "ColumnSchema",
    "Task",
    "ArtifactStore",
    "ArtifactExists",
    "ModelRef",
    "parse_ref",
    "DEFAULT_ALIAS",
    "ModelVersionInfo",
    "ModelInfo",
    "RunInfo",
    "RunStatus",
    "TrialStatus",
    "ApiKeyInfo",
    "KeyVerdict",
    "KeyRight",
    "EventRecord",
    "PredictionLog",
    "library_versions",
    "MANIFEST",
    "MODEL_FILE",
]
