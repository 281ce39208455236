"""Champion / challenger: may the new model replace the one in service?

``decide_promotion`` returns a decision with its figures. The challenger must clear the
gate and, by default, be no worse than the champion when both score the same rows — the new
data's test rows *and* a reference holdout the operator froze (so whoever supplies new data
does not also choose the judge); its input schema must stay compatible; and, loaded afresh
in another process from its package (checksums and signature verified as every load
does), it must reproduce its holdout predictions.

Acting on a decision survives a crash: the run records it in the registry before the
challenger is registered, and ``finish_promotion`` — called by the run, or by a watcher's
recovery after a kill — completes it: the alias moves by compare-and-set (a newer move
wins), the outcome is notified once, and the run is finished. With ``approval: manual`` the
challenger waits for ``approve`` (``podium models approve NAME:V``).
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from podium._internal import failpoints
from podium.automation.events import Event
from podium.automation.notifiers import Delivery, Notifier, build_notifiers, notify_all
from podium.config import Settings
from podium.errors import NotFoundError, PodiumError, UserError
from podium.registry import InputSchema, ModelPackage, Registry
from podium.registry.pipelines import PipelineStore
from podium.registry.records import PromotionRecord
from podium.registry.signing import TrustPolicy
from podium.spec import PromotionSpec, parse_spec
from podium.training import Metric
from podium.training.forecasting import holdout_score

__all__ = ["PromotionDecision", "Holdout", "schema_changes", "decide_promotion", "smoke_test", "promote", "rollback",
           "approve", "notifiers_for", "promotion_event", "finish_promotion", "RUN_STATUS_OF"]


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
    """A package's score on these rows (None if it cannot read them). A forecast package gets
    whole series and is scored on its forecast of their last ``horizon`` points."""
    if package.series_layout is not None:
        try:
            return holdout_score(package.pipeline, package.series_layout, X_test, metric)
        except Exception:  # columns or a horizon the champion does not know: no comparison possible
            return None
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


@dataclass(frozen=True)
class Holdout:
    """Rows both models are scored on: ``name`` (e.g. ``sales:3``), features, target, and the
    fingerprint of the dataset version they were split from."""

    name: str
    X: pd.DataFrame
    y: pd.Series
    fingerprint: str | None = None


def _compare(champion: ModelPackage, challenger_value: float | None, rows: Holdout, metric: Metric,
             tolerance: float) -> dict[str, Any]:
    """One comparison: both scores on ``rows``, the margin, and on what basis."""
    figures: dict[str, Any] = {"rows": rows.name, "challenger": challenger_value}
    same_data = rows.fingerprint is not None and champion.lineage.get("dataset_fingerprint") == rows.fingerprint
    if same_data and metric.name in champion.metrics:
        # the champion was refitted on these very rows: its recorded holdout score is the fair one
        value: float | None = float(champion.metrics[metric.name])
        figures["basis"] = "holdout scores on the same data"
    else:
        value = score_on(champion, rows.X, rows.y, metric)
        figures["basis"] = "both scored on these rows"
    figures["champion"] = value
    if value is not None and challenger_value is not None:
        figures["margin"] = metric.score(challenger_value) - metric.score(value)
        figures["not_worse"] = figures["margin"] >= -tolerance
    return figures


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
    reference: Holdout | None = None,
) -> PromotionDecision:
    """Compare the challenger with the champion on the same rows, under the policy.

    Twice: on the new data's test rows (on the very data the champion learned from — a
    replay — the champion's recorded holdout score is used, since it was refitted on those
    rows), and on ``reference``, a holdout the operator froze, which whoever supplied the new
    data does not control. The challenger must be no worse on both; both are recorded.
    """
    figures: dict[str, Any] = {"metric": metric.name, "challenger": challenger_value,
                               "tolerance": policy.tolerance, "approval": policy.approval}
    if champion is None:
        return PromotionDecision(True, "no champion yet: the challenger takes the place", figures)
    changes = schema_changes(champion.input_schema, challenger.input_schema)
    figures["schema_changes"] = changes
    if changes and not policy.allow_breaking_schema:
        return PromotionDecision(False, "breaking input schema change: " + "; ".join(changes)
                                 + " (set promotion.allow_breaking_schema to allow)", figures)
    if not policy.compare_with_champion:
        return PromotionDecision(True, "the gate alone decides (compare_with_champion is off)", figures)
    new = _compare(champion, challenger_value, Holdout("the new data's test rows", X_test, y_test,
                                                       dataset_fingerprint), metric, policy.tolerance)
    figures["basis"] = "holdout scores on the same data" if new["basis"].startswith("holdout") \
        else "the new data's test rows"
    figures["champion"] = new["champion"]
    if "margin" in new:
        figures["margin"] = new["margin"]
    ref: dict[str, Any] | None = None
    if reference is not None:
        ref = _compare(champion, score_on(challenger, reference.X, reference.y, metric), reference, metric,
                       policy.tolerance)
        figures["reference"] = ref
    else:
        figures["reference"] = {"rows": None, "note": "no reference holdout: the champion was not trained on a "
                                                      "dataset version; set promotion.reference to freeze one"}
    if new["champion"] is not None and not new["not_worse"]:
        return PromotionDecision(False, f"challenger {metric.name} {challenger_value:.4g} is worse than the "
                                        f"champion's {new['champion']:.4g} ({figures['basis']}; tolerance "
                                        f"{policy.tolerance:g})", figures)
    if ref is not None:
        if ref["challenger"] is None:
            return PromotionDecision(False, f"the challenger cannot score the reference holdout {ref['rows']}",
                                     figures)
        if ref["champion"] is not None and not ref["not_worse"]:
            return PromotionDecision(
                False, f"on the reference holdout {ref['rows']}, challenger {metric.name} {ref['challenger']:.4g} "
                       f"is worse than the champion's {ref['champion']:.4g} (tolerance {policy.tolerance:g})",
                figures)
    on_ref = "" if ref is None or ref["champion"] is None else \
        f"; on the reference holdout {ref['rows']}: {ref['challenger']:.4g} vs {ref['champion']:.4g}"
    if new["champion"] is None:
        return PromotionDecision(True, "the champion cannot score the new rows: the challenger takes over"
                                 + on_ref, figures)
    return PromotionDecision(True, f"challenger {metric.name} {challenger_value:.4g} vs champion "
                                   f"{new['champion']:.4g} ({figures['basis']}){on_ref}: not worse", figures)


_SMOKE = """
import json, sys
import pandas as pd
from podium.registry import ModelPackage
from podium.registry.signing import TrustPolicy
package = ModelPackage.load(sys.argv[1], manifest_sha256=sys.argv[3] or None,
                            trust=TrustPolicy.from_json(json.loads(sys.argv[4])))
