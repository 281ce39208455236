"""``podium serve``, ``podium deploy`` and ``podium keys``: models as web services."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from podium.cli.context import err, out, state

if TYPE_CHECKING:
    from podium.registry import ApiKeyInfo
    from podium.serving.deploy import DeployResult
    from podium.serving.options import ServeOptions
    from podium.serving.rayserve import RayServeOptions

__all__ = ["register"]

keys_app = typer.Typer(help="API keys of the services: create, list, revoke.", no_args_is_help=True)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``deploy`` and ``keys`` to the ``podium`` command."""
    app.command("serve")(serve)
    app.command("deploy")(deploy)
    app.add_typer(keys_app, name="keys")


def serve(
    refs: list[str] = typer.Argument(..., help="models to serve: name, name@alias or name:version"),
    host: str = typer.Option("127.0.0.1", "--host", help="address to listen on (0.0.0.0: every interface)"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(0, "--workers",
                                help="worker processes (default: one per usable core: CPU affinity, cgroup quota)"),
    no_auth: bool = typer.Option(False, "--no-auth", help="serve without API keys (local work only)"),
    keys_file: Path | None = typer.Option(None, "--keys-file", envvar="PODIUM_KEYS_FILE",
                                             help="extra accepted keys, one a line (plain or sha256:HEX, then rights: models=, uploads=, admin)"),
    max_batch: int = typer.Option(1000, "--max-batch", help="most records in one batch request"),
    log_rate: float = typer.Option(0.1, "--log-rate", help="share of predictions logged to the registry"),
    prediction_log: str | None = typer.Option(
        None, "--prediction-log", envvar="PODIUM_PREDICTION_LOG",
        help="where logged predictions go: a database URL (default: the registry's), or 'off'"),
    access_log: str = typer.Option("-", "--access-log", help="JSON-lines access log: '-' stdout, a file, or 'off'"),
    reload_interval: float = typer.Option(2.0, "--reload-interval",
                                          help="seconds between alias checks (0: never follow)"),
    max_body_mb: float = typer.Option(16.0, "--max-body-mb", help="largest prediction request body, MiB (more: 413)"),
    max_queue_rows: int = typer.Option(10_000, "--max-queue-rows",
                                       help="rows waiting per model before requests get 503 + Retry-After"),
    max_concurrency: int = typer.Option(512, "--max-concurrency",
                                        help="connections a worker takes at once (more: 503)"),
    registry_grace: float = typer.Option(300.0, "--registry-grace",
                                         help="seconds to keep serving known models and keys while the "
                                              "registry is unreachable"),
    protect_docs: bool = typer.Option(False, "--protect-docs", help="/docs, /openapi.json and /metrics need a key"),
    real_examples: bool = typer.Option(False, "--real-examples",
                                       help="OpenAPI examples from training rows (default: synthetic, in range)"),
    engine: str = typer.Option("uvicorn", "--engine",
                               help="uvicorn: worker processes on this machine; ray: Ray Serve replicas, "
                                    "autoscaled (pip install 'podium[ray]')"),
    ray_address: str | None = typer.Option(None, "--ray-address",
                                           help="ray: the cluster to join (default: a local Ray instance)"),
    min_replicas: int | None = typer.Option(None, "--min-replicas", help="ray: fewest replicas (default 1)"),
    max_replicas: int | None = typer.Option(None, "--max-replicas", help="ray: most replicas (default 4)"),
    target_ongoing: float | None = typer.Option(None, "--target-ongoing-requests",
                                                help="ray: requests in progress per replica the autoscaler "
                                                     "aims at (default 2)"),
    upscale_delay: float | None = typer.Option(None, "--upscale-delay",
                                               help="ray: seconds of load before adding replicas (default 30)"),
    downscale_delay: float | None = typer.Option(None, "--downscale-delay",
                                                 help="ray: seconds of quiet before removing replicas (default 600)"),
    replica_cpus: float | None = typer.Option(None, "--replica-cpus", help="ray: CPUs reserved per replica (default 1)"),
) -> None:
    """Serve registered models over HTTP: OpenAPI at /openapi.json, Swagger UI at /docs.

    Follows aliases: when churn@champion moves, the service switches without a restart.
    With --engine ray the same service runs as Ray Serve replicas, autoscaled.
    """
    from podium.errors import SpecError
    from podium.serving.options import ServeOptions
    from podium.serving.workers import check_refs
    from podium.serving.workers import serve as run_service

    given: dict[str, float | int | None] = {
        "min_replicas": min_replicas, "max_replicas": max_replicas, "target_ongoing_requests": target_ongoing,
        "upscale_delay_s": upscale_delay, "downscale_delay_s": downscale_delay, "replica_cpus": replica_cpus}
    scaling_flags = {k: v for k, v in given.items() if v is not None}
    if engine not in ("uvicorn", "ray"):
        raise SpecError(f"Unknown --engine '{engine}'.", hint="use --engine uvicorn (the default) or --engine ray")
    if engine != "ray" and (scaling_flags or ray_address):
        flag = "--ray-address" if ray_address else _flag(next(iter(scaling_flags)))
        raise SpecError(f"{flag} applies to Ray Serve only.", hint="add --engine ray")
    if engine == "ray" and workers:
        raise SpecError("--workers applies to --engine uvicorn; Ray Serve scales replicas.",
                        hint="use --min-replicas and --max-replicas")
    scaling = _scaling(scaling_flags) if engine == "ray" else None
    if keys_file is not None and not keys_file.is_file():
        raise SpecError(f"No keys file at {keys_file}.",
                        hint="mount one (one API key a line, plain or sha256:HEX), or leave out --keys-file "
                             "and PODIUM_KEYS_FILE")
    settings = state.settings()
    registry = state.registry()
    resolved = check_refs(registry, refs)
    log_off = prediction_log is not None and prediction_log.strip().lower() in ("off", "none", "")
    if keys_file is not None:  # a bad line fails here once, clearly, not in every worker
        from podium.serving.auth import KeyFile

        KeyFile(keys_file)
    options = ServeOptions(
        refs=refs, registry_url=settings.resolved_registry_url,
        artifacts_url=settings.resolved_artifacts_url, cache_dir=settings.cache_dir,
        require_signed=settings.require_signed, trusted_keys=[str(p) for p in settings.resolved_trusted_keys],
        host=host, port=port, workers=workers,
        auth=not no_auth, max_batch=max_batch, prediction_log_rate=0.0 if log_off else log_rate,
        prediction_log_url=None if log_off else prediction_log,
        prediction_log_policy=settings.prediction_log,
        access_log=None if access_log == "off" else access_log, reload_interval=reload_interval,
        keys_file=str(keys_file.resolve()) if keys_file else None,
        max_request_bytes=int(max_body_mb * 2**20),
        max_queue_rows=max_queue_rows, max_concurrency=max_concurrency, registry_grace=registry_grace,
        protect_docs=protect_docs, real_examples=real_examples,
    )
    shown = ", ".join(f"{name} v{version}" for name, version in resolved)
    base = f"http://{host}:{port}"
    if scaling is not None:
        _serve_on_ray(options, scaling, ray_address, shown, base)
        return
    err.print(f"serving {shown} at {base} with {options.resolved_workers} worker(s); "
              f"docs: {base}/docs" + ("" if options.auth else "  [yellow](no auth)[/]"))
    if _is_program():  # the `podium` command itself: hand over to a lean supervisor process
        from podium.serving.supervisor import exec_serve

        exec_serve(options)
    run_service(options)  # called in-process (a test, a library user): serve here


def _write_ray_serve(ref: str, out_dir: Path, port: int, flags: dict[str, float | int]) -> DeployResult:
    from podium.serving.deploy import write_ray_serve
    from podium.serving.options import ServeOptions

    settings = state.settings()
    registry = state.registry()
    options = ServeOptions(refs=[ref], registry_url=settings.resolved_registry_url,
                           artifacts_url=settings.resolved_artifacts_url, cache_dir=settings.cache_dir,
                           require_signed=settings.require_signed,
                           trusted_keys=[str(p) for p in settings.resolved_trusted_keys],
                           prediction_log_policy=settings.prediction_log)
    return write_ray_serve(registry, ref, out_dir, options=options, scaling=_scaling(flags), port=port)


def _scaling(flags: dict[str, float | int]) -> RayServeOptions:
    """``RayServeOptions`` from the command line's flags; a bad value is one clear line."""
    from pydantic import ValidationError

    from podium.errors import SpecError
    from podium.serving.rayserve import RayServeOptions

    try:
        return RayServeOptions.model_validate(flags)
    except ValidationError as exc:
        problem = exc.errors()[0]
        message = str(problem["msg"]).removeprefix("Value error, ")
        shown = f"{_flag(str(problem['loc'][0]))}: {message}" if problem["loc"] else message
        raise SpecError(f"{shown}.", hint="see --help") from None


def _serve_on_ray(options: ServeOptions, scaling: RayServeOptions, address: str | None, shown: str,
                  base: str) -> None:
    from podium.serving.rayserve import serve_on_ray

    where = f"the Ray cluster at {address}" if address else "a local Ray instance"

    def ready(name: str) -> None:
        err.print(f"serving {shown} at {base} on Ray Serve (application '{name}', {where}), "
                  f"{scaling.min_replicas}–{scaling.max_replicas} replicas, "
                  f"{scaling.target_ongoing_requests:g} ongoing requests each; docs: {base}/docs"
                  + ("" if options.auth else "  [yellow](no auth)[/]"))

    err.print(f"starting Ray Serve on {where}…")
    serve_on_ray(options, scaling, address=address, on_ready=ready)


def _flag(field: str) -> str:
    """The option of a ``RayServeOptions`` field: upscale_delay_s → --upscale-delay."""
    return "--" + field.removesuffix("_s").replace("_", "-")


def _is_program() -> bool:
    import sys

    return Path(sys.argv[0]).name == "podium"


def deploy(
    ref: str = typer.Argument(..., help="the model to package: name, name@alias or name:version"),
    target: str = typer.Option(..., "--target", help="docker | kubernetes | ray-serve"),
    out_dir: Path = typer.Option(..., "--out", help="folder to write (created; must be empty)"),
    replicas: int = typer.Option(2, "--replicas", help="kubernetes: the autoscaler's fewest pods (at least 2)"),
    image: str | None = typer.Option(None, "--image", help="kubernetes: the pushed image, pinned by digest: "
                                     "REGISTRY/NAME@sha256:… (default: a placeholder to replace)"),
    keys_file: Path | None = typer.Option(None, "--keys-file", help="kubernetes: the API keys (one a line); "
                                          "the Secret gets their sha256 only"),
    prediction_log_secret: str | None = typer.Option(None, "--prediction-log-secret",
                                                     help="kubernetes: a Secret whose 'url' names a remote "
                                                     "prediction log (default: off)"),
    namespace: str = typer.Option("podium", "--namespace", help="kubernetes: the namespace (its manifest "
                                  "enforces the restricted Pod Security level)"),
    port: int = typer.Option(8000, "--port"),
    workers: int = typer.Option(2, "--workers", help="worker processes per container"),
    min_replicas: int = typer.Option(1, "--min-replicas", help="ray-serve: fewest replicas"),
    max_replicas: int = typer.Option(4, "--max-replicas", help="ray-serve: most replicas"),
    target_ongoing: float = typer.Option(2.0, "--target-ongoing-requests",
                                         help="ray-serve: requests in progress per replica the autoscaler aims at"),
    upscale_delay: float = typer.Option(30.0, "--upscale-delay", help="ray-serve: seconds of load before adding"),
    downscale_delay: float = typer.Option(600.0, "--downscale-delay",
                                          help="ray-serve: seconds of quiet before removing"),
    replica_cpus: float = typer.Option(1.0, "--replica-cpus", help="ray-serve: CPUs reserved per replica"),
) -> None:
    """Write a Docker build context or Kubernetes manifests that serve one model version, or a
    Ray Serve application that serves the model and follows its alias."""
    from podium.serving.deploy import write_docker, write_kubernetes

    registry = state.registry()
    if target in ("ray-serve", "ray"):
        result = _write_ray_serve(ref, out_dir, port, {
            "min_replicas": min_replicas, "max_replicas": max_replicas, "target_ongoing_requests": target_ongoing,
            "upscale_delay_s": upscale_delay, "downscale_delay_s": downscale_delay, "replica_cpus": replica_cpus})
    elif target == "docker":
        result = write_docker(registry, ref, out_dir, port=port, workers=workers)
    elif target in ("kubernetes", "k8s"):
        result = write_kubernetes(registry, ref, out_dir, replicas=replicas, image=image, keys_file=keys_file,
                                  prediction_log_secret=prediction_log_secret,
                                  namespace=namespace, port=port, workers=workers)
    else:
        from podium.errors import SpecError

        raise SpecError(f"Unknown deploy target '{target}'.",
                        hint="use --target docker, --target kubernetes or --target ray-serve")
    for path in result.files:
        out.print(str(path))
    for line in result.next_steps:
        err.print(line)


@keys_app.command("create")
def create_key(
    name: str = typer.Option(..., "--name", help="who the key is for, e.g. billing-service"),
    models: list[str] = typer.Option([], "--model", help="a model it may predict with (repeat; default: all)"),
    uploads: list[str] = typer.Option([], "--upload", help="a dataset it may upload versions of (repeat; default: none)"),
    admin: bool = typer.Option(False, "--admin", help="it may administer (console, promote, rollback)"),
) -> None:
    """Create an API key with its rights; it is printed once and stored hashed."""
    allowed = _names(models) or ["*"]
    key_id, plaintext = state.registry().create_key(name, models=allowed, uploads=_names(uploads), admin=admin)
    err.print(f"key '{name}' ({key_id}): {_rights(allowed, _names(uploads), admin)} — shown once, keep it safe:")
    print(plaintext)


@keys_app.command("rights")
def key_rights(
    name_or_id: str = typer.Argument(..., help="the key's name or id"),
    models: list[str] = typer.Option([], "--model", help="models it may predict with, replacing the old list"),
    uploads: list[str] = typer.Option([], "--upload", help="datasets it may upload to, replacing the old list"),
    no_uploads: bool = typer.Option(False, "--no-uploads", help="take away every upload right"),
    admin: bool | None = typer.Option(None, "--admin/--no-admin", help="give or take the admin right"),
) -> None:
    """Change what a key may do; services apply it within seconds (no restart)."""
    from podium.errors import SpecError

    if no_uploads and uploads:
        raise SpecError("--upload and --no-uploads contradict each other; give one.")
    key = state.registry().set_key_rights(
        name_or_id, models=_names(models) or None, uploads=[] if no_uploads else (_names(uploads) or None),
        admin=admin)
    err.print(f"key '{key.name}': {_rights(key.models, key.uploads, key.admin)}")


def _names(values: list[str]) -> list[str]:
    """Repeated options, also accepting comma-separated lists."""
    return [n.strip() for v in values for n in v.split(",") if n.strip()]


def _rights(models: list[str], uploads: list[str], admin: bool) -> str:
    shown = f"predict with {', '.join(models) if models else 'no model'}"
    shown += f"; upload to {', '.join(uploads)}" if uploads else "; no uploads"
    return shown + ("; admin" if admin else "")


@keys_app.command("list")
def list_keys(as_json: bool = typer.Option(False, "--json")) -> None:
    """Every API key: name, rights (models, uploads, admin), created, revoked (never the key itself)."""
    keys = state.registry().list_keys()
    if as_json:
        print(json.dumps([_public(k) for k in keys], default=str))
        return
    records = [_public(k) for k in keys]
    if not records:
        out.print("no keys yet: podium keys create --name NAME")
        return
    from podium.cli.render import records_table

    out.print(records_table("API keys", records, list(records[0].keys())))


@keys_app.command("revoke")
def revoke_key(name_or_id: str = typer.Argument(..., help="the key's name or id")) -> None:
    """Revoke a key; services refuse it within seconds."""
    state.registry().revoke_key(name_or_id)
    err.print(f"revoked '{name_or_id}'")


def _public(key: ApiKeyInfo) -> dict[str, object]:
    """A key's record without anything secret (only a hash is stored, and it stays in)."""
    return {k: v for k, v in asdict(key).items() if k not in ("hash", "hashed_key", "secret")}
