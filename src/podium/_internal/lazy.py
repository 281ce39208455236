"""Lazy imports of optional libraries, failing with the pip command to install them."""

from __future__ import annotations

import importlib
from types import ModuleType


class MissingDependency(ImportError):
    """An optional library is not installed; the message says how to install it."""


def require(module: str, *, extra: str | None = None, package: str | None = None) -> ModuleType:
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        what = f"podium[{extra}]" if extra else (package or module)
        raise MissingDependency(
            f"'{module}' is needed here but is not installed. Install it: pip install '{what}'"
        ) from exc
