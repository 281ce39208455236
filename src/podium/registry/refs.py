"""Model references: ``name`` (its champion, else its latest version), ``name@alias``, ``name:3``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from podium.errors import SpecError

__all__ = ["ModelRef", "parse_ref", "check_name", "DEFAULT_ALIAS", "LATEST"]

DEFAULT_ALIAS = "champion"
#: ``name@latest`` always means the newest version; it cannot be set
LATEST = "latest"

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,199}")


@dataclass(frozen=True)
class ModelRef:
    name: str
    alias: str | None = None
    version: int | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}:{self.version}"
        return f"{self.name}@{self.alias}" if self.alias else self.name


def parse_ref(ref: str) -> ModelRef:
    """Split a reference; raises ``SpecError`` for one that cannot be a reference."""
    text = ref.strip()
    if "@" in text:
        name, alias = text.split("@", 1)
        if not name or not alias or ":" in alias:
            raise SpecError(f"'{ref}' is not a model reference.", hint="write name, name@alias or name:3")
        return ModelRef(name, alias=alias)
    if ":" in text:
        name, number = text.rsplit(":", 1)
        if not name or not number.isdigit() or int(number) < 1:
            raise SpecError(f"'{ref}' is not a model reference: the part after ':' must be a "
                            "version number.", hint="write name:3, or name@alias")
        return ModelRef(name, version=int(number))
    if not text:
        raise SpecError("an empty model reference.", hint="write name, name@alias or name:3")
    return ModelRef(text)


def check_name(value: str, what: str) -> str:
    """A model or alias name: letters, digits, '_', '.', '-', starting with a letter or digit."""
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise SpecError(f"{value!r} is not a valid {what}.",
                        hint="use letters, digits, '_', '.' and '-' (starting with a letter or digit)")
    return value
