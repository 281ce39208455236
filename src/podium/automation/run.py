"""One pipeline run, end to end: read → prepare → compete → gate → register → notify.

``run_pipeline`` is what ``podium run`` calls and what a watcher calls for a new dataset
version. Every run is recorded with every trial; every decision with its figures.
"""

from __future__ import annotations

import platform
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import podium
from podium._internal import failpoints
from podium._internal.fingerprint import file_fingerprint, frame_fingerprint
from podium.automation.events import Event, gate_failed_event
from podium.automation.notifiers import Delivery, Notifier, build_notifiers, notify_all
from podium.candidates import resolve_device, use_device
from podium.config import Settings
from podium.data import Source, resolve_source, sample_rows
from podium.data.series import SeriesLayout, parse_times
from podium.automation.promote import Holdout, PromotionDecision, decide_promotion, finish_promotion, smoke_test
from podium.errors import NotFoundError, PodiumError
from podium.registry import ModelPackage, ModelVersionInfo, OutputSchema, Registry
from podium.registry.artifacts import MANIFEST
from podium.registry.scoring import FORECASTER, EngineInfo
from podium.registry.datasets import DatasetStore
from podium.registry.pipelines import new_owner
from podium.spec import PipelineSpec
from podium._internal.process import release_memory
from podium.training.budget import CHECK_ROWS, SMOKE_ROWS
from podium.training.compile import compile_model
from podium.training.forecasting import NOT_A_GRAPH, fitted_layout
from podium.training import (
    FinalPlan,
    ForecastProblem,
    GateDecision,
    PhaseClock,
    Prepared,
    Problem,
    TrainerEvent,
    TrialResult,
    check_gate,
    compete,
    final_workers,
    fit_final,
    make_executor,
    plan_finish,
    prepare,
    select_candidates,
)

__all__ = ["RunResult", "run_pipeline"]


@dataclass
class RunResult:
    """What a run did, as the CLI prints it (``--json``) and a watcher records it."""

    run_id: str
    status: str  # registered | not_promoted | awaiting_approval | gate_failed
    task: str
    metric: str
    leaderboard: list[dict[str, Any]]
    gate: GateDecision
    model: str | None = None
    version: int | None = None
    alias: str | None = None
    notes: list[str] = field(default_factory=list)
    deliveries: list[Delivery] = field(default_factory=list)
    seconds: float = 0.0
    columns: dict[str, str] = field(default_factory=dict)
    promotion: PromotionDecision | None = None
    #: the budget's plan and what each phase took (``PhaseClock.to_json``)
    timing: dict[str, Any] = field(default_factory=dict)

    @property
    def exit_code(self) -> int:
        return 0 if self.status == "registered" else 3

    def to_json(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "status": self.status,
            "task": self.task,
            "metric": self.metric,
            "leaderboard": self.leaderboard,
            "gate": {"passed": self.gate.passed, "message": self.gate.message, **self.gate.figures},
            "promotion": None if self.promotion is None else
            {"promoted": self.promotion.promote, "message": self.promotion.message, **self.promotion.figures},
            "model": None if self.model is None else
            {"name": self.model, "version": self.version, "alias": self.alias},
            "notes": self.notes,
            "notifications": [{"notifier": d.notifier, "ok": d.ok, "error": d.error}
                              for d in self.deliveries],
            "seconds": round(self.seconds, 2),
            "columns": self.columns,
            "timing": self.timing,
        }


