"""``podium models drift``: a model's training rows against what its service logged."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.markup import escape

from podium.cli.context import err, out, state
from podium.errors import SpecError

if TYPE_CHECKING:
    from podium.automation.monitor import DriftInputs
    from podium.data.drift import DriftReport


def drift(ref: str = typer.Argument(..., help="the model: name, name@alias or name:version"),
          since: float | None = typer.Option(
              None, "--since", min=0, help="only the predictions logged in the last HOURS"),
          out_path: Path | None = typer.Option(
              None, "--out", "-o", help="also write an HTML report (profile of the logged inputs and drift)"),
          as_json: bool = typer.Option(False, "--json", help="print the report as JSON")) -> None:
    """Compare the model's training data with the inputs its service logged (serve --log-rate)."""
    from podium.automation.monitor import drift_inputs

    settings = state.settings()
    with state.registry() as registry:
        inputs = drift_inputs(registry, ref, settings=settings, since=since)
    report = inputs.report()
    if out_path is not None:
        _write_html(out_path, ref, inputs, report)
    if as_json:
        print(json.dumps({**report.to_dict(), "notes": inputs.notes}, default=str))
        return
    for note in inputs.notes:
        err.print(f"[dim]note: {escape(note)}[/]")
    _print_table(ref, report)
    if out_path is not None:
        out.print(f"report written to {escape(str(out_path))}")


def _print_table(ref: str, report: DriftReport) -> None:
    from rich.table import Table

    table = Table(title=f"{ref}: {report.current_rows:,} logged rows against "
                        f"{report.reference_rows:,} training rows ({report.reference})")
    for name, justify in (("column", "left"), ("kind", "left"), ("psi", "right"), ("p-value", "right"),
                          ("drifted", "left")):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for c in report.columns.values():
        table.add_row(escape(c.column), c.kind, f"{c.psi:.3f}",
                      "—" if c.p_value is None else f"{c.p_value:.3g}",
                      "[red]yes[/]" if c.drifted else "[green]no[/]")
    out.print(table)
    for name, why in report.skipped.items():
        out.print(f"  [dim]{escape(name)}: not compared ({escape(why)})[/]")
    colour = "red" if report.drifted else "green"
    out.print(f"[{colour}]{escape(report.message)}[/]")


def _write_html(path: Path, ref: str, inputs: DriftInputs, report: DriftReport) -> None:
    from podium._internal.atomic import atomic_write_text
    from podium.data.profile import profile_frame
    from podium.data.report import render_report

    subtitle = (f"{report.current_rows:,} logged predictions against {report.reference_rows:,} training rows "
                f"({report.reference})")
    html = render_report(profile_frame(inputs.current), report, title=f"Model {ref}: drift",
                         subtitle=subtitle)
    try:
        atomic_write_text(path, html)
    except OSError as exc:
        raise SpecError(f"cannot write the report to {path}: {exc.strerror or exc}.") from None
