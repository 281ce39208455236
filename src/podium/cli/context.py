"""What every command shares: the project settings, the registry, the consoles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

from podium.config import Settings, load_settings

if TYPE_CHECKING:
    from podium.registry import Registry

out = Console(highlight=False, soft_wrap=True)
err = Console(stderr=True, highlight=False, soft_wrap=True)


@dataclass
class State:
    project: Path | None = None
    debug: bool = False

    def settings(self) -> Settings:
        return load_settings(self.project)

    def registry(self) -> Registry:  # imported lazily, for a fast --help
        from podium.registry import Registry

        return Registry.from_settings(self.settings())


state = State()


def warn_literal_secrets(value: object, what: str) -> None:
    """Say so when a secret written out is about to stay in the registry."""
    from rich.markup import escape

    from podium._internal.redact import literal_secrets

    if found := literal_secrets(value):
        err.print(f"[yellow]note[/]: {what} holds secrets written out ({escape(', '.join(found))}); the registry "
                  "keeps it as written. Write them as ${NAME} to keep them in the environment.")