def run_pipeline(
    spec: PipelineSpec,
    settings: Settings,
    *,
    registry: Registry | None = None,
    frame: pd.DataFrame | None = None,
    on_event: Callable[[TrainerEvent], None] | None = None,
    on_prepared: Callable[[Prepared], None] | None = None,
    on_run_started: Callable[[str], None] | None = None,
    origin: str | None = None,
    data_note: str | None = None,
    fence: Callable[[], None] | None = None,
    dataset: str | None = None,
    owner: str | None = None,
    started: float | None = None,
) -> RunResult:
    """Run the whole pipeline of ``spec``; returns the result (gate failures included).

    Raises a ``UserError`` for bad input (nothing is recorded before the data is read).
    ``frame`` with ``origin`` (e.g. "dataset sales:3") trains on rows already read;
    ``data_note`` (what changed in the data) goes into the messages sent when the new model
    is not promoted. ``fence``, called before anything is registered, raises to stop a run
    that may no longer register (a watcher that lost its job's lease); ``owner`` names the
    process running it (default this one), for recovery to tell a killed run. ``dataset`` names the
    dataset version the rows are (``sales:3``): a later challenger is also compared with this
    run's model on that version's holdout. ``started`` is when the budget's clock started (default:
    now; the CLI passes its process's start, so that the budget covers its imports too).
    """
    started = time.time() if started is None else started
    device = resolve_device(spec.device or settings.device)  # cuda asked without one: SpecError
    clock = PhaseClock(spec.budget.seconds if spec.budget.trials is None else None, started)
    registry = registry or Registry.from_settings(settings)
    failpoints.arm(settings.test_kill_at)
    notifiers = build_notifiers(spec.notify if spec.notify is not None else settings.notify)
    cap = None if spec.task == "forecast" else spec.budget.row_cap()  # a forecast needs whole series
    with clock.phase("read"):
        n_source: int | None = None
        if frame is None or origin is None:
            source = resolve_source(spec.source)
            origin = source.describe()
            if frame is None:
                frame, n_source = _read_rows(source, _needed_columns(spec), cap, spec.split.seed)
        if n_source is None:  # rows handed in (a dataset version)
            n_source = len(frame)
            frame = frame if cap is None else sample_rows(frame, cap, spec.split.seed)
    with clock.phase("prepare"):
        prepared = prepare(frame, spec, drawn_from=n_source)
        if on_prepared is not None:
            on_prepared(prepared)
        problem = prepared.problem
        candidates, notes = select_candidates(spec.candidates, problem.task, problem.n_rows)
        notes = prepared.notes + notes
        if n_source > len(frame):
            notes.insert(0, f"trained on {len(frame):,} of the source's {n_source:,} rows, drawn at random "
                            f"(budget.max_rows: {spec.budget.max_rows}; `max_rows: null` or `--max-rows all` reads "
                            "every row)")
            clock.notes["rows"] = {"source": n_source, "read": len(frame)}
        fingerprint = frame_fingerprint(frame)
        n_read = len(frame)
        del frame  # the problem holds the typed rows; the frame as read is not needed again
        if isinstance(problem, Problem):  # nor, for a table, the untyped features (a forecast reads them later):
            prepared.features = prepared.features.iloc[:0].copy()  # each forked trial worker would count them
    run_id = registry.start_run(
        spec.name, spec=spec.recorded(), task=problem.task,
        metric=problem.metric.name, dataset_fingerprint=fingerprint,
        source=origin, owner=owner or new_owner())
    if on_run_started is not None:
        on_run_started(run_id)
    failpoints.reach("run.started")
    try:
        executor = make_executor(settings.executor, spec.n_jobs or settings.n_jobs,
                                 ray_address=settings.ray_address,
                                 ray_temp_dir=Path(settings.cache_dir) / "ray" if settings.cache_dir else None)
        if executor.memory_limited:
            notes.append(executor.memory_limited)
        with clock.phase("competition"):
            board = compete(problem, candidates, budget=spec.budget, executor=executor, seed=spec.seed,
                            constraints=spec.constraints, on_event=on_event, ensemble=spec.ensemble, device=device,
                            clock=clock, refit=spec.split.refit)
        rows = board.rows()
        registry.record_trials(run_id, rows)
        failpoints.reach("run.trials_recorded")
        best = board.best
        decision = check_gate(best.value if best else None, problem.metric, spec.gate.min_score)
        result = RunResult(run_id, "gate_failed", problem.task, problem.metric.name, rows, decision,
                           notes=notes, columns={c: t.value for c, t in prepared.source_types.items()})
        if not decision.passed or best is None or best.value is None:  # a pass has a value
            result.deliveries = notify_all(notifiers, _with_data(gate_failed_event(
                model=spec.model_name, run_id=run_id, metric=problem.metric.name,
                threshold=spec.gate.min_score, best_score=best.value if best else None, rows=rows,
                greater_is_better=problem.metric.greater_is_better,
                command=f"podium runs replay {run_id}"), data_note))
            result.seconds = time.time() - started
            result.timing = clock.to_json()
            registry.finish_run(run_id, "gate_failed", summary=_summary(result))
            return result
        workers = final_workers(executor)
        final = plan_finish(problem, board, best, clock, refit=spec.split.refit, workers=workers)
        with clock.phase("final_fit"), use_device(device):
            # iterative families stop past their share of what is left (never before 1.2 × their plan)
            left = clock.left()
            fixed = clock.planned["compile"] + clock.planned["package"] + clock.planned["register"]
            pipeline = best.fitted() if final.reuse else fit_final(
                problem, best.trial, board, refit_all=spec.split.refit, rows=final.rows,
                deadline=None if left is None else time.time() + max(
                    left - fixed, 1.2 * clock.planned["final_fit"] + 1.0), workers=workers)
            release_memory()
        if isinstance(problem, ForecastProblem):
            package = _forecast_package(spec, prepared, problem, pipeline, best, rows, notes,
                                        _lineage(spec, origin, n_read, fingerprint, run_id, best.trial.candidate))
        else:
            schema = prepared.input_schema
            with clock.phase("compile"):  # the graph checked on up to CHECK_ROWS holdout rows
                compiled = compile_model(pipeline, schema, problem.task, problem.classes or [],
                                         schema.typed(problem.X_test.iloc[:CHECK_ROWS]))
            _engine_on_board(rows, best.trial.id, compiled.engine)
            if compiled.engine.reason:
                notes.append(f"served on the scikit-learn engine: {compiled.engine.reason}")
            if compiled.note:
                notes.append(f"compiled graph: {compiled.note}")
            package = ModelPackage(
                pipeline=pipeline,
                input_schema=schema,
                output_schema=OutputSchema(task=problem.task, target=spec.target, classes=problem.classes),
                metric=problem.metric.name,
                metrics=best.metrics,
                leaderboard=rows,
                lineage=_lineage(spec, origin, n_read, fingerprint, run_id, best.trial.candidate),
                notes=notes,
                engine_info=compiled.engine,
                onnx_model=compiled.model,
                training=_training_block(problem, refit=spec.split.refit, final=final),
            )
        _register_and_promote(registry, spec, package, result, prepared, best.value, fingerprint,
                              fence=fence, dataset=dataset, notifiers=notifiers, data_note=data_note,
                              started=started, clock=clock)
        return result
    except PodiumError as exc:
        registry.finish_run(run_id, "failed", summary={"notes": notes}, error=str(exc))
        raise
    except BaseException as exc:
        registry.finish_run(run_id, "failed", summary={"notes": notes}, error=f"{type(exc).__name__}: {exc}")
        if isinstance(exc, Exception):
            notify_all(notifiers, Event(kind="run_failed", title=f"podium run of '{spec.name}' failed",
                                        text=f"{type(exc).__name__}: {exc}", payload={"run_id": run_id}))
        raise


