"""``podium pipelines`` and ``podium watch``: bind specs to datasets, run them as data arrives."""

from __future__ import annotations

import json
import signal
import threading
from pathlib import Path
from typing import Optional

import typer
from rich.markup import escape

from podium.cli.context import err, out, state, warn_literal_secrets

app = typer.Typer(help="Pipelines bound to datasets: bind, list, jobs.", no_args_is_help=True)


@app.command("bind")
def bind(
    spec: Path = typer.Argument(..., help="the pipeline spec (YAML)"),
    dataset: str = typer.Option(..., "--dataset", help="the dataset whose new versions run it"),
    schedule: Optional[str] = typer.Option(None, "--schedule", help='cron, e.g. "0 3 * * *" (UTC)'),
) -> None:
    """Run SPEC on every new version of DATASET (and on a schedule, if given)."""
    from podium.registry.datasets import DatasetStore
    from podium.registry.pipelines import PipelineStore, check_schedule
    from podium.spec import load_spec

    pipeline = load_spec(spec)
    registry = state.registry()
    DatasetStore(registry).info(dataset)  # an unknown dataset is one clear line
    if schedule is not None:
        check_schedule(schedule)
    written = pipeline.model_dump(mode="json", by_alias=True)
    PipelineStore(registry).bind(pipeline.name, written, dataset=dataset, schedule=schedule)
    warn_literal_secrets(written, "the bound spec")
    when = f" and on '{schedule}'" if schedule else ""
    out.print(f"pipeline [bold]{pipeline.name}[/] runs on each new version of {dataset}{when}: podium watch")


@app.command("list")
def list_bindings(as_json: bool = typer.Option(False, "--json")) -> None:
    """Bound pipelines."""
    from podium.cli.render import records_table
    from podium.registry.pipelines import PipelineStore

    records = [{"pipeline": b.pipeline, "dataset": b.dataset, "schedule": b.schedule or "—",
                "model": b.spec.get("register", {}).get("model") or b.pipeline, "bound_at": b.bound_at}
               for b in PipelineStore(state.registry()).bindings()]
    if as_json:
        print(json.dumps(records, default=str))
        return
    out.print(records_table("Pipelines", records, ["pipeline", "dataset", "schedule", "model", "bound_at"])
              if records else "no pipelines bound: podium pipelines bind SPEC --dataset NAME")


@app.command("jobs")
def jobs(pipeline: Optional[str] = typer.Option(None, "--pipeline"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """The queue: one job per new version (or schedule fire) and pipeline."""
    from dataclasses import asdict

    from podium.cli.render import records_table
    from podium.registry.pipelines import PipelineStore

    records = [asdict(j) for j in PipelineStore(state.registry()).jobs(pipeline=pipeline, limit=1000)]
    if as_json:
        print(json.dumps(records, default=str))
        return
    out.print(records_table("Jobs", records, ["id", "pipeline", "dataset", "trigger", "state", "owner", "lease_until",
                                             "attempts", "run_id", "error"]))


def watch(
    interval: float = typer.Option(2.0, "--interval", help="seconds between polls"),
    quiet: float = typer.Option(2.0, "--quiet", help="a source must be unchanged this long before a snapshot"),
    once: bool = typer.Option(False, "--once", help="snapshot, queue and run what is due, then exit"),
) -> None:
    """Watch the bound datasets: new version → run → gate → promote or notify. Stops on SIGTERM."""
    from podium.automation.watch import Watcher

    watcher = Watcher(state.settings(), state.registry(), quiet_seconds=0 if once else quiet,
                      on_message=lambda text: err.print(f"[dim]watch:[/] {escape(text)}"))
    if once:
        while watcher.step().ran:
            pass
        return
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    err.print(f"watching {len(watcher.pipelines.bindings())} pipeline(s); Ctrl-C to stop")
    watcher.run_forever(interval=interval, stop=stop)
