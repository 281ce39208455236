"""``podium catalog``: what can go into a spec — steps, candidates, metrics, sources."""

from __future__ import annotations

import json
from dataclasses import asdict

import typer
from rich.markup import escape

from podium.cli.context import out

app = typer.Typer(help="List the steps, candidates, metrics and source kinds a spec can name.",
                  no_args_is_help=True)


@app.command("steps")
def steps(as_json: bool = typer.Option(False, "--json")) -> None:
    """Data steps with their parameters (JSON schema with --json)."""
    from podium.steps import step_registry

    items = step_registry.items()
    if as_json:
        print(json.dumps({n: {"kind": s.kind, "summary": s.summary, "params": s.params.model_json_schema()}
                          for n, s in items}))
        return
    for name, info in items:
        params = ", ".join(info.params.model_fields)
        out.print(f"[bold]{name}[/] ({info.kind}) — {info.summary} [dim]params: {params or 'none'}[/]")


@app.command("candidates")
def candidates(as_json: bool = typer.Option(False, "--json")) -> None:
    """Model families with their tasks (tags, search space and parameter schema with --json);
    plugins' families included."""
    from podium.candidates import candidate_registry

    items = candidate_registry.items()
    if as_json:
        print(json.dumps({n: {"tasks": sorted(c.tasks), "summary": c.summary, "tags": asdict(c.tags),
                              "space": {k: repr(v) for k, v in c.space.items()},
                              "params": None if c.params is None else c.params.model_json_schema()}
                          for n, c in items}))
        return
    for name, c in items:
        tasks = escape("[" + ", ".join(sorted(c.tasks)) + "]")
        out.print(f"[bold]{name}[/] {tasks} — {escape(c.summary)}")


@app.command("metrics")
def metrics() -> None:
    """Metrics by task; losses are minimised."""
    from podium.training import metric_registry

    for name, m in metric_registry.items():
        way = "higher is better" if m.greater_is_better else "lower is better"
        out.print(f"[bold]{name}[/] [{', '.join(sorted(m.tasks))}] — {m.summary} ({way})")


@app.command("sources")
def sources() -> None:
    """Source kinds by URL scheme or file suffix."""
    from podium.data import source_kinds

    out.print(", ".join(source_kinds.names()))