def _read_rows(source: Source, columns: list[str] | None, cap: int | None, seed: int) -> tuple[pd.DataFrame, int]:
    """The rows a run reads (at most about ``cap``, drawn at random) and how many the source has."""
    if cap is not None:
        return source.read_sample(columns, cap, seed)
    frame = source.read() if columns is None else source.read_columns(columns)
    return frame, len(frame)


def _needed_columns(spec: PipelineSpec) -> list[str] | None:
    """The columns to read when the spec's first step selects them (with the target and the
    split's time column): the source reads no other. None: every column."""
    if spec.task == "forecast" or not spec.steps or spec.steps[0].name != "select_columns":
        return None
    named = [str(c) for c in spec.steps[0].params.get("columns", [])]
    extra = [spec.target, *([spec.split.time_column] if spec.split.time_column else [])]
    return named + [c for c in extra if c not in named]


def _engine_on_board(rows: list[dict[str, Any]], trial_id: int, engine: EngineInfo) -> None:
    """The champion's leaderboard row says what it is served on, and why not compiled."""
    for row in rows:
        if row.get("trial") == trial_id:
            row["engine"] = engine.name
            row["engine_reason"] = engine.reason


def _forecast_package(spec: PipelineSpec, prepared: Prepared, problem: ForecastProblem, forecaster: Any,
                      best: TrialResult, rows: list[dict[str, Any]], notes: list[str],
                      lineage: dict[str, Any]) -> ModelPackage:
    """A forecast package: the fitted forecaster (its own engine) and the series' layout."""
    engine = EngineInfo(FORECASTER, reason=NOT_A_GRAPH)
    _engine_on_board(rows, best.trial.id, engine)
    layout = fitted_layout(problem.layout, forecaster)
    points, holdout = len(problem.train), len(problem.test)
    refit = spec.split.refit
    return ModelPackage(
        pipeline=forecaster,
        input_schema=prepared.input_schema,
        output_schema=OutputSchema.from_target(prepared.features[spec.target], "forecast", target=spec.target),
        metric=problem.metric.name,
        metrics=best.metrics,
        leaderboard=rows,
        lineage=lineage,
        notes=notes,
        engine_info=engine,
        training={
            "metrics_from": f"the winning configuration fitted on the first {points} points, forecasting the last "
                            f"{layout.horizon} of each of the {problem.n_series} series ({holdout} points) unseen",
            "refit_on_all_rows": refit,
            "shipped_model": f"refitted on all {points + holdout} points after scoring" if refit else
                             f"the forecaster fitted on the first {points} points",
            "train_rows": points,
            "holdout_rows": holdout,
            "backtest_windows": len(problem.backtest),
        },
        series_layout=layout,
    )


