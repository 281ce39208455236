"""Global feature importance of a model version, by permutation on its holdout rows.

The holdout is rebuilt as the run built it: the rows the version learned from (its dataset
version, or its source read again), the spec's steps and split (same seed). Each input column
is shuffled in turn and the drop of the version's metric measured (greater-is-better, so a
positive importance means the model relies on the column). Computed on demand, then kept in
``.podium/console/importance/`` (a version never changes).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.config import Settings
from podium.errors import DataError
from podium.registry import Registry

__all__ = ["feature_importance", "permutation_importance"]

#: holdout rows scored at most (a random sample of them beyond)
MAX_ROWS = 2_000
REPEATS = 3


def _frame(registry: Registry, settings: Settings, lineage: dict[str, Any]) -> pd.DataFrame:
    """The rows the version learned from, read again."""
    from podium.data import resolve_source

    origin = str(lineage.get("source") or "")
    if origin.startswith("dataset "):
        from podium.registry.datasets import DatasetStore

        return DatasetStore(registry).load(origin.split(" ", 1)[1])
    source = (lineage.get("spec") or {}).get("source")
    if source is None:
        raise DataError("This version's lineage names no source: its holdout cannot be rebuilt.")
    if isinstance(source, str) and "://" not in source and not Path(source).is_absolute():
        source = str(settings.project_dir / source)
    return resolve_source(source).read()


def permutation_importance(package: Any, X: pd.DataFrame, y: pd.Series, *, repeats: int = REPEATS,
                           seed: int = 0) -> tuple[float, list[dict[str, Any]]]:
    """(the metric's value on X, per input column ``{"column", "importance", "std"}`` — the mean drop of
    the greater-is-better score when the column is shuffled — most important first)."""
    from podium.training.metrics import metric_registry

    metric = metric_registry.get(package.metric)
    classes = package.classes if package.task != "regression" else None

    def value(frame: pd.DataFrame) -> float:
        scored, _notes = package.predict_frame(frame, threads=1)
        proba = scored[[f"proba_{c}" for c in classes]].to_numpy() if classes and metric.needs_proba else None
        return metric.value(y.to_numpy(), scored["prediction"].to_numpy(), proba, classes)

    base = value(X)
    rng = np.random.default_rng(seed)
    rows: list[dict[str, Any]] = []
    for column in package.input_schema.names:
        if column not in X.columns:
            continue
        drops = []
        for _ in range(repeats):
            shuffled = X.copy()
            shuffled[column] = X[column].to_numpy()[rng.permutation(len(X))]
            drops.append(metric.score(base) - metric.score(value(shuffled)))
        rows.append({"column": column, "importance": float(np.mean(drops)), "std": float(np.std(drops))})
    rows.sort(key=lambda r: r["importance"], reverse=True)
    return base, rows


def feature_importance(registry: Registry, settings: Settings, name: str, version: int) -> dict[str, Any]:
    """``{"metric", "value", "rows", "repeats", "columns": [{"column", "importance", "std"}], "notes"}``
    for one version, from the cache when it was computed before."""
    from podium._internal.fingerprint import frame_fingerprint
    from podium.spec import parse_spec
    from podium.training.prepare import prepare
    from podium.training.problem import Problem

    info = registry.resolve(f"{name}:{version}")
    cache = settings.state_dir / "console" / "importance" / f"{info.name}-{info.version}.json"
    if cache.is_file():
        cached: dict[str, Any] = json.loads(cache.read_text())
        return cached
    package = registry.load(f"{info.name}:{info.version}")
    if package.series_layout is not None:
        raise DataError("Feature importance is for models that score rows: a forecast model reads whole series.",
                        hint="compare its forecasting families on the leaderboard instead")
    lineage = dict(package.lineage or {})
    spec_data = lineage.get("spec")
    if not isinstance(spec_data, dict):
        raise DataError("This version's lineage holds no spec: its holdout cannot be rebuilt.")
    frame = _frame(registry, settings, lineage)
    notes: list[str] = []
    if lineage.get("dataset_fingerprint") and frame_fingerprint(frame) != lineage["dataset_fingerprint"]:
        notes.append("the source's rows changed since this version was trained: its holdout is rebuilt "
                     "from the rows there are now")
    problem = prepare(frame, parse_spec(spec_data, origin=f"{info.name}:{info.version} lineage")).problem
    assert isinstance(problem, Problem), "a forecast package was refused above"
    X, y = problem.X_test, problem.y_test
    if len(X) > MAX_ROWS:
        keep = np.random.default_rng(0).choice(len(X), MAX_ROWS, replace=False)
        X, y = X.iloc[keep], y.iloc[keep]
        notes.append(f"scored on {MAX_ROWS:,} of the {len(problem.X_test):,} holdout rows")
    if (package.training or {}).get("refit_on_all_rows"):
        notes.append("the winner was refit on every row, these included: the importance says what the "
                     "model relies on, not how it generalises")
    value, columns = permutation_importance(package, X, y)
    result = {"model": info.name, "version": info.version, "metric": package.metric, "value": value,
              "rows": len(X), "repeats": REPEATS, "columns": columns, "notes": notes}
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(result))
    return result
