"""Project settings: ``podium.yaml`` at the project root, overridden by ``PODIUM_*`` variables.

Loaded once (``load_settings``) and passed in; nothing deeper reads the environment, except
``resolve_secrets``: a secret written as ``${NAME}`` (in a spec or here) is read from the
environment at the moment it is used, and never stored.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from podium._internal.redact import MissingVariable, expand_env
from podium._internal.resources import usable_cores
from podium.errors import SpecError

__all__ = ["Settings", "PredictionLogSettings", "load_settings", "resolve_secrets", "SETTINGS_FILE"]

SETTINGS_FILE = "podium.yaml"


class PredictionLogSettings(BaseModel):
    """What a service's prediction log keeps: for how long, how much, and which inputs not as they came."""

    model_config = ConfigDict(extra="forbid")

    keep_days: float | None = Field(default=30.0, gt=0, description="rows older than this are deleted; null: kept")
    keep_rows: int | None = Field(default=100_000, gt=0, description="newest rows kept per model; null: all")
    drop: list[str] = Field(default_factory=list, description="input columns never logged")
    hash: list[str] = Field(default_factory=list,
                            description="input columns logged as a keyed hash (countable, not readable)")
    hash_key: str | None = Field(default=None, description="the hash's secret key, e.g. ${PODIUM_LOG_HASH_KEY}; "
                                 "without one the hash is unkeyed and guessable for short values")


class Settings(BaseModel):
    """Where a project keeps its metadata and artifacts, how it trains and whom it tells."""

    model_config = ConfigDict(extra="forbid")

    project_dir: Path = Field(default_factory=Path.cwd)
    registry_url: str | None = Field(
        None, description="SQLAlchemy URL of the metadata; default SQLite in .podium/registry.db"
    )
    artifacts_url: str | None = Field(
        None, description="fsspec URL of the artifact store; default .podium/artifacts"
    )
    executor: str = Field("local", description="local (process pool), inline, or ray")
    ray_address: str | None = Field(
        None, description="with executor ray: the cluster to join (host:port of its head); "
                          "none: podium starts Ray on this machine")
    n_jobs: int = Field(0, description="parallel trials; 0 means one per usable core, as memory allows")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="where trials train: auto (cuda when PyTorch sees a GPU), cpu or cuda; a spec's own wins")
    notify: list[Any] = Field(default_factory=lambda: ["log"])
    prediction_log: PredictionLogSettings = Field(default_factory=lambda: PredictionLogSettings())
    cache_dir: str | None = Field(
        None, description="private folder caching a remote artifact store; default the user's cache folder"
    )
    signing_key: str | None = Field(
        None, description="Ed25519 private key (PEM) that signs registered packages (podium keys signing create)"
    )
    require_signed: bool = Field(
        False, description="serve, predict and promote only packages signed by one of trusted_keys"
    )
    trusted_keys: list[str] = Field(
        default_factory=list, description="public keys (PEM) whose package signatures are accepted"
    )
    watch_lease_seconds: float = Field(
        30.0, gt=0, description="how long a watcher's claim on a job lasts unless it renews it")
    test_kill_at: str | None = Field(
        None, description="for crash tests only: the failpoint at which the process kills itself")

    @property
    def state_dir(self) -> Path:
        return self.project_dir / ".podium"

    @property
    def resolved_registry_url(self) -> str:
        """The registry URL to connect with: ``${NAME}`` references resolved now."""
        if self.registry_url:
            return str(resolve_secrets(self.registry_url, where="registry_url"))
        return f"sqlite:///{(self.state_dir / 'registry.db').resolve()}"

    @property
    def resolved_artifacts_url(self) -> str:
        if self.artifacts_url:
            return str(resolve_secrets(self.artifacts_url, where="artifacts_url"))
        return str((self.state_dir / "artifacts").resolve())

    @property
    def resolved_signing_key(self) -> Path | None:
        return None if self.signing_key is None else self.project_dir / Path(self.signing_key).expanduser()

    @property
    def resolved_trusted_keys(self) -> list[Path]:
        return [self.project_dir / Path(p).expanduser() for p in self.trusted_keys]

    @property
    def resolved_n_jobs(self) -> int:
        return self.n_jobs if self.n_jobs > 0 else usable_cores()


def resolve_secrets(value: Any, *, where: str, environ: Mapping[str, str] | None = None) -> Any:
    """``value`` with its ``${NAME}`` references replaced from the environment, for use now.

    The result is for using, never for storing or showing. A variable that is not set is a
    ``SpecError`` naming it and ``where`` it was referenced.
    """
    try:
        return expand_env(value, os.environ if environ is None else environ)
    except MissingVariable as exc:
        raise SpecError(f"{where}: the environment variable '{exc.name}' is not set.",
                        hint=f"export {exc.name}=… where podium runs (secrets written as "
                             f"${{{exc.name}}} are read from the environment when used)") from None


_ENV_KEYS = {"registry_url", "artifacts_url", "executor", "ray_address", "n_jobs", "device", "cache_dir",
             "signing_key", "require_signed", "watch_lease_seconds", "test_kill_at"}


def load_settings(
    project_dir: str | Path | None = None, *, environ: Mapping[str, str] | None = None
) -> Settings:
    """Read ``podium.yaml`` in the project folder (``PODIUM_HOME`` or the current one)."""
    env = os.environ if environ is None else environ
    root = Path(project_dir or env.get("PODIUM_HOME") or Path.cwd()).resolve()
    values: dict[str, Any] = {}
    path = root / SETTINGS_FILE
    if path.exists():
        try:
            loaded = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML ({exc}).") from None
        if not isinstance(loaded, dict):
            raise SpecError(f"{path}: expected a mapping of settings.")
        values.update(loaded)
    for key in _ENV_KEYS:
        if (value := env.get(f"PODIUM_{key.upper()}")) is not None:
            values[key] = value
    values["project_dir"] = root
    try:
        return Settings(**values)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise SpecError(f"{path.name}: '{where}': {err['msg']}.") from None
