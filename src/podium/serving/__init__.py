"""Serving: every registered model as an authenticated, documented, observable web service.

::

    app = create_app(registry, ["churn@champion"])        # a FastAPI app, models loaded
    serve(ServeOptions(refs=["churn@champion"], workers=2))  # N uvicorn workers (blocks)
    scored = predict_remote("http://localhost:8000", "churn", frame, api_key)
    forecast = forecast_remote("http://localhost:8000", "sales", history, api_key)  # a forecasting model
    write_docker(registry, "churn@champion", "build/churn")  # a Docker build context

The request and response models, the OpenAPI document, the metrics and the deploy files
are generated from the model package alone. Names load lazily: FastAPI and uvicorn are
imported only when a service is built.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_EXPORTS = {
    "create_app": "podium.serving.app",
    "ServeOptions": "podium.serving.options",
    "serve": "podium.serving.workers",
    "predict_remote": "podium.serving.client",
    "forecast_remote": "podium.serving.client",
    "describe_remote": "podium.serving.client",
    "ServiceError": "podium.serving.client",
    "write_docker": "podium.serving.deploy",
    "write_kubernetes": "podium.serving.deploy",
    "DeployResult": "podium.serving.deploy",
}

__all__ = list(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'podium.serving' has no attribute '{name}'")


def __dir__() -> list[str]:
    return sorted(__all__)