def _judged_rows(prepared: Prepared) -> tuple[pd.DataFrame, pd.Series]:
    """The rows a champion and a challenger are both scored on: a table's holdout rows, or a
    forecast's whole series (each scores its forecast of their last ``horizon`` points)."""
    problem = prepared.problem
    if isinstance(problem, ForecastProblem):
        return prepared.features, prepared.features[problem.layout.target]
    return problem.X_test, problem.y_test


def _training_block(problem: Problem, *, refit: bool, final: FinalPlan) -> dict[str, Any]:
    """How the shipped model relates to the metrics recorded with it (stated in the package)."""
    train, holdout = len(problem.X_train), len(problem.X_test)
    if final.reuse:  # the budget allowed no refit on more rows than the winning trial saw
        return {
            "metrics_from": f"this very model, scored on the {holdout} holdout rows it never saw",
            "refit_on_all_rows": False,
            "shipped_model": f"the winning trial's own model, fitted on {final.rows} train rows: the time "
                             "budget allowed no refit on more",
            "train_rows": train,
            "holdout_rows": holdout,
            "final_rows": final.rows,
        }
    if final.rows < (train + holdout if refit else train):  # the budget allowed fewer rows
        return {
            "metrics_from": f"the winning configuration scored on the {holdout} holdout rows it never saw",
            "refit_on_all_rows": False,
            "shipped_model": f"refitted on {final.rows} rows ({'the holdout and ' if refit else ''}train rows "
                             "at random): as many as the time budget allowed",
            "train_rows": train,
            "holdout_rows": holdout,
            "final_rows": final.rows,
        }
    return {
        "metrics_from": f"the winning configuration fitted on the {train} train rows, scored on the "
                        f"{holdout} holdout rows it never saw",
        "refit_on_all_rows": refit,
        "shipped_model": (f"refitted on all {train + holdout} rows (train + holdout) after scoring: "
                          "its metrics are those of the same configuration on the holdout") if refit else
                         f"the model fitted on the {train} train rows: the one the metrics were measured on",
        "train_rows": train,
        "holdout_rows": holdout,
    }


