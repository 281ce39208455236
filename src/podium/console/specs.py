"""Checking a spec as ``podium run`` would, each error located on a node of the designer's graph."""

from __future__ import annotations

from typing import Any

from podium.console.graph import graph_to_data, node_for_location, yaml_to_data
from podium.errors import PodiumError
from podium.spec import PipelineSpec, parse_spec

__all__ = ["check_names", "spec_from_request", "validate"]


def spec_from_request(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any] | None]:
    """The spec mapping of a request body ``{"yaml": ...}`` or a graph, and the graph if one was sent."""
    if isinstance(body.get("yaml"), str):
        return yaml_to_data(body["yaml"]), None
    return graph_to_data(body), body


def check_names(spec: PipelineSpec) -> list[tuple[str, str]]:
    """(spec location, the CLI's message) for each step, candidate, metric or notifier that would fail."""
    from podium.automation.notifiers import build_notifiers
    from podium.candidates import candidate_registry
    from podium.steps import step_registry
    from podium.steps.build import validate_params
    from podium.training import metric_registry

    problems: list[tuple[str, str]] = []
    for i, step in enumerate(spec.steps or []):
        try:
            validate_params(step_registry.get(step.name), step.params, where=f"spec: steps[{i}].{step.name}")
        except PodiumError as exc:
            problems.append((f"steps.{i}", str(exc)))
    if spec.candidates != "all":
        for i, name in enumerate(spec.candidates):
            try:
                candidate_registry.get(name)
            except PodiumError as exc:
                problems.append((f"candidates.{i}", str(exc)))
    if spec.metric is not None:
        try:
            metric_registry.get(spec.metric)
        except PodiumError as exc:
            problems.append(("metric", str(exc)))
    if spec.notify is not None:
        try:
            build_notifiers(spec.notify)
        except PodiumError as exc:
            problems.append(("notify", str(exc)))
    return problems


def validate(body: dict[str, Any]) -> dict[str, Any]:
    """``{"ok", "errors": [{"node", "message"}]}`` for a request body (YAML or graph)."""
    graph: dict[str, Any] | None = None
    try:
        data, graph = spec_from_request(body)
        data = {k: v for k, v in data.items() if k != "layout"}
        spec = parse_spec(data)
    except PodiumError as exc:
        node = getattr(exc, "node", None) or node_for_location(str(exc), graph)
        return {"ok": False, "errors": [{"node": node, "message": str(exc)}]}
    errors = [{"node": node_for_location(f"'{where}': ", graph), "message": message}
              for where, message in check_names(spec)]
    return {"ok": not errors, "errors": errors}
