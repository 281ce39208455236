"""``podium datasets``: bind sources, take versions, list, compare and report on them."""

from __future__ import annotations

import json
from contextlib import contextmanager
from collections.abc import Iterator
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any, Optional

import typer
from rich.markup import escape

from podium.cli.context import out, state, warn_literal_secrets
from podium.errors import SpecError

if TYPE_CHECKING:
    from podium.registry.datasets import DatasetStore, DatasetVersionInfo

app = typer.Typer(help="Datasets: bind a source, snapshot versions, compare them, report on them.",
                  no_args_is_help=True)


@contextmanager
def _store() -> Iterator[DatasetStore]:
    from podium.registry.datasets import DatasetStore

    with state.registry() as registry:
        yield DatasetStore(registry)


@app.command("add")
def add(name: str = typer.Argument(..., help="the dataset's name"),
        source: str = typer.Argument(..., help="a file path or a source URL (postgresql://…?table=t)"),
        target: Optional[str] = typer.Option(None, "--target", help="the column whose balance profiles report"),
        option: list[str] = typer.Option([], "--option", "-o", help="a reader option KEY=VALUE (repeatable)"),
        replace: bool = typer.Option(False, "--replace", help="rebind a dataset to another source")) -> None:
    """Bind NAME to a source; versions are taken from it by snapshot."""
    spec: str | dict[str, Any] = _absolute(source)
    if option:
        spec = {"url": spec, **_pairs(option)}
    with _store() as store:
        info = store.add(name, spec, options={"target": target} if target else None, replace=replace)
    warn_literal_secrets({"source": spec}, "the dataset's source")
    out.print(f"dataset [bold]{escape(info.name)}[/] → {escape(info.source or '')}"
              f" ({info.versions} versions): podium datasets snapshot {escape(info.name)}")


@app.command("snapshot")
def snapshot(name: str = typer.Argument(..., help="the dataset's name"),
             creator: str = typer.Option("cli", "--creator", help="who takes the version (recorded)")) -> None:
    """Read the source and store a new version if its content changed."""
    with _store() as store:
        _print_outcome(store, name, store.snapshot(name, creator=creator))


@app.command("upload")
def upload(name: str = typer.Argument(..., help="the dataset's name (created if new)"),
           file: Path = typer.Argument(..., help="a .csv/.parquet/.json/.jsonl/.xlsx file"),
           creator: str = typer.Option("cli", "--creator", help="who takes the version (recorded)")) -> None:
    """Store a file as a new version of NAME."""
    with _store() as store:
        _print_outcome(store, name, store.upload(name, str(_absolute(str(file))), creator=creator))


def _print_outcome(store: DatasetStore, name: str, version: DatasetVersionInfo | None) -> None:
    """The new version, or that the content was unchanged (and which version holds it)."""
    if version is None:
        out.print(f"unchanged: same content as {escape(store.get(name).ref)}, no new version")
    else:
        _print_version(version)


@app.command("versions")
def versions(name: str = typer.Argument(..., help="the dataset's name"),
             as_json: bool = typer.Option(False, "--json")) -> None:
    """The versions of NAME: rows, fingerprint, drift against the previous one."""
    from rich.table import Table

    with _store() as store:
        found = store.versions(name)
    if as_json:
        print(json.dumps([asdict(v) for v in found], default=str))
        return
    if not found:
        out.print(f"no versions yet: podium datasets snapshot {escape(name)}")
        return
    table = Table(title=f"Versions of {escape(name)}", title_justify="left")
    for column, justify in (("version", "right"), ("rows", "right"), ("fingerprint", "left"),
                            ("drift", "left"), ("created", "left"), ("creator", "left")):
        table.add_column(column, justify=justify)  # type: ignore[arg-type]
    for v in found:
        table.add_row(str(v.version), f"{v.rows:,}", v.fingerprint[:12], _drift_cell(v),
                      v.created_at.strftime("%Y-%m-%d %H:%M:%S"), escape(v.creator or ""))
    out.print(table)


