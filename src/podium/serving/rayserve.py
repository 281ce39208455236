"""Serving on Ray Serve: the same web service, as an autoscaled deployment on a Ray cluster.

``podium serve REF --engine ray`` and ``podium deploy REF --target ray-serve`` run the app of
``podium.serving.app`` — the same routes, request and response models, API keys, Prometheus
metrics and alias following — inside Ray Serve replicas, through Serve's FastAPI ingress
(``@serve.ingress``). Each replica builds the app itself, when it starts (a model is loaded
where it is served, never pickled across the cluster), and follows its aliases as a
``podium serve`` worker does. Serve's proxy routes requests to the replicas, its autoscaler
keeps each replica near ``target_ongoing_requests`` (between ``min_replicas`` and
``max_replicas``), and its controller replaces a replica that dies.

Prometheus figures: the replicas of one node write them to one folder
(``PROMETHEUS_MULTIPROC_DIR``, set when the replica's process starts) and ``/metrics`` adds
them up, as a ``podium serve``'s workers do; a replica that starts drops the figures of
processes that no longer run (a replica killed, a run before). The application is recorded in
the registry's services table as one service (the console's endpoints), each replica beating
for it.

Ray is imported here only, and only when an app is built or served.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import signal
import tempfile
import threading
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from podium._internal.lazy import require
from podium.errors import SpecError
from podium.serving.options import ServeOptions

__all__ = ["RayServeOptions", "PodiumReplica", "build_app", "app_builder", "serve_on_ray", "app_name",
           "DEPLOYMENT"]

logger = logging.getLogger("podium.serving")

#: the deployment's name in Serve (``serve status``, ``ServeReplica:<app>:<this>`` actors)
DEPLOYMENT = "PodiumModel"
_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


class RayServeOptions(BaseModel):
    """How the deployment scales: Ray Serve's autoscaling and replica settings."""

    model_config = ConfigDict(extra="forbid")

    app_name: str | None = Field(default=None, description="the Serve application's name; "
                                 "default: podium-<model>")
    min_replicas: int = Field(default=1, ge=1, description="fewest replicas, also when idle")
    max_replicas: int = Field(default=4, ge=1, description="most replicas under load")
    initial_replicas: int | None = Field(default=None, ge=1, description="replicas at start (default: min)")
    target_ongoing_requests: float = Field(default=2.0, gt=0,
                                           description="requests in progress or queued per replica that the "
                                                       "autoscaler aims at")
    max_ongoing_requests: int = Field(default=32, ge=1,
                                      description="requests a replica takes at once; more wait in the proxy")
    upscale_delay_s: float = Field(default=30.0, ge=0, description="load must last this long before scaling up")
    downscale_delay_s: float = Field(default=600.0, ge=0,
                                     description="quiet must last this long before scaling down")
    look_back_period_s: float = Field(default=30.0, gt=0, description="window the load is averaged over")
    metrics_interval_s: float = Field(default=10.0, gt=0,
                                      description="how often the load is reported to the autoscaler")
    replica_cpus: float = Field(default=1.0, gt=0, description="CPUs Ray reserves for each replica")
    health_check_period_s: float = Field(default=5.0, gt=0, description="seconds between replica health checks")

    @model_validator(mode="after")
    def _bounds(self) -> RayServeOptions:
        if self.max_replicas < self.min_replicas:
            raise ValueError(f"max_replicas ({self.max_replicas}) is below min_replicas ({self.min_replicas})")
        if self.initial_replicas is not None and not self.min_replicas <= self.initial_replicas <= self.max_replicas:
            raise ValueError(f"initial_replicas ({self.initial_replicas}) is not between min_replicas "
                             f"({self.min_replicas}) and max_replicas ({self.max_replicas})")
        return self

    def autoscaling_config(self) -> dict[str, Any]:
        """Serve's ``autoscaling_config`` of the deployment."""
        config: dict[str, Any] = {
            "min_replicas": self.min_replicas, "max_replicas": self.max_replicas,
            "target_ongoing_requests": self.target_ongoing_requests,
            "upscale_delay_s": self.upscale_delay_s, "downscale_delay_s": self.downscale_delay_s,
            "look_back_period_s": self.look_back_period_s}
        if self.metrics_interval_s != 10.0:  # Serve's default; it warns that the field will move
            config["metrics_interval_s"] = self.metrics_interval_s
        if self.initial_replicas is not None:
            config["initial_replicas"] = self.initial_replicas
        return config


def app_name(ref: str) -> str:
    """The default Serve application name of a model reference: ``podium-churn``."""
    model = ref.split("@", 1)[0].split(":", 1)[0]
    return re.sub(r"[^A-Za-z0-9_-]+", "-", f"podium-{model}").strip("-")


def metrics_dir_for(name: str) -> str:
    """The folder where the replicas of application ``name`` on one node meet their figures."""
    return str(Path(tempfile.gettempdir()) / f"podium-metrics-{name}")


