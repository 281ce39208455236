"""``podium console``: the web console and its admin API over the current project folder."""

from __future__ import annotations

import typer

from podium.cli.context import err, out, state
from podium.errors import SpecError

_LOCAL = ("127.0.0.1", "localhost", "::1")


def console(
    port: int = typer.Option(8080, "--port", help="the port to listen on"),
    host: str = typer.Option("127.0.0.1", "--host", help="the address to listen on (0.0.0.0: every interface)"),
    no_auth: bool = typer.Option(False, "--no-auth", help="no sign-in (only on 127.0.0.1, e.g. a laptop)"),
    max_upload_mb: float = typer.Option(512.0, "--max-upload-mb", min=0.001,
                                        help="largest dataset upload, MiB (more: 413)"),
    force_no_auth: bool = typer.Option(False, "--force-no-auth", hidden=True,
                                       help="allow --no-auth on another address than 127.0.0.1"),
) -> None:
    """Serve the web console: design, run, watch, compare and promote from a browser.

    Sign in with an API key that has the admin right (podium keys create --name me --admin).
    """
    from podium.console import ConsoleOptions, serve

    if no_auth and host not in _LOCAL and not force_no_auth:
        raise SpecError(f"--no-auth on {host} would let anyone on the network administer this project.",
                        hint="use --host 127.0.0.1, or sign in with an admin key (podium keys create --name me --admin)")
    settings = state.settings()
    shown = f"[{host}]" if ":" in host else host
    out.print(f"podium console on http://{shown}:{port} over {settings.project_dir}"
              + (" [yellow](no sign-in)[/]" if no_auth else " (sign in with an admin API key)"))
    if no_auth:
        err.print("[yellow]note[/]: --no-auth: anyone who can reach this port administers the project.")
    serve(settings, host=host, port=port, options=ConsoleOptions(auth=not no_auth, local_only=not force_no_auth,
                                                                        max_upload_bytes=int(max_upload_mb * 2**20)))