def _register_and_promote(registry: Registry, spec: PipelineSpec, package: ModelPackage, result: RunResult,
                          prepared: Prepared, value: float, fingerprint: str, *, fence: Callable[[], None] | None,
                          dataset: str | None, notifiers: list[Notifier[Any]], data_note: str | None,
                          started: float, clock: PhaseClock) -> None:
    """Decide, record the decision, register the challenger, then act on the decision.

    The decision (smoke test included) is recorded before the version is registered, so a
    crash anywhere after it leaves a promotion that recovery completes (``finish_promotion``).
    """
    model, alias = spec.model_name, spec.registration.alias
    with clock.phase("package"):
        champion_info = _current_version(registry, model, alias)
        champion = None if champion_info is None else registry.load(champion_info.ref)
        X_test, y_test = _judged_rows(prepared)
        try:
            reference = _reference_holdout(registry, spec, champion_info, champion)
            promotion = decide_promotion(
                challenger_value=value, champion=champion, challenger=package, X_test=X_test,
                y_test=y_test, metric=prepared.problem.metric, policy=spec.promotion,
                dataset_fingerprint=fingerprint, reference=reference)
        except PodiumError as exc:  # an unreadable reference must not let a challenger through
            promotion = PromotionDecision(False, f"the reference holdout cannot be used: {exc}", {})
        if promotion.promote and spec.promotion.smoke_test:
            failure = _smoke_test(registry, package, X_test)
            if failure is not None:
                promotion = PromotionDecision(False, f"smoke test failed: {failure}", promotion.figures)
    decision = "keep" if not promotion.promote else "approve" if spec.promotion.approval == "manual" else "promote"
    if fence is not None:
        fence()
    with clock.phase("register"):
        registry.record_promotion(result.run_id, model=model, alias=alias, dataset=dataset,
                                  champion=None if champion_info is None else champion_info.version,
                                  decision=decision, message=promotion.message, figures=promotion.figures)
        failpoints.reach("run.decided")
        version = registry.register(model, package, run_id=result.run_id, alias=None)
        failpoints.reach("run.registered")
        registry.promotion_registered(result.run_id, version)
        failpoints.reach("run.version_noted")
        result.model, result.version = model, version
        result.status = {"promote": "registered", "approve": "awaiting_approval"}.get(decision, "not_promoted")
        result.alias = alias if decision == "promote" else None
        result.promotion = promotion
        result.seconds = time.time() - started
        result.timing = clock.to_json()
        record, result.deliveries = finish_promotion(registry, result.run_id, notifiers=notifiers,
                                                     data_note=data_note, summary=_summary(result))
    result.seconds = time.time() - started
    result.timing = clock.to_json()
    if record.state != "promoted" and result.status == "registered":  # a newer move won meanwhile
        result.status, result.alias = "not_promoted", None
        result.promotion = PromotionDecision(False, record.outcome or record.state, promotion.figures)


