"""``podium db``: the registry database's schema revision, and upgrading it."""

from __future__ import annotations

import json

import typer

from podium.cli.context import out, state

app = typer.Typer(help="The registry database: its schema revision, and upgrading it.", no_args_is_help=True)


@app.command("upgrade")
def upgrade(as_json: bool = typer.Option(False, "--json")) -> None:
    """Bring the registry database to the revision this podium needs (back it up first).

    Safe to run again: a database already at that revision is left as it is.
    """
    from podium.registry.migrate import upgrade_schema

    with state.registry() as registry:
        before, after = upgrade_schema(registry.engine)
    if as_json:
        print(json.dumps({"from": before.current, "to": after.current, "legacy": before.legacy,
                          "upgraded": before != after}))
    elif before == after:
        out.print(f"registry already at revision {after.current} (head): nothing to do")
    else:
        out.print(f"registry upgraded: {before.describe()} → {after.current}")


@app.command("current")
def current(as_json: bool = typer.Option(False, "--json")) -> None:
    """The database's schema revision and the one this podium needs. Changes nothing."""
    from podium.registry.migrate import UPGRADE_COMMAND, schema_status

    with state.registry() as registry:
        status = schema_status(registry.engine)
    if as_json:
        print(json.dumps({"current": status.current, "head": status.head, "legacy": status.legacy,
                          "up_to_date": status.up_to_date}))
        return
    out.print(f"revision {status.describe()}; this podium needs {status.head}")
    if status.up_to_date:
        out.print("up to date")
    elif status.empty:
        out.print("a new database: its tables are created on first use")
    elif not status.known:
        out.print("a newer podium upgraded it: install that podium version, or a newer one")
    else:
        out.print(f"behind: back it up, then run {UPGRADE_COMMAND}")
