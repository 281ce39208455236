"""Scoring a table against a running podium service: ``predict_remote``, ``forecast_remote``.

Rows go in batches (``POST /v1/models/{name}/predict/batch``); the answer is a frame with
``prediction`` and, for a classifier, one ``proba_<class>`` column per class, in row order.
A forecasting model gets the table's series as histories (``POST /v1/models/{name}/forecast``,
as many series a request as the service takes) and answers the next horizon of each.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd

from podium.errors import UserError

__all__ = ["predict_remote", "forecast_remote", "describe_remote", "ServiceError"]


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


def describe_remote(url: str, model: str, api_key: str | None = None, *, timeout: float = 60.0) -> dict[str, Any]:
    """The served model's metadata (``GET /v1/models/{name}``): task, endpoints, schema or layout."""
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    with httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=headers) as http:
        return _metadata(http, model, headers)


def forecast_remote(url: str, model: str, history: pd.DataFrame, api_key: str | None = None, *,
                    future: pd.DataFrame | None = None, timeout: float = 120.0,
                    client: httpx.Client | None = None) -> pd.DataFrame:
    """The next horizon of every series of ``history`` (in the model's columns: time, series id,
    target, covariates), forecast by ``model`` served at ``url``: a frame of series id, time
    and forecast target, series in the table's order.

    ``future`` holds the known-future covariates of the steps to forecast (time, series id,
    covariates), as ``podium predict --future`` takes them. Raises ``ServiceError`` with the
    service's own message on a refusal.
    """
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
    own = client is None
    http = client or httpx.Client(base_url=url.rstrip("/"), timeout=timeout, headers=headers)
    try:
        described = _metadata(http, model, headers)
        layout = described.get("forecast")
        if not isinstance(layout, dict):
            raise ServiceError(f"Model '{model}' does not forecast; it scores rows (podium predict without "
                               "--future, or POST /predict).")
        series = _series_payloads(layout, history, future)
        most = int(described.get("max_series") or 1000)
        rows: list[dict[str, Any]] = []
        for start in range(0, len(series), most):
            answer = _post(http, f"/v1/models/{model}/forecast", {"series": series[start:start + most]}, headers)
            for one in answer["series"]:
                ident = {k: v for k, v in one.items() if k != "forecast"}
                rows.extend(ident | point for point in one["forecast"])
    finally:
        if own:
            http.close()
    columns = [*([layout["series_id"]] if layout.get("series_id") else []), layout["time_column"], layout["target"]]
    result = pd.DataFrame(rows, columns=columns)
    result[layout["time_column"]] = pd.to_datetime(result[layout["time_column"]])
    return result


def _series_payloads(layout: dict[str, Any], history: pd.DataFrame,
                     future: pd.DataFrame | None) -> list[dict[str, Any]]:
    """One request series per series of the table: id, static covariates, history and future."""
    sid, time_col, target = layout.get("series_id"), layout["time_column"], layout["target"]
    known, static = list(layout.get("known_future") or []), list(layout.get("static") or [])
    _require(history, [c for c in [sid, time_col, target, *known, *static] if c], "history")
    if known:
        if future is None:
            raise ServiceError(f"This model uses known-future covariates ({', '.join(known)}): give their "
                               f"values for the next {layout['horizon']} steps of each series (--future FILE).")
        _require(future, [c for c in [sid, time_col, *known] if c], "future")
    ahead: dict[Any, pd.DataFrame] = {}
    if future is not None and known:
        ahead = dict(iter(future.groupby(future[sid].astype(str), sort=False))) if sid else {None: future}
    groups = history.groupby(history[sid].astype(str), sort=False) if sid else [(None, history)]
    payloads = []
    for key, part in groups:
        one: dict[str, Any] = {sid: key} if sid else {}
        one |= {c: _json(part[c].iloc[0]) for c in static}
        one["history"] = _records(part[[time_col, target, *known]])
        if known:
            one["future"] = _records(ahead.get(key, future.iloc[:0])[[time_col, *known]])  # type: ignore[union-attr]
        payloads.append(one)
    return payloads


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ServiceError(f"The {what} table lacks column(s) of the forecasting model: {', '.join(missing)}.")


def _records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return [{str(k): _json(v) for k, v in r.items()} for r in frame.to_dict(orient="records")]


def _metadata(http: httpx.Client, model: str, headers: dict[str, str]) -> dict[str, Any]:
    try:
        response = http.get(f"/v1/models/{model}", headers=headers)
    except httpx.HTTPError as exc:
        raise ServiceError(f"Could not reach the service at {http.base_url}: {exc}.") from None
    _raise_for(response)
    described: dict[str, Any] = response.json()
    return described


def _features(http: httpx.Client, model: str, headers: dict[str, str]) -> dict[str, bool]:
    """The model's feature names, each with whether the service requires it."""
    described = _metadata(http, model, headers)
    if "features" not in described and described.get("forecast"):
        raise ServiceError(f"Model '{model}' forecasts series: use forecast_remote (podium predict --url "
                           "does so for a forecasting model).")
    return {str(f["name"]): bool(f["required"]) for f in described["features"]}


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
