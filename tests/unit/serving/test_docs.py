"""/docs is Swagger UI from files podium ships: it works on a network without a CDN."""

from __future__ import annotations

import re


def test_docs_load_swagger_ui_from_the_service_itself(client):
    page = client.get("/docs")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assets = re.findall(r"""(?:src|href)=['"]([^'"]+)['"]""", page.text)
    assert assets and all(a.startswith("/docs/assets/") for a in assets), assets
    assert "://" not in page.text  # nothing from another host
    assert "url: '/openapi.json'" in page.text
    for asset in assets:
        answer = client.get(asset)
        assert answer.status_code == 200, asset
        assert len(answer.content) > 500, asset
    js = client.get("/docs/assets/swagger-ui-bundle.js")
    assert "javascript" in js.headers["content-type"] and b"SwaggerUIBundle" in js.content
    assert "text/css" in client.get("/docs/assets/swagger-ui.css").headers["content-type"]


def test_an_unknown_asset_is_a_404(client):
    assert client.get("/docs/assets/nothing.js").status_code == 404
    assert client.get("/docs/assets/../app.py").status_code == 404