rows = pd.read_parquet(sys.argv[2])
if package.series_layout is not None:
    future = pd.read_parquet(sys.argv[5]) if sys.argv[5] else None
    scored = package.forecast(rows, future).rename(columns={package.series_layout.target: "prediction"})
else:
    scored, _ = package.predict_frame(rows)
print(json.dumps(scored["prediction"].astype(str).tolist()))
"""


def smoke_test(package_path: str | Path, X: pd.DataFrame, expected: np.ndarray, *, checksum: str | None,
               trust: TrustPolicy | None = None, timeout: float = 120,
               future: pd.DataFrame | None = None) -> str | None:
    """Load the package in a fresh process and predict ``X``; None when the predictions match.

    A forecast package forecasts from the histories ``X``, with the known-future covariates
    ``future`` when it has some.

    The load is verified like any other: the manifest against ``checksum`` (the registry's
    record; None only for a package that was never registered), the files against the
    manifest, the signature under ``trust``.
    """
    policy = json.dumps((trust or TrustPolicy()).to_json())
    with tempfile.TemporaryDirectory() as tmp:
        rows = Path(tmp) / "rows.parquet"
        X.to_parquet(rows)
        ahead = Path(tmp) / "future.parquet"
        if future is not None:
            future.to_parquet(ahead)
        proc = subprocess.run([sys.executable, "-c", _SMOKE, str(package_path), str(rows), checksum or "", policy,
                               str(ahead) if future is not None else ""],
                              capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        last = (proc.stderr.strip().splitlines() or ["no output"])[-1]
        return f"the package does not load in a fresh process: {last}"
    got = json.loads(proc.stdout.strip().splitlines()[-1])
    want = [str(v) for v in expected]
    if got != want:
        if len(got) == len(want) and np.asarray(expected).dtype.kind == "f" and \
                np.allclose(np.asarray(got, dtype=float), np.asarray(expected, dtype=float), rtol=1e-6, atol=1e-9):
            return None  # the same values to the last bits a fresh process may round differently
        mismatches = sum(a != b for a, b in zip(got, want))
        return f"reloaded in a fresh process, it changed {mismatches} of {len(want)} holdout predictions"
    return None


def promote(registry: Registry, ref: str, *, alias: str = "champion") -> tuple[int | None, int]:
    """Move ``alias`` to the version ``ref`` names, by hand; returns (previous, new).

    The version's package is verified first (checksums, and its signature under the
    registry's trust policy): a package that could not be served is not promoted. The move is a
    compare-and-set against where the alias pointed when read: a move made meanwhile wins.
    """
    info = registry.verify(ref)
    current = _alias_target(registry, info.name, alias)
    previous = registry.set_alias(info.name, alias, info.version, expected=current)
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
            registry.set_alias(name, alias, int(moved["from"]), expected=current)
            registry.record_event("rolled_back", {"alias": alias, "from": current, "to": moved["from"]},
                                  model=name, version=int(moved["from"]))
            return current, int(moved["from"])
    raise UserError(f"{name}@{alias} has no earlier version to roll back to (it is at version {current}).",
                    hint=f"promote a version by hand: podium models promote {name}:N")


def approve(registry: Registry, ref: str, settings: Settings) -> PromotionRecord:
    """A person approves a challenger that waits (``approval: manual``): the alias moves to it,
    and the pipeline's notifiers are told."""
    info = registry.resolve(ref)
    record = registry.approve_promotion(info.name, info.version)
    notify_all(notifiers_for(registry, settings, registry.get_run(record.run_id).name), promotion_event(record))
    return record


