"""``podium catalog``: what can go into a spec — steps, candidates, metrics, sources."""

from __future__ import annotations

import json

import typer

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
def candidates() -> None:
    """Model families with their tasks and tags."""
    from podium.candidates import candidate_registry

    for name, c in candidate_registry.items():
        out.print(f"[bold]{name}[/] [{', '.join(sorted(c.tasks))}] — {c.summary}")


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
