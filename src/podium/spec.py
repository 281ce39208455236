"""The pipeline spec: what to read, what to predict, how to compete and what to register.

Loaded from YAML (``load_spec``) or built from CLI flags; both give a ``PipelineSpec``.
Step, candidate, metric and source names stay strings here: the parts that own them
check them (with close-match suggestions) when a run starts. Secrets stay as written
(``${NAME}`` is resolved by the part that uses it); ``recorded()`` is what may be stored.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from podium._internal.fingerprint import json_fingerprint
from podium._internal.redact import redact
from podium.errors import SpecError

__all__ = [
    "PipelineSpec",
    "SplitSpec",
    "BudgetSpec",
    "GateSpec",
    "RegisterSpec",
    "ConstraintsSpec",
    "ForecastSpec",
    "PromotionSpec",
    "StepSpec",
    "Task",
    "load_spec",
    "parse_spec",
]

Task = Literal["auto", "binary", "multiclass", "regression", "forecast"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StepSpec(_Strict):
    """One step: its registered name and its parameters."""

    name: str
    params: dict[str, Any] = Field(default_factory=dict)


class SplitSpec(_Strict):
    test_size: float = Field(0.2, gt=0, lt=1, description="fraction of rows held out")
    max_test_rows: int | None = Field(
        50_000, ge=10, description="at most this many rows held out (more only slow every trial); null: no cap")
    seed: int = 42
    time_column: str | None = Field(None, description="hold out the latest rows by this column")
    cv_folds: int | Literal["auto"] = Field(
        0, description="k-fold CV on the train part for selection; 0 = off; auto = 5 up to 10,000 rows")
    refit: bool = Field(True, description="refit the winner on train + test rows before registering")
    backtest_windows: int = Field(
        0, ge=0, description="forecast: select on a rolling-origin backtest of N windows of `horizon` "
                             "points before the holdout; 0 = select on the holdout")

    @field_validator("cv_folds")
    @classmethod
    def _folds(cls, v: int | str) -> int | str:
        if isinstance(v, int) and (v == 1 or v < 0):
            raise ValueError("cv_folds must be 0 (off), at least 2, or auto")
        return v

    def folds_for(self, n_train: int) -> int:
        """The number of folds for this many train rows."""
        if self.cv_folds == "auto":
            return 5 if n_train <= 10_000 else 0
        return int(self.cv_folds)


#: ``budget.max_rows: auto`` reads at most this many rows a second of a time budget ...
ROWS_PER_BUDGET_SECOND = 20_000
#: ... and never fewer than this many
MIN_AUTO_ROWS = 250_000


class BudgetSpec(_Strict):
    """The competition's budget: seconds of wall time, or a number of trials (reproducible)."""

    seconds: float | None = Field(None, gt=0)
    trials: int | None = Field(None, gt=0)
    max_rows: int | Literal["auto"] | None = Field(
        "auto", description="rows the run reads, drawn at random (seeded) from a larger table: auto = as many "
                            f"as a time budget can use ({ROWS_PER_BUDGET_SECOND:,} a second of it, at least "
                            f"{MIN_AUTO_ROWS:,}; every row with a trial budget); a number: at most that many; "
                            "null: every row")

    @model_validator(mode="after")
    def _one(self) -> BudgetSpec:
        if self.seconds is None and self.trials is None:
            self.seconds = 60.0
        if isinstance(self.max_rows, int) and self.max_rows < 100:
            raise ValueError("max_rows must be at least 100 (or auto, or null for every row)")
        return self

    def row_cap(self) -> int | None:
        """The most rows a run reads (None: every row). A minute of training uses ~150,000 rows at
        most on two cores (the final fit's share); reading and typing millions more only spends
        the budget before the competition starts."""
        if self.max_rows != "auto":
            return self.max_rows
        if self.trials is not None or self.seconds is None:
            return None
        return max(MIN_AUTO_ROWS, int(ROWS_PER_BUDGET_SECOND * self.seconds))


class ForecastSpec(_Strict):
    """What a forecast task needs to know about the series (``task: forecast``)."""

    time_column: str = Field(description="the timestamp of each row")
    horizon: int = Field(gt=0, description="how many steps ahead to forecast; the last `horizon` points "
                                           "of every series are the holdout")
    series_id: str | None = Field(None, description="the column naming each series; none: one series")
    freq: str | None = Field(None, description="pandas frequency (D, W-MON, MS, QS, YS, h…); inferred when absent")
    season_length: int | None = Field(None, gt=0, description="steps in a season (12 for monthly…); "
                                                              "from the frequency when absent")
    known_future: list[str] = Field(default_factory=list,
                                    description="covariates known in advance for the forecast steps")
    static: list[str] = Field(default_factory=list, description="covariates constant within a series")


class GateSpec(_Strict):
    min_score: float | None = Field(None, description="the metric value the winner must reach")


class RegisterSpec(_Strict):
    model: str | None = Field(None, description="registered model name; default: the spec name")
    alias: str = "champion"


class ConstraintsSpec(_Strict):
    max_predict_ms: float | None = Field(None, gt=0, description="per-row predict time limit")
    max_model_mb: float | None = Field(None, gt=0, description="serialized model size limit")
    compiled: bool = Field(False, description="only candidates whose every step compiles to ONNX "
                                              "(served on the compiled engine)")
    max_ensemble_us: float | None = Field(
        10.0, gt=0, description="the weighted ensemble's serving cost limit: estimated CPU µs a row of its "
                                "compiled graph (100-row batches, one core), or twice the best single trial's "
                                "where that is more; null: no limit")
    max_serving_us: float | None = Field(
        None, gt=0, description="the champion's serving cost limit, ensembles included: estimated CPU µs a row "
                                "of its compiled graph (100-row batches, one core); slower models, and those "
                                "whose cost is not known, are excluded (null: no limit)")