def notifiers_for(registry: Registry, settings: Settings, pipeline: str) -> list[Notifier[Any]]:
    """Whom a pipeline tells: its bound spec's ``notify``, else the project's."""
    try:
        spec = parse_spec(PipelineStore(registry).binding(pipeline).spec, origin=f"pipeline {pipeline}")
    except PodiumError:
        return build_notifiers(settings.notify)
    return build_notifiers(spec.notify if spec.notify is not None else settings.notify)


#: how a run ends, by how its promotion ended
RUN_STATUS_OF = {"promoted": "succeeded", "kept": "not_promoted", "superseded": "not_promoted",
                 "awaiting_approval": "awaiting_approval", "abandoned": "failed"}


def promotion_event(record: PromotionRecord, data_note: str | None = None) -> Event:
    """What to tell people about how a promotion ended (or that it waits for them)."""
    ref, live = f"{record.model}:{record.version}", f"{record.model}@{record.alias}"
    payload = {"run_id": record.run_id, "model": record.model, "version": record.version,
               "state": record.state, **record.figures}
    if record.state == "promoted":
        return Event(kind="promoted", title=f"podium: {ref} is now {live}",
                     text=f"{record.message}. {record.outcome or ''}".strip(), payload=payload)
    if record.state == "awaiting_approval":
        event = Event(kind="approval_needed", title=f"podium: {ref} waits for approval to become {live}",
                      text=f"The challenger {ref} passed: {record.message}. It becomes {live} once a person "
                           f"approves it: podium models approve {ref}", payload=payload)
    else:
        reason = record.message if record.state == "kept" else (record.outcome or record.state)
        event = Event(kind="gate_failed", title=f"podium: {ref} was not promoted ({reason})",
                      text=f"The challenger {ref} cleared the gate but was not promoted: {reason}. {live} stays "
                           f"where it is. To promote it anyway: podium models promote {ref}", payload=payload)
    if data_note:
        event = replace(event, text=f"{event.text}\n\nThe data: {data_note}", payload={**payload, "data": data_note})
    return event


def finish_promotion(registry: Registry, run_id: str, *, notifiers: Sequence[Notifier[Any]],
                     data_note: str | None = None, summary: Mapping[str, Any] | None = None,
                     ) -> tuple[PromotionRecord, list[Delivery]]:
    """Complete the promotion this run decided: move the alias (or not), notify once, finish the run.

    Idempotent, so recovery may call it for a run a crash interrupted anywhere after its
    decision was recorded; returns the record and the deliveries made now.
    """
    record = registry.complete_promotion(run_id)
    failpoints.reach("promotion.completed")
    deliveries: list[Delivery] = []
    if record.notified_at is None and record.state != "abandoned":
        deliveries = notify_all(notifiers, promotion_event(record, data_note))
        failpoints.reach("promotion.notified")
        registry.promotion_notified(run_id)
        failpoints.reach("promotion.marked")
    promotion = {"state": record.state, "decision": record.decision, "message": record.message,
                 "outcome": record.outcome, **record.figures}
    told = [{"notifier": d.notifier, "ok": d.ok, "error": d.error} for d in deliveries]
    registry.finish_run(run_id, RUN_STATUS_OF[record.state],
                        summary={**(summary or {}), "promotion": promotion, **({"notifications": told} if told else {})},
                        error="interrupted before its challenger was registered" if record.state == "abandoned"
                        else None, if_running=True)
    failpoints.reach("promotion.run_finished")
    return record, deliveries


def _alias_target(registry: Registry, name: str, alias: str) -> int | None:
    try:
        return registry.resolve(f"{name}@{alias}").version
    except NotFoundError:
        return None