def _smoke_test(registry: Registry, package: ModelPackage, X_test: pd.DataFrame) -> str | None:
    """The package, saved (and signed) as registering will save it, then loaded in a fresh
    process with every check a load makes (checksums, signature under the registry's trust),
    reproduces its predictions of (up to ``SMOKE_ROWS``) holdout rows (a forecast package: its
    forecast from the series). Run before registering: it is part of the decision."""
    future = None
    if package.series_layout is not None:
        X_test, future = _smoke_series(package.series_layout, X_test)
        expected = package.forecast(X_test, future)[package.series_layout.target].to_numpy()
    else:
        X_test = X_test.iloc[:SMOKE_ROWS]
        expected = package.predict_frame(X_test)[0]["prediction"].to_numpy()
    with tempfile.TemporaryDirectory(prefix="podium-smoke-") as tmp:
        package.save(None, tmp, signer=registry.signing_key)
        return smoke_test(tmp, X_test, expected, future=future,
                          checksum=file_fingerprint(Path(tmp) / MANIFEST), trust=registry.trust)


def _smoke_series(layout: SeriesLayout, rows: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame | None]:
    """The histories and future covariates a forecast package's smoke test forecasts from: the
    whole series without known-future covariates; with them, each series but its last
    ``horizon`` points, whose covariates are the future (the values after the data are unknown)."""
    if not layout.known_future:
        return rows, None
    keys = [layout.series_id] if layout.series_id else []
    ordered = rows.assign(_time=parse_times(rows[layout.time_column], layout.time_column).to_numpy())
    ordered = ordered.sort_values([*keys, "_time"], kind="stable").drop(columns="_time")
    from_end = ordered.groupby(keys, sort=False).cumcount(ascending=False) if keys else \
        pd.Series(np.arange(len(ordered))[::-1], index=ordered.index)
    ahead = from_end < layout.horizon
    return ordered[~ahead], ordered.loc[ahead, [*keys, layout.time_column, *layout.known_future]]


def _reference_holdout(registry: Registry, spec: PipelineSpec, champion_info: ModelVersionInfo | None,
                       champion: ModelPackage | None) -> Holdout | None:
    """The operator's frozen holdout: ``promotion.reference``, else the dataset version that made
    the champion (None when neither is known, e.g. a champion trained from a file)."""
    if champion is None:
        return None
    ref = spec.promotion.reference
    if ref is None and champion_info is not None and champion_info.run_id is not None:
        made = registry.promotion(champion_info.run_id)
        ref = made.dataset if made is not None else None
    if ref is None:
        return None
    frame = DatasetStore(registry).load(ref)
    X, y = _judged_rows(prepare(frame, spec))
    return Holdout(ref, X, y, frame_fingerprint(frame))


def _with_data(event: Event, data_note: str | None) -> Event:
    """The event with what changed in the data, when the caller knows it."""
    if not data_note:
        return event
    return replace(event, text=f"{event.text}\n\nThe data: {data_note}", payload={**event.payload, "data": data_note})


def _current_version(registry: Registry, model: str, alias: str) -> ModelVersionInfo | None:
    try:
        return registry.resolve(f"{model}@{alias}")
    except NotFoundError:
        return None


def _summary(result: RunResult) -> dict[str, Any]:
    return {k: v for k, v in result.to_json().items() if k not in ("leaderboard", "run_id")}


def _lineage(spec: PipelineSpec, origin: str, n_rows: int, fingerprint: str, run_id: str,
             winner: str) -> dict[str, Any]:
    import lightgbm
    import numpy
    import sklearn

    return {
        "run_id": run_id,
        "dataset_fingerprint": fingerprint,
        "rows": n_rows,
        "source": origin,
        "spec_hash": spec.fingerprint(),
        "spec": spec.recorded(),  # no literal secret: ${NAME} as written, the rest ***
        "seed": spec.seed,
        "winner": winner,
        "created_at": datetime.now(timezone.utc).isoformat(),
        "versions": {"podium": podium.__version__, "python": platform.python_version(),
                     "scikit-learn": sklearn.__version__, "pandas": pd.__version__,
                     "numpy": numpy.__version__, "lightgbm": lightgbm.__version__},
    }
