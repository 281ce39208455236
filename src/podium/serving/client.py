"""Scoring a table against a running podium service: ``predict_remote``.

Rows go in batches (``POST /v1/models/{name}/predict/batch``); the answer is a frame with
``prediction`` and, for a classifier, one ``proba_<class>`` column per class, in row order.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd

from podium.errors import UserError

__all__ = ["predict_remote", "ServiceError"]


class ServiceError(UserError):
    """The service refused the request or could not be reached."""


def predict_remote(url: str, model: str, frame: pd.DataFrame, api_key: str | None = None, *,
                   batch_size: int = 500, timeout: float = 60.0,
                   client: httpx.Client | None = None) -> pd.DataFrame:
    """Score every row of ``frame`` with ``model`` served at ``url``; keeps the frame's index.

    Only the model's features are sent (extra columns, e.g. the target, are left out).
    Raises ``ServiceError`` with the service's own message on a refusal.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    http = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=headers)
    try:
        features = _features(http, model, headers)
        missing = sorted(name for name, required in features.items()
                         if required and name not in {str(c) for c in frame.columns})
        if missing:
            raise ServiceError(f"The table lacks feature(s) of model '{model}': {', '.join(missing)}.")
        columns = [c for c in frame.columns if str(c) in features]
        rows: list[dict[str, Any]] = []
        for chunk in _chunks(frame[columns], batch_size):
            answer = _post(http, f"/v1/models/{model}/predict/batch", {"records": chunk}, headers)
            rows.extend(_flatten(p) for p in answer["predictions"])
    finally:
        if own:
            http.close()
    return pd.DataFrame(rows, index=frame.index)


def _features(http: httpx.Client, model: str, headers: dict[str, str]) -> dict[str, bool]:
    """The model's feature names, each with whether the service requires it."""
    try:
        response = http.get(f"/v1/models/{model}", headers=headers)
    except httpx.HTTPError as exc:
        raise ServiceError(f"Could not reach the service at {http.base_url}: {exc}.") from None
    _raise_for(response)
    return {str(f["name"]): bool(f["required"]) for f in response.json()["features"]}


def _chunks(frame: pd.DataFrame, size: int) -> Iterator[list[dict[str, Any]]]:
    for start in range(0, len(frame), size):
        part = frame.iloc[start:start + size]
        yield [{k: _json(v) for k, v in record.items()} for record in part.to_dict(orient="records")]


def _json(value: Any) -> Any:
    """A cell as JSON carries it: missing values become null, numpy scalars Python values."""
    if value is None or value is pd.NaT or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "isoformat"):
        return value.isoformat()
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _post(http: httpx.Client, path: str, body: dict[str, Any], headers: dict[str, str]) -> Any:
    try:
        response = http.post(path, json=body, headers=headers)
    except httpx.HTTPError as exc:
        raise ServiceError(f"Could not reach the service at {http.base_url}: {exc}.") from None
    _raise_for(response)
    return response.json()


def _raise_for(response: httpx.Response) -> None:
    if response.status_code < 400:
        return
    try:
        detail = response.json().get("detail", response.text)
    except ValueError:
        detail = response.text
    raise ServiceError(f"The service answered {response.status_code}: {detail}")


def _flatten(scored: dict[str, Any]) -> dict[str, Any]:
    row = {"prediction": scored["prediction"]}
    for label, p in (scored.get("probabilities") or {}).items():
        row[f"proba_{label}"] = p
    return row
