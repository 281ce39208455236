"""podium: from a table to a registered, served, continuously retrained model.

The public surface is small; everything else is internal. Names load lazily so that
``import podium`` (and ``podium --help``) stays fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

__version__ = "0.1.0"

_EXPORTS = {
    "PipelineSpec": "podium.spec",
    "load_spec": "podium.spec",
    "parse_spec": "podium.spec",
    "Settings": "podium.config",
    "load_settings": "podium.config",
    "PodiumError": "podium.errors",
    "UserError": "podium.errors",
    "Source": "podium.data",
    "resolve_source": "podium.data",
    "Registry": "podium.registry",
    "ModelPackage": "podium.registry",
    "run_pipeline": "podium.automation.run",
    "RunResult": "podium.automation.run",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'podium' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
