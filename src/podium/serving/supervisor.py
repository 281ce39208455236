"""The lean supervisor process of ``podium serve``: ``python -m podium.serving.supervisor``.

``podium serve`` checks what it is asked (the refs resolve, the packages verify, the keys file
parses), then replaces itself with this module (``exec_serve``: the same process id, signals
and terminal, a fresh interpreter). A supervisor only binds the socket, starts the workers and
replaces those that die; it need not hold the whole command line (Typer, rich, the registry,
pandas…) in memory for the service's lifetime. Its options come as JSON in one environment
variable, as the workers' do.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import NoReturn

from podium.serving.options import ServeOptions
from podium.serving.workers import OPTIONS_ENV, serve

__all__ = ["exec_serve", "main"]


def exec_serve(options: ServeOptions) -> NoReturn:
    """Become the lean supervisor serving ``options`` (POSIX: ``execv``; elsewhere: serve here)."""
    if os.name != "posix":
        serve(options)
        raise SystemExit(0)
    os.environ[OPTIONS_ENV] = options.model_dump_json()
    source = str(Path(__file__).resolve().parents[2])  # this podium, whatever put it on sys.path
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (source, os.environ.get("PYTHONPATH")) if p)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(sys.executable, [sys.executable, "-m", "podium.serving.supervisor"])


def main() -> None:
    serve(ServeOptions.model_validate_json(os.environ[OPTIONS_ENV]))


if __name__ == "__main__":
    main()