class PromotionSpec(_Strict):
    """When a challenger that cleared the gate may replace the champion."""

    compare_with_champion: bool = Field(True, description="the challenger must not be worse on the same rows")
    tolerance: float = Field(0.0, ge=0, description="how much worse (in metric units) is still 'not worse'")
    allow_breaking_schema: bool = Field(False, description="promote even if input columns were removed or changed type")
    smoke_test: bool = Field(True, description="reload the package in a fresh process and reproduce its predictions")
    approval: Literal["auto", "manual"] = Field(
        "auto", description="manual: a challenger that passes waits for `podium models approve NAME:V`")
    reference: str | None = Field(
        None, description="DATASET:VERSION whose holdout both models are also scored on; default: the "
                          "dataset version the champion learned from")

    @field_validator("reference")
    @classmethod
    def _pinned(cls, v: str | None) -> str | None:
        if v is None:
            return v
        name, sep, version = v.replace("@", ":", 1).rpartition(":")
        if not sep or not name or not version.isdigit():
            raise ValueError(f"'{v}' is not a pinned dataset version: write DATASET:VERSION (e.g. sales:3), "
                             "a version the operator froze")
        return f"{name}:{int(version)}"


class PipelineSpec(_Strict):
    """A whole pipeline: source → steps → competition → gate → registry."""

    name: str = Field("model", pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    source: str | dict[str, Any]
    target: str
    task: Task = "auto"
    steps: list[StepSpec] | None = None
    split: SplitSpec = Field(default_factory=SplitSpec)
    candidates: list[str] | Literal["all"] = "all"
    metric: str | None = None
    budget: BudgetSpec = Field(default_factory=BudgetSpec)
    seed: int = 42
    ensemble: bool = Field(True, description="also try a weighted ensemble of the best trials")
    n_jobs: int | None = None
    device: Literal["auto", "cpu", "cuda"] | None = Field(
        None, description="where trials train: cuda (a GPU, for the families that can use one), cpu, or auto "
                          "(cuda when present); default: the project's setting (podium.yaml device, auto)")
    gate: GateSpec = Field(default_factory=GateSpec)
    constraints: ConstraintsSpec = Field(default_factory=ConstraintsSpec)
    forecast: ForecastSpec | None = Field(None, description="the series of a forecast task")
    registration: RegisterSpec = Field(default_factory=RegisterSpec, alias="register")
    promotion: PromotionSpec = Field(default_factory=PromotionSpec)
    notify: list[Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _shorthands(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        data = dict(data)
        data.pop("layout", None)  # the console's node positions: nothing the runner uses
        if "time_budget" in data:  # `time_budget: 120` is `budget: {seconds: 120}`
            data.setdefault("budget", {})
            if isinstance(data["budget"], dict):
                data["budget"] = {**data["budget"], "seconds": data.pop("time_budget")}
        if isinstance(data.get("budget"), (int, float)):
            data["budget"] = {"seconds": data["budget"]}
        if isinstance(data.get("steps"), list):
            data["steps"] = [_step(s, i) for i, s in enumerate(data["steps"])]
        if isinstance(data.get("candidates"), str) and data["candidates"] != "all":
            data["candidates"] = [c.strip() for c in data["candidates"].split(",") if c.strip()]
        if isinstance(data.get("gate"), (int, float)):
            data["gate"] = {"min_score": data["gate"]}
        if isinstance(data.get("register"), str):
            data["register"] = {"model": data["register"]}
        return data

    @model_validator(mode="after")
    def _forecast_block(self) -> PipelineSpec:
        if self.forecast is not None and self.task == "auto":
            self.task = "forecast"
        if self.task == "forecast" and self.forecast is None:
            raise ValueError("a forecast task needs a forecast block: forecast: {time_column: …, horizon: …} "
                             "(--time-column and --horizon)")
        if self.task not in ("auto", "forecast") and self.forecast is not None:
            raise ValueError(f"a forecast block is for task: forecast, not {self.task}")
        return self

    @property
    def model_name(self) -> str:
        return self.registration.model or self.name

    def recorded(self) -> dict[str, Any]:
        """The spec as runs, lineage and packages keep it: ``${NAME}`` kept, literal secrets ``***``."""
        return dict(redact(self.model_dump(mode="json", by_alias=True)))

    def fingerprint(self) -> str:
        return json_fingerprint(self.recorded())


def _step(item: Any, index: int) -> Any:
    """`{one_hot: {max_categories: 20}}` or `"drop_duplicates"` → StepSpec fields."""
    if isinstance(item, str):
        return {"name": item}
    if isinstance(item, dict) and "name" not in item and len(item) == 1:
        (name, params), = item.items()
        if params is None:
            params = {}
        if isinstance(params, list):  # `drop_columns: [a, b]`
            params = {"columns": params}
        return {"name": name, "params": params}
    return item


def parse_spec(data: Any, *, origin: str = "spec") -> PipelineSpec:
    """Validate a mapping as a spec; the error names the key and the problem."""
    if not isinstance(data, dict):
        raise SpecError(f"{origin}: expected a mapping of pipeline fields, got {type(data).__name__}.")
    try:
        return PipelineSpec.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing":
            msg = "required key is missing"
        raise SpecError(f"{origin}: '{where}': {msg}.") from None


def load_spec(path: str | Path) -> PipelineSpec:
    """Read a pipeline spec from a YAML file."""
    path = Path(path)
    if not path.exists():
        raise SpecError(f"Spec file '{path}' does not exist.", hint="check the path")
    try:
        data = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise SpecError(f"{path}:{where} is not valid YAML ({getattr(exc, 'problem', exc)}).") from None
    return parse_spec(data, origin=str(path))
