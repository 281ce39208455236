"""From a spec's list of steps to frame steps and transform steps, validated with located errors."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ValidationError

from podium.errors import NotFoundError, SpecError
from podium.spec import StepSpec
from podium.steps.base import FrameStep, StepInfo, describe_error, step_registry

__all__ = ["BuiltSteps", "build_steps", "step_params", "step_schemas", "validate_params"]


@dataclass
class BuiltSteps:
    """A spec's steps: frame steps (run first, in order) and named transform steps (in order).

    A transform step is a ``ColumnStep`` (podium's) or a plugin's transformer;
    ``compose_steps`` turns them into pipeline steps once the column kinds are known.
    """

    frame: list[FrameStep] = field(default_factory=list)
    transforms: list[tuple[str, Any]] = field(default_factory=list)


def build_steps(specs: Sequence[StepSpec], *, origin: str = "spec") -> BuiltSteps:
    """Check each step's name and parameters and build it.

    Frame steps always run before the split and transform steps inside the model's
    pipeline, so a frame step listed after a transform step still runs first.
    A transform listed twice gets a numbered name ('impute', 'impute_2').
    """
    built = BuiltSteps()
    seen: Counter[str] = Counter()
    for index, spec in enumerate(specs):
        where = f"{origin}: steps[{index}]"
        try:
            info = step_registry.get(spec.name)
        except NotFoundError as exc:
            raise NotFoundError(f"{where}: {exc}") from None
        params = validate_params(info, spec.params, where=f"{where}.{spec.name}")
        step = info.factory(params)
        if info.kind == "frame":
            built.frame.append(step)
        else:
            seen[spec.name] += 1
            name = spec.name if seen[spec.name] == 1 else f"{spec.name}_{seen[spec.name]}"
            built.transforms.append((name, step))
    return built


def validate_params(info: StepInfo, params: Mapping[str, Any], *, where: str | None = None) -> BaseModel:
    """A step's parameters as its model; a SpecError names the parameter and the problem."""
    where = where or info.name
    try:
        return info.params.model_validate(dict(params))
    except ValidationError as exc:
        at, what = describe_error(exc.errors()[0], info.params.model_fields)
        raise SpecError(f"{where}{'.' + at if at else ''}: {what}") from None


def step_params(name: str) -> type[BaseModel]:
    """The parameter model of a registered step."""
    return step_registry.get(name).params


def step_schemas() -> dict[str, dict[str, Any]]:
    """Every step's parameters as JSON schema, titled by name, for the CLI and the designer."""
    schemas: dict[str, dict[str, Any]] = {}
    for name, info in step_registry.items():
        schema = info.params.model_json_schema()
        schema["title"] = name
        schema["description"] = info.summary
        schema["x-podium-kind"] = info.kind
        schemas[name] = schema
    return schemas