@app.command("diff")
def diff(a: str = typer.Argument(..., help="a version: name:3, name or name@latest"),
         b: str = typer.Argument(..., help="the version to compare with A"),
         as_json: bool = typer.Option(False, "--json")) -> None:
    """Rows added and removed from A to B, and schema changes."""
    with _store() as store:
        result = store.diff(a, b)
    if as_json:
        print(json.dumps(result, default=str))
        return
    out.print(f"[bold]{escape(result['a'])}[/] → [bold]{escape(result['b'])}[/]: "
              f"{result['rows']['a']:,} → {result['rows']['b']:,} rows")
    out.print(f"  [green]+{result['rows_added']:,}[/] rows added, [red]-{result['rows_removed']:,}[/] removed, "
              f"{result['rows_unchanged']:,} unchanged")
    for column in result["added_columns"]:
        out.print(f"  column [green]{escape(column)}[/] added")
    for column in result["removed_columns"]:
        out.print(f"  column [red]{escape(column)}[/] removed")
    for change in result["type_changes"]:
        out.print(f"  column {escape(change['column'])}: {change['a']} → {change['b']}")


@app.command("report")
def report(ref: str = typer.Argument(..., help="a version: name:3, name or name@latest"),
           out_path: Path = typer.Option(Path("report.html"), "--out", "-o", help="the HTML file to write"),
           against: Optional[str] = typer.Option(
               None, "--against", help="compare with this version instead of the previous one")) -> None:
    """Write one self-contained HTML file: the profile of REF and its drift."""
    from podium._internal.atomic import atomic_write_text
    from podium.data.report import render_report

    with _store() as store:
        version = store.get(ref)
        drift: Any = version.drift
        subtitle = (f"{version.rows:,} rows · fingerprint {version.fingerprint[:12]} · "
                    f"{version.created_at:%Y-%m-%d %H:%M} UTC")
        if against is not None:
            drift = store.drift(against, store.load(version.ref))
    html = render_report(version.profile, drift, title=f"Dataset {version.ref}", subtitle=subtitle)
    try:
        atomic_write_text(out_path, html)
    except OSError as exc:
        raise SpecError(f"cannot write the report to {out_path}: {exc.strerror or exc}.") from None
    out.print(f"report of {escape(version.ref)} written to {escape(str(out_path))}")


@app.command("list")
def list_datasets(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every dataset with its source and latest version."""
    from rich.table import Table

    with _store() as store:
        found = store.list_datasets()
    if as_json:
        print(json.dumps([asdict(d) for d in found], default=str))
        return
    if not found:
        out.print("no datasets yet: podium datasets add NAME SOURCE")
        return
    table = Table(title="Datasets", title_justify="left")
    for column in ("name", "source", "versions", "latest", "updated"):
        table.add_column(column, overflow="fold")
    for d in found:
        table.add_row(escape(d.name), escape(d.source or "(uploads)"), str(d.versions),
                      "—" if d.latest_version is None else str(d.latest_version),
                      "—" if d.latest_at is None else d.latest_at.strftime("%Y-%m-%d %H:%M:%S"))
    out.print(table)


# -- helpers ----------------------------------------------------------------------------------
def _print_version(v: DatasetVersionInfo) -> None:
    out.print(f"[bold]{escape(v.ref)}[/]: {v.rows:,} rows, {len(v.schema)} columns, "
              f"fingerprint {v.fingerprint[:12]}")
    if v.drift is not None:
        colour = "red" if v.drifted else "green"
        out.print(f"  drift against {escape(str(v.drift.get('reference')))}: "
                  f"[{colour}]{escape(str(v.drift.get('message')))}[/]")


def _drift_cell(v: DatasetVersionInfo) -> str:
    if v.drift is None:
        return "—"
    if not v.drifted:
        return "[green]no[/]"
    details = list(v.drifted_columns)
    if v.drift.get("schema_changed"):
        details.append("schema")
    return "[red]yes[/] " + escape(", ".join(details))


def _absolute(source: str) -> str:
    """A local file as an absolute path, so that the watcher finds it from any folder."""
    path = Path(source).expanduser()
    if "://" not in source and path.exists():
        return str(path.resolve())
    return source


def _pairs(options: list[str]) -> dict[str, Any]:
    pairs: dict[str, Any] = {}
    for item in options:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise SpecError(f"--option {item!r} is not KEY=VALUE.", hint="e.g. --option sep=';'")
        try:
            pairs[key.strip()] = json.loads(value)
        except ValueError:
            pairs[key.strip()] = value
    return pairs
