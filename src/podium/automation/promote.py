"""Champion / challenger: may the new model replace the one in service?

``decide_promotion`` returns a decision with its figures; acting on it (moving the alias,
notifying) is the caller's. The challenger must clear the gate and, by default, be no worse
than the champion when both score the same test rows; its input schema must stay
compatible; and, loaded afresh in another process from its package (checksums and
signature verified as every load does), it must reproduce its holdout predictions.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import UserError
from podium.registry import InputSchema, ModelPackage, Registry
from podium.registry.signing import TrustPolicy
from podium.spec import PromotionSpec
from podium.training import Metric

__all__ = ["PromotionDecision", "schema_changes", "decide_promotion", "smoke_test", "promote", "rollback"]


@dataclass(frozen=True)
class PromotionDecision:
    promote: bool
    message: str
    figures: dict[str, Any] = field(default_factory=dict)


def schema_changes(champion: InputSchema, challenger: InputSchema) -> list[str]:
    """Breaking changes for callers of the service: a removed column or a changed type."""
    old = {c.name: c for c in champion.columns}
    new = {c.name: c for c in challenger.columns}
    changes = [f"column '{name}' was removed" for name in old if name not in new]
    changes += [f"column '{name}' changed type {old[name].kind} → {new[name].kind}"
                for name in old if name in new and old[name].kind != new[name].kind]
    changes += [f"column '{name}' is new and required" for name in new
                if name not in old and not new[name].nullable]
    return changes


def score_on(package: ModelPackage, X_test: pd.DataFrame, y_test: pd.Series, metric: Metric) -> float | None:
    """A package's score on these rows (None if it cannot read them)."""
    try:
        scored, _ = package.predict_frame(X_test)
    except Exception:  # a schema the champion does not know: no comparison possible
        return None
    classes = package.output_schema.classes
    proba = None
    if classes is not None:
        columns = [f"proba_{c}" for c in classes]
        if all(c in scored.columns for c in columns):
            proba = scored[columns].to_numpy()
    try:
        return metric.value(y_test.to_numpy(), scored["prediction"].to_numpy(), proba, classes)
    except ValueError:
        return None


def decide_promotion(
    *,
    challenger_value: float,
    champion: ModelPackage | None,
    challenger: ModelPackage,
    X_test: pd.DataFrame,
    y_test: pd.Series,
    metric: Metric,
    policy: PromotionSpec,
    dataset_fingerprint: str | None = None,
) -> PromotionDecision:
    """Compare the challenger with the champion on the same rows, under the policy.

    On new data both score the new test rows. On the data the champion was trained on
    (a replay), the champion's recorded holdout score is used: refitted on every row, it
    has seen this test split.
    """
    figures: dict[str, Any] = {"metric": metric.name, "challenger": challenger_value,
                               "tolerance": policy.tolerance}
    if champion is None:
        return PromotionDecision(True, "no champion yet: the challenger takes the place", figures)
    changes = schema_changes(champion.input_schema, challenger.input_schema)
    figures["schema_changes"] = changes
    if changes and not policy.allow_breaking_schema:
        return PromotionDecision(False, "breaking input schema change: " + "; ".join(changes)
                                 + " (set promotion.allow_breaking_schema to allow)", figures)
    if not policy.compare_with_champion:
        return PromotionDecision(True, "the gate alone decides (compare_with_champion is off)", figures)
    same_data = dataset_fingerprint is not None and \
        champion.lineage.get("dataset_fingerprint") == dataset_fingerprint
    if same_data and metric.name in champion.metrics:
        # the champion was refitted on these very rows: its recorded holdout score is the fair one
        value: float | None = float(champion.metrics[metric.name])
        figures["basis"] = "holdout scores on the same data"
    else:
        value = score_on(champion, X_test, y_test, metric)
        figures["basis"] = "the new data's test rows"
    figures["champion"] = value
    if value is None:
        return PromotionDecision(True, "the champion cannot score the new rows: the challenger takes over",
                                 figures)
    margin = metric.score(challenger_value) - metric.score(value)
    figures["margin"] = margin
    if margin >= -policy.tolerance:
        return PromotionDecision(True, f"challenger {metric.name} {challenger_value:.4g} vs champion "
                                       f"{value:.4g} ({figures['basis']}): not worse", figures)
    return PromotionDecision(False, f"challenger {metric.name} {challenger_value:.4g} is worse than the "
                                    f"champion's {value:.4g} ({figures['basis']}; tolerance {policy.tolerance:g})",
                             figures)


_SMOKE = """
import json, sys
import pandas as pd
from podium.registry import ModelPackage
from podium.registry.signing import TrustPolicy
package = ModelPackage.load(sys.argv[1], manifest_sha256=sys.argv[3] or None,
                            trust=TrustPolicy.from_json(json.loads(sys.argv[4])))
rows = pd.read_parquet(sys.argv[2])
scored, _ = package.predict_frame(rows)
print(json.dumps(scored["prediction"].astype(str).tolist()))
"""


def smoke_test(package_path: str | Path, X: pd.DataFrame, expected: np.ndarray, *, checksum: str | None,
               trust: TrustPolicy | None = None, timeout: float = 120) -> str | None:
    """Load the package in a fresh process and predict ``X``; None when the predictions match.

    The load is verified like any other: the manifest against ``checksum`` (the registry's
    record; None only for a package that was never registered), the files against the
    manifest, the signature under ``trust``.
    """
    policy = json.dumps((trust or TrustPolicy()).to_json())
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.parquet"
        X.to_parquet(rows)
        proc = subprocess.run([sys.executable, "-c", _SMOKE, str(package_path), str(rows), checksum or "", policy],
                              capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the package does not load in a fresh process: {last}"
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    want = [str(v) for v in expected]
    if got != want:
        mismatches = sum(a != b for a, b in zip(got, want))
        return f"reloaded in a fresh process, it changed {mismatches} of {len(want)} holdout predictions"
    return None


def promote(registry: Registry, ref: str, *, alias: str = "champion") -> tuple[int | None, int]:
    """Move ``alias`` to the version ``ref`` names, by hand; returns (previous, new).

    The version's package is verified first (checksums, and its signature under the
    registry's trust policy): a package that could not be served is not promoted.
    """
    info = registry.verify(ref)
    previous = registry.set_alias(info.name, alias, info.version)
    registry.record_event("promoted_by_hand", {"alias": alias, "from": previous, "to": info.version},
                          model=info.name, version=info.version)
    return previous, info.version


def rollback(registry: Registry, name: str, *, alias: str = "champion") -> tuple[int, int]:
    """Move ``alias`` back to the version it pointed at before its last move; returns (from, to)."""
    current = registry.resolve(f"{name}@{alias}").version
    for event in registry.list_events(kind="alias_moved", model=name, limit=1000):
        moved = event.payload
        if moved.get("alias") == alias and moved.get("to") == current and moved.get("from") is not None:
            registry.verify(f"{name}:{int(moved['from'])}")
            registry.set_alias(name, alias, int(moved["from"]))
            registry.record_event("rolled_back", {"alias": alias, "from": current, "to": moved["from"]},
                                  model=name, version=int(moved["from"]))
            return current, int(moved["from"])
    raise UserError(f"{name}@{alias} has no earlier version to roll back to (it is at version {current}).",
                    hint=f"promote a version by hand: podium models promote {name}:N")
