"""The web app's client types are generated from web/openapi.json: it must be the console's document."""

from __future__ import annotations

import json
from pathlib import Path

from podium.console.openapi import openapi_document

COMMITTED = Path(__file__).resolve().parents[3] / "web" / "openapi.json"


def test_the_committed_openapi_document_is_the_consoles() -> None:
    document = openapi_document()
    assert "/api/pipelines/{name}/binding" in document["paths"]
    assert json.loads(COMMITTED.read_text()) == document, (
        "web/openapi.json is stale: run make console-api (it regenerates web/src/schema.d.ts too)")
