"""``python -m podium.console.openapi``: print the console API's OpenAPI document (what
``/api/openapi.json`` serves), from which ``make console-api`` generates the web app's client
types (web/src/schema.d.ts)."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

__all__ = ["openapi_document"]


def openapi_document() -> dict[str, Any]:
    """The console's OpenAPI document, built over an empty project (it does not depend on one)."""
    from podium.config import load_settings
    from podium.console.app import create_app
    from podium.registry import Registry

    with tempfile.TemporaryDirectory(prefix="podium-openapi-") as folder:
        settings = load_settings(Path(folder))
        with Registry.from_settings(settings) as registry:
            document: dict[str, Any] = create_app(settings, registry=registry).openapi()
    return document


if __name__ == "__main__":
    print(json.dumps(openapi_document(), indent=1, sort_keys=True))
