"""Saved pipelines in the console: save the designer's pipeline as a new version, list and open
them, bind one to a dataset (new versions, and an optional schedule, run it)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import yaml

from podium.errors import SpecError
from podium.registry import Registry
from podium.registry.pipelines import Binding, PipelineStore, SavedPipeline

__all__ = ["save_pipeline", "list_pipelines", "pipeline_detail", "pipeline_version", "bind_pipeline",
           "runnable_spec"]


def _runnable(data: dict[str, Any], origin: str) -> dict[str, Any]:
    """The spec as ``podium run`` would take it (layout dropped), checked as the CLI checks it."""
    from podium.console.specs import check_names
    from podium.spec import parse_spec

    spec = parse_spec({k: v for k, v in data.items() if k != "layout"}, origin=origin)
    problems = check_names(spec)
    if problems:
        raise SpecError(problems[0][1])
    dumped: dict[str, Any] = spec.model_dump(mode="json", by_alias=True)
    return dumped


def save_pipeline(registry: Registry, data: dict[str, Any], *, saved_by: str) -> dict[str, Any]:
    """Keep the spec (its layout too) as the next version of the pipeline its ``name`` names;
    only a spec that ``podium run`` would take is kept."""
    spec = _runnable(data, "spec")
    saved, new = PipelineStore(registry).save(str(spec["name"]), data, saved_by=saved_by)
    return {**_version(saved), "saved": new}


def _version(saved: SavedPipeline, *, with_yaml: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {"name": saved.name, "version": saved.version, "saved_at": saved.saved_at,
                           "saved_by": saved.saved_by}
    if with_yaml:
        out["yaml"] = yaml.safe_dump(saved.spec, sort_keys=False)
    return out


def _binding(binding: Binding | None) -> dict[str, Any] | None:
    if binding is None:
        return None
    return {"dataset": binding.dataset, "schedule": binding.schedule, "version": binding.version,
            "bound_at": binding.bound_at}


def list_pipelines(registry: Registry) -> list[dict[str, Any]]:
    """Every saved pipeline (its latest version) and every bound one, by name."""
    store = PipelineStore(registry)
    bindings = {b.pipeline: b for b in store.bindings()}
    listed: dict[str, dict[str, Any]] = {}
    for saved in store.saved_pipelines():
        listed[saved.name] = {"name": saved.name, "latest": saved.version, "saved_at": saved.saved_at,
                              "binding": _binding(bindings.get(saved.name))}
    for name, binding in bindings.items():
        listed.setdefault(name, {"name": name, "latest": None, "saved_at": None, "binding": _binding(binding)})
    return [listed[name] for name in sorted(listed)]


def _binding_of(store: PipelineStore, name: str) -> Binding | None:
    return next((b for b in store.bindings() if b.pipeline == name), None)


def pipeline_detail(registry: Registry, name: str) -> dict[str, Any]:
    """A pipeline's versions, its binding and its latest jobs."""
    store = PipelineStore(registry)
    binding = _binding_of(store, name)
    versions = store.saved_versions(name)
    if not versions and binding is None:
        store.saved(name)  # raises the not-found error, with close names
    jobs = [asdict(j) for j in store.jobs(pipeline=name, limit=10_000)[-20:]][::-1]
    return {"name": name, "versions": [_version(v) for v in versions][::-1], "binding": _binding(binding),
            "jobs": jobs}


def pipeline_version(registry: Registry, name: str, version: int) -> dict[str, Any]:
    """One saved version, with its YAML (the layout block included)."""
    return _version(PipelineStore(registry).saved(name, version), with_yaml=True)


def bind_pipeline(registry: Registry, name: str, *, dataset: str, schedule: str | None,
                  version: int | None) -> dict[str, Any]:
    """Bind a saved version (the latest when None) to a dataset: its new versions (and the
    schedule, if any) run it — as ``podium pipelines bind`` does."""
    from podium.registry.datasets import DatasetStore
    from podium.registry.pipelines import check_schedule

    store = PipelineStore(registry)
    saved = store.saved(name, version)
    DatasetStore(registry).info(dataset)  # an unknown dataset is one clear line
    schedule = (schedule or "").strip() or None
    if schedule is not None:
        check_schedule(schedule, where="schedule")
    spec = _runnable(saved.spec, f"pipeline {saved.ref}")
    return _binding(store.bind(name, spec, dataset=dataset, schedule=schedule, version=saved.version)) or {}


def runnable_spec(registry: Registry, name: str, version: int | None = None) -> tuple[str, str, str | None]:
    """(spec YAML, origin, dataset version ref or None) to run pipeline ``name``: a bound pipeline on
    its dataset's latest version (unless a saved version is asked for), else its saved version
    on its own source."""
    from podium.registry.datasets import DatasetStore

    store = PipelineStore(registry)
    binding = _binding_of(store, name)
    if binding is not None and version is None:
        dataset = DatasetStore(registry).get(binding.dataset).ref
        return yaml.safe_dump(binding.spec, sort_keys=False), f"pipeline {binding.pipeline}", dataset
    if binding is None and not store.saved_versions(name):
        from podium._internal.suggest import did_you_mean
        from podium.errors import NotFoundError

        names = [p["name"] for p in list_pipelines(registry)]
        raise NotFoundError(f"no pipeline named '{name}' is saved or bound. {did_you_mean(name, names)}".rstrip())
    saved = store.saved(name, version)
    return yaml.safe_dump(saved.spec, sort_keys=False), f"pipeline {saved.ref}", None
