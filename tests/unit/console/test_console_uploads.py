"""POST /api/datasets/{name}/versions: the console takes dataset uploads (the model service does
not): an admin, or a key with the upload right on that dataset; each refusal one line."""

from __future__ import annotations

import io
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from podium.config import load_settings
from podium.console import ConsoleOptions, create_app
from podium.registry import Registry
from podium.registry.datasets import DatasetStore

CSV = b"color,amount\nred,1.5\nblue,2.0\nred,3.25\n"
PATH = "/api/datasets/sales/versions"


def _post(client: TestClient, body: bytes, content_type: str = "text/csv", key: str | None = None,
          path: str = PATH):  # type: ignore[no-untyped-def]
    headers = {"Content-Type": content_type}
    if key is not None:
        headers["Authorization"] = f"Bearer {key}"
    return client.post(path, content=body, headers=headers)


def test_a_key_with_the_upload_right_uploads_then_the_same_content_changes_nothing(
        anonymous: TestClient, registry: Registry) -> None:
    key = registry.create_key("uploader", [], uploads=["sales"])[1]
    answer = _post(anonymous, CSV, key=key)
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"]["version"] == 1 and answer.json()["version"]["rows"] == 3
    stored = DatasetStore(registry).get("sales:1")
    assert stored.creator == "console:uploader"
    assert DatasetStore(registry).info("sales").source is None  # an uploaded dataset is bound to no file
    again = _post(anonymous, CSV, key=key)
    assert again.status_code == 200 and again.json()["unchanged"] is True


def test_a_parquet_upload_creates_a_version(client: TestClient) -> None:
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(CSV)).to_parquet(buffer, index=False)
    answer = _post(client, buffer.getvalue(), "application/vnd.apache.parquet")
    assert answer.status_code == 201, answer.text
    assert answer.json()["version"]["rows"] == 3


@pytest.mark.parametrize(("body", "content_type", "says"), [
    (b"color,amount\nred,\xff\xfe\n", "text/csv", "not UTF-8 text (invalid start byte at byte 17)"),
    (b"not parquet at all", "application/vnd.apache.parquet", "not a Parquet file"),
    (b"   \n", "text/csv", "The upload is empty"),
    (b"only,a,header\n", "text/csv", "The file has no rows"),
])
def test_a_malformed_body_is_a_400_with_one_message(client: TestClient, registry: Registry, body: bytes,
                                                   content_type: str, says: str) -> None:
    answer = _post(client, body, content_type)
    assert answer.status_code == 400, answer.text
    assert says in answer.json()["detail"] and "\n" not in answer.json()["detail"]
    assert DatasetStore(registry).list_datasets() == []


def test_a_bad_dataset_name_is_a_400(client: TestClient) -> None:
    answer = _post(client, CSV, path="/api/datasets/bad%20name/versions")
    assert answer.status_code == 400 and "not a valid dataset name" in answer.json()["detail"]


def test_an_upload_needs_a_valid_key_with_the_right_and_stores_nothing_otherwise(
        anonymous: TestClient, registry: Registry) -> None:
    missing = _post(anonymous, CSV)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert _post(anonymous, CSV, key="pdm_nope").status_code == 401
    gone = registry.create_key("gone", uploads=["sales"])[1]
    registry.revoke_key("gone")
    assert _post(anonymous, CSV, key=gone).status_code == 401
    scoped = registry.create_key("scoped", ["*"])[1]  # predicts with every model, uploads nothing
    other = registry.create_key("returns-loader", [], uploads=["returns"])[1]
    for key, held in ((scoped, "none"), (other, "returns")):
        answer = _post(anonymous, CSV, key=key)
        assert answer.status_code == 403, answer.text
        assert answer.json()["detail"] == f"This key may not upload to dataset 'sales' (it has upload rights on: {held})."
    assert DatasetStore(registry).list_datasets() == []
    # the upload right is only that: the rest of the console stays the admins'
    assert anonymous.get("/api/datasets", headers={"Authorization": f"Bearer {other}"}).status_code == 403


def test_an_upload_over_the_limit_is_a_413_and_stores_nothing(project: Path, registry: Registry) -> None:
    big = b"color,amount\n" + b"red,1.5\n" * 1000

    def chunks():  # type: ignore[no-untyped-def]
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    app = create_app(load_settings(project), ConsoleOptions(auth=False, max_upload_bytes=4096), registry=registry)
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        declared = client.post(PATH, content=big, headers={"Content-Type": "text/csv"})
        streamed = client.post(PATH, content=chunks(), headers={"Content-Type": "text/csv"})
    for answer in (declared, streamed):
        assert answer.status_code == 413, answer.text
        assert answer.json()["detail"] == "The upload is over the limit of 4,096 bytes."
    assert DatasetStore(registry).list_datasets() == []


def test_the_upload_is_in_the_consoles_openapi_document_and_not_the_services(client: TestClient) -> None:
    assert "post" in client.get("/api/openapi.json").json()["paths"]["/api/datasets/{name}/versions"]
