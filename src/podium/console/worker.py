"""The process that runs one console job: ``python -m podium.console.worker FOLDER PROJECT PARENT_PID``."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from podium._internal.atomic import atomic_write_text
from podium._internal.orphans import exit_with_parent
from podium.console.jobs import END, append_event

__all__ = ["main"]


def main(argv: list[str]) -> int:
    """Run the job's spec with ``run_pipeline``; every trial and the outcome become events."""
    folder, project, parent = Path(argv[0]), Path(argv[1]), int(argv[2])
    exit_with_parent(parent)
    events = folder / "events.jsonl"
    result_path = folder / "result.json"
    try:
        from podium.automation.run import run_pipeline
        from podium.config import load_settings
        from podium.console.graph import yaml_to_data
        from podium.spec import parse_spec
        from podium.training import TrainerEvent

        data = yaml_to_data((folder / "spec.yaml").read_text())
        spec = parse_spec(data, origin=(folder / "origin").read_text())

        def on_event(event: TrainerEvent) -> None:
            payload: dict[str, Any] = {"type": f"trial_{event.kind}", "trial": event.trial.id,
                                       "candidate": event.trial.candidate, "elapsed": round(event.elapsed, 3)}
            if event.result is not None:
                r = event.result
                payload.update(status=str(r.status), value=r.value, fit_seconds=r.fit_seconds,
                               predict_ms_per_1000=r.predict_ms_per_1000, error=r.error)
            if event.best is not None:
                payload["best"] = {"candidate": event.best.trial.candidate, "value": event.best.value,
                                   "trial": event.best.trial.id}
            append_event(events, payload)

        def on_started(run_id: str) -> None:
            append_event(events, {"type": "run_started", "registry_run_id": run_id, "time": time.time()})

        def on_prepared(prepared: Any) -> None:
            append_event(events, {"type": "prepared", "task": prepared.problem.task,
                                  "columns": {c: t.value for c, t in prepared.source_types.items()},
                                  "notes": list(prepared.notes)})

        append_event(events, {"type": "queued", "name": spec.name, "time": time.time()})
        settings = load_settings(project)
        extra: dict[str, Any] = {}
        dataset_file = folder / "dataset"
        if dataset_file.exists():  # a bound pipeline runs on a dataset version, as the watcher runs it
            from podium.registry import Registry
            from podium.registry.datasets import DatasetStore

            ref = dataset_file.read_text()
            registry = Registry.from_settings(settings)
            extra = {"registry": registry, "frame": DatasetStore(registry).load(ref), "origin": f"dataset {ref}",
                     "dataset": ref}
        result = run_pipeline(spec, settings, on_event=on_event, on_prepared=on_prepared,
                              on_run_started=on_started, **extra)
        outcome = result.to_json()
        outcome["registry_run_id"] = outcome.pop("run_id")
        atomic_write_text(result_path, json.dumps(outcome, default=str))
        append_event(events, {"type": END, "status": result.status})
        return 0
    except Exception as exc:  # noqa: BLE001  every failure is reported to the console as one line
        from podium.errors import PodiumError

        message = str(exc) if isinstance(exc, PodiumError) else f"{type(exc).__name__}: {exc}"
        append_event(events, {"type": "error", "message": message})
        atomic_write_text(result_path, json.dumps({"status": "failed", "error": message}))
        append_event(events, {"type": END, "status": "failed"})
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
