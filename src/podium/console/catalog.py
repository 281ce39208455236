"""What a spec can name, for the designer's palette: the registries ``podium catalog`` lists."""

from __future__ import annotations

from typing import Any

__all__ = ["catalog"]


def catalog() -> dict[str, list[dict[str, Any]]]:
    """Steps, candidates, metrics, source kinds and notifiers, each with name and description."""
    from podium.automation.notifiers import notifier_kinds
    from podium.candidates import candidate_registry
    from podium.data import source_kinds
    from podium.data.source import register_builtin_sources
    from podium.steps import step_registry
    from podium.training import metric_registry

    register_builtin_sources()
    steps = [{"name": n, "description": s.summary, "kind": s.kind, "params_schema": s.params.model_json_schema()}
             for n, s in step_registry.items()]
    candidates = [{"name": n, "description": c.summary, "tasks": sorted(c.tasks),
                   "search_space": sorted(c.space)} for n, c in candidate_registry.items()]
    metrics = [{"name": n, "description": m.summary, "tasks": sorted(m.tasks),
                "greater_is_better": m.greater_is_better} for n, m in metric_registry.items()]
    sources = [{"name": n, "description": _first_line(f.__doc__) or f"read and write '{n}' sources"}
               for n, f in source_kinds.items()]
    notifiers = [{"name": n, "description": _first_line(k.__doc__),
                  "params_schema": k.params_model.model_json_schema()} for n, k in notifier_kinds.items()]
    return {"steps": steps, "candidates": candidates, "metrics": metrics, "sources": sources,
            "notifiers": notifiers}


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().split("\n", 1)[0]
