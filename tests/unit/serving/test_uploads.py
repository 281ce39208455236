"""POST /v1/datasets/{name}/versions: a CSV or Parquet body becomes a dataset version."""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pandas as pd
import pytest
from fastapi.testclient import TestClient
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder

from podium.data import infer_column_types
from podium.registry import InputSchema, ModelPackage, OutputSchema, Registry
from podium.registry.datasets import DatasetStore
from podium.serving.app import create_app
from podium.serving.options import ServeOptions

CSV = b"color,amount\nred,1.5\nblue,2.0\nred,3.25\n"


@pytest.fixture
def real_registry(tmp_path) -> Registry:
    rng = np.random.default_rng(0)
    color = rng.choice(["red", "blue"], 60)
    X, y = pd.DataFrame({"color": color}), pd.Series(np.where(color == "red", "yes", "no"), name="y")
    pipeline = make_pipeline(OneHotEncoder(handle_unknown="ignore"), LogisticRegression()).fit(X, y)
    package = ModelPackage(pipeline=pipeline, input_schema=InputSchema.from_frame(X, infer_column_types(X)),
                           output_schema=OutputSchema.from_target(y, "binary"), metric="accuracy")
    registry = Registry(f"sqlite:///{tmp_path}/r.db", str(tmp_path / "artifacts"))
    registry.register("colors", package)
    return registry


def _client(registry: Registry, *, auth: bool = True) -> TestClient:
    options = ServeOptions(access_log=None, prediction_log_rate=0, reload_interval=0, key_cache_seconds=0)
    return TestClient(create_app(registry, ["colors"], auth=auth, options=options))


@pytest.fixture
def client(real_registry: Registry) -> Iterator[TestClient]:
    key = real_registry.create_key("uploader", ["colors"], uploads=["sales"])[1]
    with _client(real_registry) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        yield c


def test_a_csv_upload_creates_a_version_then_the_same_content_changes_nothing(client, real_registry):
    response = client.post("/v1/datasets/sales/versions", content=CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 201, response.text
    assert response.json() == {"dataset": "sales", "version": 1, "rows": 3, "drifted": False,
                               "drifted_columns": []}
    stored = DatasetStore(real_registry).get("sales:1")
    assert stored.creator == "http:uploader"
    again = client.post("/v1/datasets/sales/versions", content=CSV, headers={"Content-Type": "text/csv"})
    assert again.status_code == 200
    assert again.json() == {"dataset": "sales", "version": None, "unchanged": True}


def test_a_parquet_upload_creates_a_version(client):
    buffer = io.BytesIO()
    pd.read_csv(io.BytesIO(CSV)).to_parquet(buffer, index=False)
    response = client.post("/v1/datasets/sales/versions", content=buffer.getvalue(),
                           headers={"Content-Type": "application/vnd.apache.parquet"})
    assert response.status_code == 201, response.text
    assert response.json()["version"] == 1 and response.json()["rows"] == 3


@pytest.mark.parametrize(("body", "content_type"), [
    (b"\x00\xff\xfe garbage \x81", "text/csv"),
    (b"not parquet at all", "application/vnd.apache.parquet"),
    (b"", "text/csv"),
    (b"only,a,header\n", "text/csv"),
])
def test_a_malformed_body_is_a_400_with_one_message(client, body, content_type):
    response = client.post("/v1/datasets/sales/versions", content=body, headers={"Content-Type": content_type})
    assert response.status_code == 400, response.text
    assert response.json()["detail"] and "\n" not in response.json()["detail"]


def test_a_bad_dataset_name_is_a_400(client):
    response = client.post("/v1/datasets/bad%20name/versions", content=CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 400


def test_an_upload_needs_a_valid_key(real_registry):
    with _client(real_registry) as c:
        missing = c.post("/v1/datasets/sales/versions", content=CSV, headers={"Content-Type": "text/csv"})
        assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
        wrong = c.post("/v1/datasets/sales/versions", content=CSV,
                       headers={"Content-Type": "text/csv", "Authorization": "Bearer pk_nope"})
        assert wrong.status_code == 401
    key = real_registry.create_key("gone")[1]
    real_registry.revoke_key("gone")
    with _client(real_registry) as c:
        revoked = c.post("/v1/datasets/sales/versions", content=CSV,
                         headers={"Content-Type": "text/csv", "Authorization": f"Bearer {key}"})
        assert revoked.status_code == 401


def test_a_key_without_the_upload_right_on_that_dataset_is_refused_and_nothing_is_stored(real_registry):
    scoped = real_registry.create_key("scoped", ["colors"])[1]  # predicts with colors, uploads nothing
    other = real_registry.create_key("returns-loader", uploads=["returns"])[1]
    with _client(real_registry) as c:
        for key, held in ((scoped, "none"), (other, "returns")):
            response = c.post("/v1/datasets/sales/versions", content=CSV,
                              headers={"Content-Type": "text/csv", "Authorization": f"Bearer {key}"})
            assert response.status_code == 403, response.text
            assert response.json()["detail"] == (
                f"This key may not upload to dataset 'sales' (it has upload rights on: {held}).")
    assert DatasetStore(real_registry).list_datasets() == []


def test_without_auth_uploads_are_refused(real_registry):
    with _client(real_registry, auth=False) as c:
        response = c.post("/v1/datasets/sales/versions", content=CSV, headers={"Content-Type": "text/csv"})
    assert response.status_code == 403
    assert "--no-auth" in response.json()["detail"]
    assert DatasetStore(real_registry).list_datasets() == []


def test_an_upload_over_the_limit_is_a_413_and_stores_nothing(real_registry):
    key = real_registry.create_key("loader", uploads=["sales"])[1]
    options = ServeOptions(access_log=None, prediction_log_rate=0, reload_interval=0, key_cache_seconds=0,
                           max_upload_bytes=4096)
    big = b"color,amount\n" + b"red,1.5\n" * 1000

    def chunks():
        for start in range(0, len(big), 1000):
            yield big[start:start + 1000]

    with TestClient(create_app(real_registry, ["colors"], options=options)) as c:
        c.headers["Authorization"] = f"Bearer {key}"
        declared = c.post("/v1/datasets/sales/versions", content=big, headers={"Content-Type": "text/csv"})
        streamed = c.post("/v1/datasets/sales/versions", content=chunks(), headers={"Content-Type": "text/csv"})
    for response in (declared, streamed):
        assert response.status_code == 413, response.text
        assert "4096 bytes" in response.json()["detail"]
    assert DatasetStore(real_registry).list_datasets() == []


def test_the_endpoint_is_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json()["paths"]
    operation = paths["/v1/datasets/{name}/versions"]["post"]
    assert "text/csv" in operation["requestBody"]["content"] and operation["security"]
