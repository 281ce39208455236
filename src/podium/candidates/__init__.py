"""Model families that compete: each declares its tasks, tags, presets and search space."""

from podium.candidates import (  # noqa: F401  (register)
    boosting,
    forecast,
    lag_boosting,
    linear,
    neighbors,
    neural,
    recurrent,
    statistical,
    trees,
)
from podium.candidates.base import (
    TASKS,
    Candidate,
    Choice,
    Distribution,
    Float,
    Int,
    Tags,
    candidate_registry,
    register_candidate,
)
from podium.candidates.deadline import fit_deadline, for_selection, past_deadline, selection_fit
from podium.candidates.device import current_device, resolve_device, use_device

__all__ = [
    "TASKS",
    "Candidate",
    "Choice",
    "Distribution",
    "Float",
    "Int",
    "Tags",
    "candidate_registry",
    "register_candidate",
    "fit_deadline",
    "for_selection",
    "past_deadline",
    "selection_fit",
    "current_device",
    "resolve_device",
    "use_device",
]