class PodiumReplica:
    """One replica: opens the registry and makes ``create_app``'s app, in the replica's process.

    Serve calls ``__serve_build_asgi_app__`` after the constructor and runs the app's lifespan
    (the alias watcher, the prediction log's writer) as uvicorn would.
    """

    def __init__(self, options: dict[str, Any]) -> None:
        from threadpoolctl import threadpool_limits

        self.options = ServeOptions.model_validate(options)
        threadpool_limits(1)  # replicas share the node's cores: one thread of math each
        if self.options.metrics_dir:
            _drop_dead_figures(Path(self.options.metrics_dir))

    def __serve_build_asgi_app__(self) -> Any:
        from podium.registry import Registry
        from podium.registry.signing import TrustPolicy
        from podium.serving.app import create_app
        from podium.serving.workers import start_with_backoff

        options = self.options
        if options.registry_url is None or options.artifacts_url is None:  # PODIUM_* of the node, or its project
            from podium.config import load_settings

            settings = load_settings()
            options = options.model_copy(update={
                "registry_url": options.registry_url or settings.resolved_registry_url,
                "artifacts_url": options.artifacts_url or settings.resolved_artifacts_url})
        assert options.registry_url is not None and options.artifacts_url is not None
        trust = TrustPolicy.from_files(options.trusted_keys, require_signed=options.require_signed)
        registry = Registry(options.registry_url, options.artifacts_url, cache_dir=options.cache_dir, trust=trust)
        app = start_with_backoff(lambda: create_app(registry, options.refs, auth=options.auth, options=options))
        app.add_middleware(_NoRequestIdHeader)
        return app


class _NoRequestIdHeader:
    """Leaves ``X-Request-ID`` to Serve's proxy, which adds it to every answer (the same id: the
    proxy puts it in the request, where the app reads it); two copies of a header would be one
    too many."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_without(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [(k, v) for k, v in message.get("headers", ()) if k.lower() != b"x-request-id"]
            await send(message)

        await self.app(scope, receive, send_without)


def _drop_dead_figures(folder: Path) -> None:
    """Remove the Prometheus files of processes that no longer run on this node."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in folder.glob("*.db"):
        pid = path.stem.rsplit("_", 1)[-1]
        if pid.isdigit() and int(pid) != os.getpid() and not _alive(int(pid)):
            path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def build_app(options: ServeOptions, scaling: RayServeOptions | None = None) -> Any:
    """The Serve application (``serve.run`` it) serving ``options.refs`` with ``scaling``."""
    serve = require("ray.serve", package="ray[serve]")
    scaling = scaling or RayServeOptions()
    if not options.refs:
        raise SpecError("Nothing to serve: name at least one model (podium serve churn@champion --engine ray).")
    name = scaling.app_name or app_name(options.refs[0])
    metrics_dir = options.metrics_dir or metrics_dir_for(name)
    # one id for every replica: the console lists the application once (heartbeats from each)
    options = options.model_copy(update={"metrics_dir": metrics_dir,
                                          "service_id": options.service_id or uuid.uuid4().hex})
    env = {var: "1" for var in _THREAD_VARS}
    env["PROMETHEUS_MULTIPROC_DIR"] = metrics_dir  # read when prometheus_client is imported
    ingress = serve.ingress()(PodiumReplica)
    deployment = serve.deployment(
        ingress, name=DEPLOYMENT,
        autoscaling_config=scaling.autoscaling_config(),
        max_ongoing_requests=scaling.max_ongoing_requests,
        health_check_period_s=scaling.health_check_period_s,
        graceful_shutdown_timeout_s=options.graceful_timeout,
        ray_actor_options={"num_cpus": scaling.replica_cpus, "runtime_env": {"env_vars": env}},
    )
    return deployment.bind(options.model_dump(mode="json"))


def app_builder(args: dict[str, Any]) -> Any:
    """The ``import_path`` of a Serve config (``serve run serve_config.yaml``): ``args`` holds
    ``serve`` (the ``ServeOptions``) and ``scaling`` (the ``RayServeOptions``)."""
    unknown = set(args) - {"serve", "scaling"}
    if unknown:
        raise SpecError(f"Unknown args in the Serve config: {', '.join(sorted(unknown))}; "
                        "podium's app takes 'serve' and 'scaling'.")
    return build_app(ServeOptions.model_validate(args.get("serve") or {}),
                     RayServeOptions.model_validate(args.get("scaling") or {}))


def serve_on_ray(options: ServeOptions, scaling: RayServeOptions | None = None, *,
                 address: str | None = None, on_ready: Callable[[str], None] | None = None) -> None:
    """Serve ``options.refs`` on Ray Serve until SIGINT or SIGTERM (blocks).

    With ``address`` it joins that cluster and removes its application when it stops (the
    cluster and Serve keep running); without, it starts a Ray instance of its own on this
    machine (in a temporary folder, no dashboard) and stops it at the end. ``on_ready(name)``
    is called once the application answers.
    """
    ray = require("ray", package="ray[serve]")
    serve = require("ray.serve", package="ray[serve]")
    scaling = scaling or RayServeOptions()
    name = scaling.app_name or app_name(options.refs[0])
    own_metrics = options.metrics_dir is None
    metrics_dir = options.metrics_dir or tempfile.mkdtemp(prefix="podium-metrics-")
    options = options.model_copy(update={"metrics_dir": metrics_dir})
    temp_dir = None
    if address is None:
        temp_dir = tempfile.mkdtemp(prefix="podium-ray-")
        os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
        ray.init(address="local", include_dashboard=False, _temp_dir=temp_dir, configure_logging=False)
    else:
        ray.init(address=address, configure_logging=False)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        serve.start(http_options={"host": options.host, "port": options.port})
        serve.run(build_app(options, scaling.model_copy(update={"app_name": name})), name=name,
                  route_prefix="/", blocking=False)
        if on_ready is not None:
            on_ready(name)
        stop.wait()
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        try:
            if address is None:
                serve.shutdown()
            else:
                serve.delete(name)
        finally:
            ray.shutdown()
            if temp_dir is not None:
                shutil.rmtree(temp_dir, ignore_errors=True)
            if own_metrics:
                shutil.rmtree(metrics_dir, ignore_errors=True)
