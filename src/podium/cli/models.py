"""``podium models``: the registered models, their versions and aliases."""

from __future__ import annotations

import json

import typer
from rich.markup import escape

from podium.cli.context import out, state

app = typer.Typer(help="Registered models: list, show, promote, approve, roll back.", no_args_is_help=True)


@app.command("list")
def list_models(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every registered model with its latest version and aliases."""
    from podium.cli.render import records_table

    from dataclasses import asdict

    models = state.registry().list_models()
    if as_json:
        print(json.dumps([asdict(m) for m in models], default=str))
        return
    if not models:
        out.print("no models yet: podium run --data FILE --target COLUMN")
        return
    records = [{"name": m.name, "latest": m.latest_version, "versions": m.versions,
                "aliases": ", ".join(f"{a}→{v}" for a, v in sorted(m.aliases.items())) or "—",
                "metric": m.metric, "score": m.score, "created": m.created_at} for m in models]
    out.print(records_table("Models", records, list(records[0])))


@app.command("show")
def show(ref: str = typer.Argument(..., help="name, name@alias or name:version"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """One model version: metrics, input schema, lineage, leaderboard."""
    from podium.cli.render import leaderboard_table, records_table

    package = state.registry().load(ref)
    info = package.describe()
    if as_json:
        print(json.dumps(info, default=str))
        return
    out.print(f"[bold]{ref}[/]")
    engine = info.get("engine") or {}
    if engine.get("name") == "onnx":
        out.print(f"[bold]engine[/]: onnx (compiled graph, checked on {engine.get('checked_rows')} holdout rows "
                  f"within {engine.get('tolerance')})")
    else:
        out.print(f"[bold]engine[/]: {escape(str(engine.get('name') or 'sklearn'))} — "
                  f"[yellow]{escape(str(engine.get('reason') or 'not compiled'))}[/]")
    for key in ("metric", "metrics", "training", "forecast", "output_schema", "lineage"):
        if key in info:
            value = info[key]
            if value is None:
                continue
            if key == "lineage" and isinstance(value, dict):
                value = {k: v for k, v in value.items() if k != "spec"}
            out.print(f"[bold]{key}[/]: {json.dumps(value, default=str)}")
    columns = info.get("input_schema", {}).get("columns", [])
    if columns:
        keys = [k for k in ("name", "kind", "dtype", "nullable", "categories", "min", "max") if k in columns[0]]
        out.print(records_table("Input schema", columns, keys))
    if info.get("leaderboard"):
        out.print(leaderboard_table(info["leaderboard"], info.get("metric", "score"), limit=10))


@app.command("promote")
def promote_version(ref: str = typer.Argument(..., help="name:version to promote"),
                    alias: str = typer.Option("champion", "--alias")) -> None:
    """Move the alias to a version by hand (a running service follows within seconds)."""
    from podium.automation.promote import promote

    previous, version = promote(state.registry(), ref, alias=alias)
    name = ref.split(":")[0].split("@")[0]
    out.print(f"{name}@{alias}: version {previous or '—'} → {version}")


@app.command("rollback")
def rollback_alias(name: str = typer.Argument(..., help="the model name"),
                   alias: str = typer.Option("champion", "--alias")) -> None:
    """Move the alias back to the version it pointed at before its last move."""
    from podium.automation.promote import rollback

    current, previous = rollback(state.registry(), name, alias=alias)
    out.print(f"{name}@{alias}: version {current} → {previous}")


@app.command("approve")
def approve_version(ref: str = typer.Argument(..., help="name:version of the challenger that waits")) -> None:
    """Approve a challenger that waits (promotion.approval: manual): the alias moves to it."""
    from podium.automation.promote import approve

    record = approve(state.registry(), ref, state.settings())
    out.print(f"{record.model}@{record.alias}: version {record.champion or '—'} → {record.version} (approved)")


@app.command("pending")
def pending(as_json: bool = typer.Option(False, "--json")) -> None:
    """Challengers waiting for approval, with the figures they were judged on."""
    from dataclasses import asdict

    from podium.cli.render import records_table

    waiting = state.registry().list_promotions(state="awaiting_approval", limit=1000)
    if as_json:
        print(json.dumps([asdict(p) for p in waiting], default=str))
        return
    if not waiting:
        out.print("no challenger waits for approval")
        return
    records = [{"challenger": f"{p.model}:{p.version}", "alias": p.alias, "champion": p.champion or "—",
                "decided": p.created_at, "why": p.message, "approve": f"podium models approve {p.model}:{p.version}"}
               for p in waiting]
    out.print(records_table("Waiting for approval", records, list(records[0])))
