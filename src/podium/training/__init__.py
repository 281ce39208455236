"""The competition: prepare the data, fan out trials under a budget, rank, gate."""

from podium.training.budget import PhaseClock
from podium.training.executors import (
    Executor,
    InlineExecutor,
    LocalExecutor,
    RayExecutor,
    executor_kinds,
    make_executor,
)
from podium.training.gate import GateDecision, check_gate
from podium.training.leaderboard import Leaderboard, Trial, TrialResult
from podium.training.metrics import Metric, default_metric, get_metric, metric_registry, metrics_for
from podium.training.prepare import Prepared, prepare
from podium.training.problem import ForecastProblem, Problem, make_pipeline
from podium.training.task import check_target, infer_task
from podium.training.trainer import (
    FinalPlan,
    TrainerEvent,
    compete,
    final_workers,
    fit_final,
    plan_finish,
    select_candidates,
)
from podium.training.trial import evaluate

__all__ = [
    "Executor", "InlineExecutor", "LocalExecutor", "RayExecutor", "executor_kinds", "make_executor",
    "GateDecision", "check_gate",
    "Leaderboard", "Trial", "TrialResult",
    "Metric", "default_metric", "get_metric", "metric_registry", "metrics_for",
    "Prepared", "prepare",
    "Problem", "ForecastProblem", "make_pipeline",
    "check_target", "infer_task",
    "FinalPlan", "TrainerEvent", "compete", "final_workers", "fit_final", "plan_finish", "select_candidates",
    "PhaseClock",
    "evaluate",
]
