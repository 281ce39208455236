"""The endpoints page: the model services the registry knows of, each asked how it is."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Any

import httpx

from podium.registry import Registry
from podium.registry.services import ServiceRecord, ServiceStore

__all__ = ["list_endpoints", "try_endpoint", "PROBE_SECONDS"]

#: how long the console waits for a service's /readyz
PROBE_SECONDS = 1.5


async def _probe(client: httpx.AsyncClient, service: ServiceRecord) -> dict[str, Any]:
    """The service's own answer on ``/readyz``: its status, or why it could not be asked."""
    try:
        answer = await client.get(f"{service.url}/readyz")
    except httpx.HTTPError as exc:
        return {"status": "unreachable", "reason": f"{type(exc).__name__}: {exc}".rstrip(": ")}
    try:
        body = answer.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    return {"status": str(body.get("status") or f"HTTP {answer.status_code}"), "reason": body.get("reason"),
            "models": body.get("models")}


def _describe(service: ServiceRecord, health: dict[str, Any]) -> dict[str, Any]:
    status = health["status"]
    if status == "unreachable" and not service.alive:
        status = "gone"  # silent and not answering: stopped (or its machine is)
    return {**asdict(service), "status": status, "health": health, "alive": service.alive,
            "silent_seconds": round(service.silent_for(), 1), "docs_url": f"{service.url}/docs",
            "auth_type": "API key" if service.auth else "none"}


async def list_endpoints(registry: Registry) -> list[dict[str, Any]]:
    """Every service heard from within a day: its record and, asked now, its health."""
    loop = asyncio.get_running_loop()
    services = await loop.run_in_executor(None, ServiceStore(registry).list)
    if not services:
        return []
    async with httpx.AsyncClient(timeout=PROBE_SECONDS, trust_env=False) as client:
        healths = await asyncio.gather(*(_probe(client, s) for s in services))
    return [_describe(s, h) for s, h in zip(services, healths, strict=True)]


async def try_endpoint(registry: Registry, service_id: str, model: str, record: dict[str, Any],
                       key: str | None) -> dict[str, Any]:
    """Send one record to a registered service's ``/v1/models/MODEL/predict`` (with ``key`` when
    given): ``{"status", "body"}``, the service's own answer. Only the services the registry
    knows are called, at the URL they registered."""
    from podium.errors import NotFoundError

    loop = asyncio.get_running_loop()
    service = await loop.run_in_executor(None, ServiceStore(registry).get, service_id)
    if model not in {str(m.get("name")) for m in service.models}:
        served = ", ".join(str(m.get("name")) for m in service.models) or "nothing"
        raise NotFoundError(f"service {service_id} serves no model '{model}' (it serves {served}).")
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    async with httpx.AsyncClient(timeout=10, trust_env=False) as client:
        try:
            answer = await client.post(f"{service.url}/v1/models/{model}/predict", json=record, headers=headers)
        except httpx.HTTPError as exc:
            return {"status": None, "body": {"detail": f"the service did not answer: {type(exc).__name__}: {exc}"}}
    try:
        body: Any = answer.json()
    except ValueError:
        body = {"detail": answer.text[:500]}
    return {"status": answer.status_code, "body": body}
