"""What a service is told: which models, where the registry is, and its knobs.

One object, built by ``podium serve`` (or a library user) and handed to every worker
process as JSON.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from podium._internal.resources import usable_cores
from podium.config import PredictionLogSettings

__all__ = ["ServeOptions"]


class ServeOptions(BaseModel):
    """The settings of one service (all its workers)."""

    model_config = ConfigDict(extra="forbid")

    refs: list[str] = Field(default_factory=list, description="models to serve: name, name@alias, name:N")
    registry_url: str | None = Field(default=None, description="SQLAlchemy URL of the registry")
    artifacts_url: str | None = Field(default=None, description="fsspec URL of the artifact store")
    cache_dir: str | None = Field(default=None, description="private cache of a remote artifact store")
    require_signed: bool = Field(default=False, description="serve only packages signed by a trusted key")
    trusted_keys: list[str] = Field(default_factory=list, description="paths of the trusted public keys (PEM)")
    host: str = Field(default="127.0.0.1", description="address to listen on")
    port: int = Field(default=8000, ge=0, le=65535)
    workers: int = Field(default=0, ge=0, description="worker processes; 0 means one per usable core")
    auth: bool = Field(default=True, description="require an API key on model endpoints")
    max_batch: int = Field(default=1000, ge=1, description="most records in one batch request (more: 413)")
    micro_batch_rows: int = Field(default=256, ge=1, description="most rows scored in one model call")
    reload_interval: float = Field(default=2.0, ge=0, description="seconds between alias checks; 0: never")
    keys_file: str | None = Field(default=None, description="extra accepted keys (a mounted secret), one a line")
    key_cache_seconds: float = Field(default=2.0, ge=0, description="how long a key check is remembered")
    prediction_log_rate: float = Field(default=0.1, ge=0, le=1, description="share of requests logged")
    prediction_log_url: str | None = Field(default=None,
                                           description="database URL of the prediction log; None: the registry's")
    prediction_log_max_rows: int = Field(default=200, ge=0,
                                         description="most rows a worker logs per second (the sample's cap)")
    prediction_log_policy: PredictionLogSettings = Field(
        default_factory=PredictionLogSettings, description="retention, dropped and hashed inputs (podium.yaml)")
    access_log: str | None = Field(default="-", description="'-' for stdout, a file path, or None for off")
    graceful_timeout: float = Field(default=10.0, ge=0, description="seconds in-flight requests get on SIGTERM")
    metrics_dir: str | None = Field(default=None, description="PROMETHEUS_MULTIPROC_DIR shared by workers")
    # -- bounds: nothing a client sends can make a worker hold more than these
    max_request_bytes: int = Field(default=16 * 2**20, ge=1024,
                                   description="largest prediction request body (more: 413, read no further)")
    max_string_length: int = Field(default=4096, ge=1, description="longest text value in a record (more: 422)")
    max_queue_rows: int = Field(default=10_000, ge=1,
                                description="rows waiting for a model at most; more: 503 with Retry-After")
    max_concurrency: int = Field(default=512, ge=1,
                                 description="connections and requests a worker takes at once (more: 503)")
    key_cache_entries: int = Field(default=10_000, ge=1, description="keys a worker remembers (LRU)")
    # -- outages: a registry that cannot be reached
    registry_grace: float = Field(default=300.0, ge=0,
                                  description="seconds a worker keeps serving known models and key verdicts "
                                              "while the registry cannot be reached")
    # -- the registry's record of running services (the console's endpoints)
    service_id: str | None = Field(default=None, description="this service's id in the registry's services "
                                                             "table; None: not recorded (podium serve sets one)")
    heartbeat_interval: float = Field(default=10.0, ge=0, description="seconds between two heartbeats; 0: never")
    # -- what is published
    protect_docs: bool = Field(default=False, description="/docs, /openapi.json and /metrics need a key")
    real_examples: bool = Field(default=False,
                                description="OpenAPI examples from training rows (default: synthetic, in range)")

    @property
    def resolved_workers(self) -> int:
        return self.workers if self.workers > 0 else usable_cores()
