"""Model drift: the rows a model was trained on against what its service logged.

The reference is the model's training data, found from its package's lineage: a dataset
version (``"dataset sales:3"``, when the watcher trained it) is loaded from the registry;
any other source is re-read from the spec's ``source`` (relative paths from the project
folder), which may have changed since training — the notes say so. The target column is
dropped. The current rows are the inputs the service logged (``podium serve --log-rate``)
for that model, and for that version when the ref pins one (``churn:3``).

::

    report, notes = model_drift(registry, "churn@champion", settings=settings, since=24)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from podium._internal.fingerprint import frame_fingerprint
from podium.data import resolve_source
from podium.data.drift import DriftReport, drift_report
from podium.errors import UserError
from podium.registry.predictions import PredictionLog
from podium.registry.refs import parse_ref

if TYPE_CHECKING:
    from podium.config import Settings
    from podium.registry import Registry

__all__ = ["MAX_LOGGED_ROWS", "DriftInputs", "drift_inputs", "model_drift"]

MAX_LOGGED_ROWS = 100_000  # the most recent logged rows compared
_DATASET = "dataset "


@dataclass(frozen=True)
class DriftInputs:
    """The two tables to compare, the model's input columns, and what was noticed on the way."""

    reference: pd.DataFrame
    current: pd.DataFrame
    columns: list[str]
    reference_name: str
    notes: list[str] = field(default_factory=list)

    def report(self) -> DriftReport:
        return drift_report(self.reference, self.current, columns=self.columns,
                            reference_name=self.reference_name)


def model_drift(registry: Registry, ref: str, *, settings: Settings,
                since: float | None = None) -> tuple[DriftReport, list[str]]:
    """Drift of what ``ref``'s service logged (the last ``since`` hours) against its training rows."""
    inputs = drift_inputs(registry, ref, settings=settings, since=since)
    return inputs.report(), list(inputs.notes)


def drift_inputs(registry: Registry, ref: str, *, settings: Settings,
                 since: float | None = None) -> DriftInputs:
    """The training rows and logged inputs of ``ref`` (see the module docstring)."""
    parsed = parse_ref(ref)
    info = registry.resolve(ref)
    package = registry.load(f"{info.name}:{info.version}")
    inputs = list(package.input_schema.names)
    notes: list[str] = []

    current = _logged_inputs(registry, info.name, version=parsed.version, since=since, notes=notes)
    reference, reference_name = _training_rows(registry, info.name, info.version, package.lineage,
                                               settings=settings, notes=notes)
    target = (package.lineage.get("spec") or {}).get("target") or getattr(package.output_schema, "target", None)
    if target in reference.columns and target not in inputs:
        reference = reference.drop(columns=[target])
    hidden = set(settings.prediction_log.drop) | set(settings.prediction_log.hash)
    if skipped := [c for c in inputs if c in hidden]:
        notes.append(f"not compared (the prediction log drops or hashes them): {', '.join(skipped)}")
    columns = [c for c in inputs if c not in hidden and (c in reference.columns or c in current.columns)]
    current = current[[c for c in columns if c in current.columns]]
    return DriftInputs(reference, current, columns, reference_name, notes)


def _logged_inputs(registry: Registry, name: str, *, version: int | None, since: float | None,
                   notes: list[str]) -> pd.DataFrame:
    log = PredictionLog(registry.engine)
    start = None if since is None else datetime.now(UTC) - timedelta(hours=float(since))
    frame = log.frame(name, version=version, since=start, limit=None)
    if frame.empty:
        which = name if version is None else f"{name}:{version}"
        window = "" if since is None else f" in the last {since:g} hours"
        raise UserError(f"no predictions logged for {which}{window} yet: serve it with --log-rate > 0")
    if len(frame) > MAX_LOGGED_ROWS:
        notes.append(f"compared the latest {MAX_LOGGED_ROWS:,} of {len(frame):,} logged predictions")
        frame = frame.tail(MAX_LOGGED_ROWS).reset_index(drop=True)
    drop = [c for c in frame.columns if c in ("time", "version", "request_id") or str(c).startswith("output.")]
    return frame.drop(columns=drop)


def _training_rows(registry: Registry, name: str, version: int, lineage: Mapping[str, Any], *,
                   settings: Settings, notes: list[str]) -> tuple[pd.DataFrame, str]:
    origin = str(lineage.get("source") or "")
    if origin.startswith(_DATASET):
        from podium.registry.datasets import DatasetStore

        dataset_ref = origin[len(_DATASET):].strip()
        return DatasetStore(registry).load(dataset_ref), dataset_ref
    spec = lineage.get("spec") or {}
    source = spec.get("source")
    if not source:
        raise UserError(f"the training data of {name}:{version} cannot be found: its lineage names no source.",
                        hint="models trained before lineage was recorded cannot be compared")
    frame = resolve_source(_from_project(source, settings.project_dir)).read()
    described = origin or str(source)
    trained = lineage.get("dataset_fingerprint")
    if trained and trained == frame_fingerprint(frame):
        notes.append(f"reference: {described}, re-read (unchanged since training)")
    elif trained:
        notes.append(f"reference: {described}, re-read: it changed since {name}:{version} was trained, "
                     "so it is not exactly the training data")
    else:
        notes.append(f"reference: {described}, re-read: it may have changed since {name}:{version} was trained")
    return frame, described


def _from_project(source: Any, project_dir: Path) -> Any:
    """A relative file path made absolute from the project folder (URLs and mappings kept)."""
    if isinstance(source, Mapping):
        fixed = dict(source)
        for key in ("url", "path"):
            if isinstance(fixed.get(key), str):
                fixed[key] = _from_project(fixed[key], project_dir)
        return fixed
    text = str(source)
    if "://" in text or Path(text).is_absolute():
        return text
    return str(Path(project_dir) / text)
