"""``podium runs``: every run with every trial, and replaying one."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict
from typing import Any

import typer

from podium.cli.context import out, state

app = typer.Typer(help="Pipeline runs: list, show, replay.", no_args_is_help=True)


@app.command("list")
def list_runs(limit: int = typer.Option(20, "--limit"), as_json: bool = typer.Option(False, "--json")) -> None:
    """The latest runs, newest first."""
    from podium.cli.render import records_table

    runs = state.registry().list_runs(limit=limit)
    if as_json:
        print(json.dumps([asdict(r) for r in runs], default=str))
        return
    if not runs:
        out.print("no runs yet: podium run --data FILE --target COLUMN")
        return
    records = [{"id": r.id[:12], "name": r.name, "status": r.status, "task": r.task, "metric": r.metric,
                "started_at": r.started_at, "finished_at": r.finished_at} for r in runs]
    out.print(records_table("Runs (podium runs show ID)", records, list(records[0])))


@app.command("show")
def show(run_id: str = typer.Argument(..., help="a run id (a unique prefix is enough)"),
         show_all: bool = typer.Option(False, "--all", help="every trial, not each family's best"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """A run's spec, decision and every trial."""
    from podium.cli.render import leaderboard_table

    registry = state.registry()
    run = registry.get_run(run_id)
    trials = registry.get_trials(run.id)
    if as_json:
        print(json.dumps({"run": asdict(run), "trials": trials}, default=str))
        return
    for key in ("id", "name", "status", "task", "metric", "source", "dataset_fingerprint",
                "started_at", "finished_at", "error", "summary"):
        value = getattr(run, key)
        if value is not None:
            out.print(f"[bold]{key}[/]: {json.dumps(value, default=str) if isinstance(value, dict) else value}")
    if trials:
        out.print(leaderboard_table([_row(t) for t in trials], run.metric or "score",
                                    limit=10_000 if show_all else 15, per_family=not show_all))


def _row(trial: Mapping[str, Any]) -> dict[str, Any]:
    return {"rank": trial.get("rank"), "candidate": trial.get("candidate"), "score": trial.get("score"),
            "fit_seconds": trial.get("fit_seconds"), "predict_ms_per_1000": trial.get("predict_ms_per_1000"),
            "size_bytes": trial.get("size_bytes"), "status": trial.get("status"), "error": trial.get("error"),
            "device": trial.get("device"), "node": trial.get("node")}


@app.command("replay")
def replay(run_id: str = typer.Argument(..., help="the run to replay with its recorded spec"),
           as_json: bool = typer.Option(False, "--json")) -> None:
    """Run a recorded run's spec again (same seed and budget; a trial budget reproduces it)."""
    from podium.cli.main import execute
    from podium.spec import parse_spec

    from podium._internal.redact import masked
    from podium.errors import UserError

    run = state.registry().get_run(run_id)
    if hidden := masked(run.spec):
        raise UserError(f"run {run.id} was made from a spec with secrets written out ({', '.join(hidden)}); "
                        "podium keeps no secret, so it cannot replay it.",
                        hint="write secrets as ${NAME} (read from the environment), or run the spec file again")
    if not as_json:
        out.print(f"replaying run {run.id}")
    execute(parse_spec(run.spec, origin=f"run {run.id}"), as_json=as_json)
