"""The console's HTTP app: the admin API under ``/api`` and the built single-page app at ``/``."""

from __future__ import annotations

import asyncio
import json
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel

from podium.config import Settings
from podium.console.auth import COOKIE, CSRF_HEADER, Session, SessionSigner, load_secret
from podium.console.jobs import END, JobStore, read_events
from podium.console.models import BindingOut, Columns, Endpoint, Importance, PipelineDetail, PipelineSummary, \
    SavedVersion, SavedVersionYaml, TryAnswer, TryRecord
from podium.errors import ConflictError, NotFoundError, PodiumError, UserError
from podium.registry import Registry

__all__ = ["ConsoleOptions", "create_app", "serve"]

STATIC = Path(__file__).parent / "static"
#: the largest dataset upload accepted, in bytes
MAX_UPLOAD_BYTES = 512 * 1024 * 1024
_SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}

_NO_APP = """<!doctype html><html><head><meta charset="utf-8"><title>podium console</title></head>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>podium console</h1><p>The API runs (<a href="/api/openapi.json">/api/openapi.json</a>), but the web app
is not built into this installation.</p><p>Build it from a clone of podium with <code>make demo</code>
(it builds <code>web/</code> into <code>src/podium/console/static/</code>), then restart
<code>podium console</code>.</p></body></html>"""


class ConsoleOptions(BaseModel):
    """How the console runs: with sign-in (default) or without (``--no-auth``, a laptop)."""

    auth: bool = True
    #: without sign-in, answer only requests addressed to 127.0.0.1/localhost (off: --force-no-auth)
    local_only: bool = True
    max_upload_bytes: int = MAX_UPLOAD_BYTES
    #: seconds between two looks at a run's event file while streaming it
    poll_seconds: float = 0.2


class ApiError(Exception):
    """An HTTP answer with a one-line message."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers


class SignIn(BaseModel):
    """An admin API key to sign in with."""

    key: str


class Promote(BaseModel):
    """The version the alias moves to."""

    version: int
    alias: str = "champion"


class Bind(BaseModel):
    """The dataset whose new versions run a saved pipeline, and an optional cron schedule (UTC)."""

    dataset: str
    schedule: str | None = None
    version: int | None = None


class Rollback(BaseModel):
    """The alias to move back."""

    alias: str = "champion"


def _status(exc: PodiumError) -> int:
    if isinstance(exc, NotFoundError):
        return 404
    if isinstance(exc, ConflictError):
        return 409
    if isinstance(exc, UserError):
        return 400
    return 500


def create_app(settings: Settings, options: ConsoleOptions | None = None, *,
               registry: Registry | None = None, jobs: JobStore | None = None) -> FastAPI:
    """The console over one project: its registry, its runs and its datasets."""
    from podium.serving.auth import KeyChecker, key_from_headers

    options = options or ConsoleOptions()
    registry = registry or Registry.from_settings(settings)
    jobs = jobs or JobStore(settings.project_dir)
    jobs.settle_orphans()  # runs a killed console left behind end, so their streams end too
    signer = SessionSigner(load_secret(settings.state_dir))
    checker = KeyChecker(registry.find_key)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        jobs.close()  # runs still going end with the console
        checker.close()

    app = FastAPI(title="podium console", openapi_url="/api/openapi.json", docs_url="/api/docs", redoc_url=None,
                  lifespan=lifespan)
    app.state.registry, app.state.jobs = registry, jobs

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"detail": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(PodiumError)
    async def _podium_error(_request: Request, exc: PodiumError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status(exc))

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:  # one line, never a stack trace
        return JSONResponse({"detail": f"internal error: {type(exc).__name__}: {exc}"}, status_code=500)

    def _key_refusal(plaintext: str) -> tuple[str, str]:
        """(key id, key name) of an admin key, or an ApiError saying why not."""
        found = checker.lookup(plaintext)
        refusal = found.refusal("admin")
        if refusal is not None:
            raise ApiError(refusal[0], refusal[1])
        assert found.key is not None
        return found.key.id, found.key.name

    def _session_key(session: Session) -> str:
        for key in registry.list_keys():
            if key.id == session.key_id:
                if not key.active:
                    raise ApiError(401, "The API key of this session has been revoked. Sign in again.")
                if not key.allows("admin"):
                    raise ApiError(403, key.refusal("admin") or "This key may not administer.")
                return key.name
        raise ApiError(401, "The API key of this session no longer exists. Sign in again.")

    def require_admin(request: Request) -> str:
        """The name of who is asking; 401 without a session or key, 403 for a key without the admin right."""
        if not options.auth:
            if options.local_only:
                _local_only(request)
            return "local"
        plaintext = key_from_headers(request.headers)
        if plaintext is not None:
            return _key_refusal(plaintext)[1]  # a key in a header: no CSRF (a browser never adds one)
        cookie = request.cookies.get(COOKIE)
        session = signer.read(cookie) if cookie else None
        if session is None:
            raise ApiError(401, "Sign in first: POST /api/session with an admin API key, or send "
                                "'Authorization: Bearer KEY' (podium keys create --name NAME --admin).",
                           headers={"WWW-Authenticate": "Bearer"})
        name = _session_key(session)
        if request.method not in _SAFE_METHODS and not signer.csrf_ok(session, request.headers.get(CSRF_HEADER)):
            raise ApiError(403, f"Missing or wrong CSRF token: send the token the sign-in returned in {CSRF_HEADER}.")
        return name

    public = APIRouter(prefix="/api")
    api = APIRouter(prefix="/api", dependencies=[Depends(require_admin)])

    # -- session -------------------------------------------------------------------------------
    @public.post("/session")
    def sign_in(body: SignIn, request: Request) -> JSONResponse:
        """Sign in with an admin API key: sets the session cookie, returns the CSRF token."""
        if not options.auth:
            return JSONResponse({"key": "local", "csrf": "", "auth": False})
        key_id, name = _key_refusal(body.key)
        cookie, csrf = signer.issue(key_id)
        response = JSONResponse({"key": name, "csrf": csrf, "auth": True})
        response.set_cookie(COOKIE, cookie, httponly=True, samesite="strict", path="/",
                            secure=request.url.scheme == "https", max_age=12 * 3600)
        return response

    @api.get("/session")
    def whoami(request: Request, who: str = Depends(require_admin)) -> dict[str, Any]:
        """Who is signed in, and the CSRF token of the session (for a reloaded page)."""
        cookie = request.cookies.get(COOKIE)
        session = signer.read(cookie) if cookie else None
        return {"key": who, "csrf": signer.csrf(session) if session else "", "auth": options.auth}

    @api.delete("/session")
    def sign_out() -> Response:
        response = Response(status_code=204)
        response.delete_cookie(COOKIE, path="/")
        return response

    # -- catalog and specs ------------------------------------------------------------------------
    @api.get("/catalog")
    def get_catalog() -> dict[str, Any]:
        """Every step, candidate, metric, source kind and notifier a spec can name."""
        from podium.console.catalog import catalog

        return catalog()

    @api.post("/specs/graph")
    def spec_graph(body: dict[str, Any]) -> dict[str, Any]:
        """A spec's YAML (``{"yaml"}``) as the designer's graph: nodes, edges, layout."""
        from podium.console.graph import yaml_to_graph

        return yaml_to_graph(_yaml(body))

    @api.post("/specs/yaml")
    def spec_yaml(body: dict[str, Any]) -> dict[str, Any]:
        """The designer's graph as the spec YAML ``podium run`` takes (checked as a spec)."""
        from podium.console.graph import graph_to_data, graph_to_yaml
        from podium.spec import parse_spec

        parse_spec(graph_to_data(body), origin="graph")
        return {"yaml": graph_to_yaml(body)}

    @api.post("/specs/validate")
    def spec_validate(body: dict[str, Any]) -> dict[str, Any]:
        """``{"ok", "errors": [{"node", "message"}]}``, the messages those of ``podium run``."""
        from podium.console.specs import validate

        return validate(body)

    @api.post("/specs/preflight")
    def spec_preflight(body: dict[str, Any]) -> dict[str, Any]:
        """A dry run on a sample of the data: each step's shape and the warnings worth reading first."""
        from podium.console.preflight import preflight
        from podium.console.specs import spec_from_request
        from podium.spec import parse_spec

        data, _graph = spec_from_request(body)
        return preflight(parse_spec({k: v for k, v in data.items() if k != "layout"}), settings, registry=registry)

    @api.post("/specs/columns", response_model=Columns)
    def spec_columns(body: dict[str, Any]) -> dict[str, Any]:
        """``{"source"}`` (a path or a source mapping, as in a spec) → ``{"columns": [{"name", "type"}]}``,
        read from the source's first rows: what the designer's column pickers offer."""
        from podium.console.preflight import source_columns

        source = body.get("source")
        if not source or not isinstance(source, (str, dict)):
            raise ApiError(400, 'Send {"source": ...}: a file path or a source mapping, as in a spec.')
        return {"columns": source_columns(source, settings)}

    # -- runs ---------------------------------------------------------------------------------------
    @api.post("/runs", status_code=202)
    def start_run(body: dict[str, Any]) -> dict[str, Any]:
        """Start a run of ``{"yaml"}`` or of a pipeline ``{"pipeline": NAME, "version"?}`` in a worker process."""
        import yaml

        from podium.console.specs import check_names, spec_from_request
        from podium.spec import parse_spec

        dataset: str | None = None
        if isinstance(body.get("pipeline"), str):  # bound: on its dataset's latest version; else saved
            from podium.console.pipelines import runnable_spec

            version = body.get("version")
            if version is not None and not isinstance(version, int):
                raise ApiError(400, "'version' is a saved pipeline version: a whole number.")
            text, origin, dataset = runnable_spec(registry, body["pipeline"], version)
        else:
            data, _graph = spec_from_request(body)
            text, origin = yaml.safe_dump(data, sort_keys=False), "console"
        spec = parse_spec({k: v for k, v in yaml.safe_load(text).items() if k != "layout"}, origin=origin)
        problems = check_names(spec)
        if problems:
            raise ApiError(400, problems[0][1])
        job = jobs.start(text, origin=origin, dataset=dataset)
        return {"run_id": job.id}

    @api.get("/runs")
    def list_runs(limit: int = 50) -> list[dict[str, Any]]:
        """The console's runs (running ones first-class) and the registry's, newest first."""
        listed: list[dict[str, Any]] = []
        seen: set[str] = set()
        for job in jobs.list()[:limit]:
            status = job.status()
            if status.get("registry_run_id"):
                seen.add(status["registry_run_id"])
            listed.append({"id": job.id, "registry_run_id": status.get("registry_run_id"),
                           "status": status.get("status"), "source": "console"})
        for run in registry.list_runs(limit=limit):
            if run.id not in seen:
                listed.append({"id": run.id, "registry_run_id": run.id, "name": run.name, "status": run.status,
                               "task": run.task, "metric": run.metric, "started_at": run.started_at,
                               "finished_at": run.finished_at, "source": "registry"})
        return listed[:limit]

    @api.get("/runs/{run_id}")
    def get_run(run_id: str) -> dict[str, Any]:
        """A run: status, leaderboard, gate, promotion, model (a console job id or a registry run id)."""
        try:
            status = jobs.get(run_id).status()
        except NotFoundError:
            status = {"run_id": run_id, "registry_run_id": run_id}
        registry_id = status.get("registry_run_id")
        if registry_id:
            try:
                run = registry.get_run(registry_id)
            except NotFoundError:
                if "status" not in status:
                    raise
            else:
                summary = run.summary or {}
                outcome = summary.get("status") or run.status  # registered, gate_failed... over succeeded
                if status.get("status") in (None, "running") and run.status != "running":
                    status["status"] = outcome
                status.setdefault("status", outcome)
                for key in ("gate", "promotion", "model", "task", "metric", "notes"):
                    status.setdefault(key, summary.get(key))
                status.update(name=run.name, spec=run.spec, started_at=run.started_at, finished_at=run.finished_at,
                              error=run.error, leaderboard=registry.get_trials(run.id))
        return status

    @api.get("/runs/{run_id}/events")
    async def run_events(run_id: str, request: Request, last_event_id: int | None = None) -> StreamingResponse:
        """The run's events as Server-Sent Events; ``Last-Event-ID`` resumes after that event."""
        job = jobs.get(run_id)
        header = request.headers.get("last-event-id")
        after = int(header) if header and header.isdigit() else (last_event_id or 0)

        async def stream() -> AsyncIterator[bytes]:
            sent = after
            if after > 0:  # resuming after the end (the end is always the last event): nothing more will come
                seen = read_events(job.events_path, after - 1)
                if seen and seen[0]["id"] == after and seen[0]["type"] == END:
                    return
            while True:
                ended = False
                for event in read_events(job.events_path, sent):
                    sent = event["id"]
                    yield f"id: {sent}\ndata: {json.dumps(event, default=str)}\n\n".encode()
                    ended = ended or event["type"] == END
                if ended:
                    return
                if job.result() is None and not job.worker_alive():  # its worker was killed: say so, end
                    job.settle("the run's worker process is gone")  # the next look reads its end
                await asyncio.sleep(options.poll_seconds)

        return StreamingResponse(stream(), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})

    # -- saved pipelines ------------------------------------------------------------------------------
    @api.get("/pipelines", response_model=list[PipelineSummary])
    def list_pipelines() -> list[dict[str, Any]]:
        """Every saved pipeline (its latest version) and every bound one, with its binding."""
        from podium.console.pipelines import list_pipelines as listed

        return listed(registry)

    @api.post("/pipelines", status_code=201, response_model=SavedVersion)
    def save_pipeline(body: dict[str, Any], who: str = Depends(require_admin)) -> JSONResponse:
        """Save ``{"yaml"}`` or a graph as the next version of the pipeline its ``name`` names
        (201); 200 with ``saved: false`` when it equals the latest version."""
        from podium.console.pipelines import save_pipeline as save
        from podium.console.specs import spec_from_request

        data, _graph = spec_from_request(body)
        saved = save(registry, data, saved_by=who)
        return JSONResponse(jsonable_encoder(saved), status_code=201 if saved["saved"] else 200)

    @api.get("/pipelines/{name}", response_model=PipelineDetail)
    def get_pipeline(name: str) -> dict[str, Any]:
        """A pipeline's saved versions (newest first), its binding and its latest jobs."""
        from podium.console.pipelines import pipeline_detail

        return pipeline_detail(registry, name)

    @api.get("/pipelines/{name}/versions/{version}", response_model=SavedVersionYaml)
    def get_pipeline_version(name: str, version: int) -> dict[str, Any]:
        """One saved version and its YAML (layout included): open it in the designer."""
        from podium.console.pipelines import pipeline_version

        return pipeline_version(registry, name, version)

    @api.put("/pipelines/{name}/binding", response_model=BindingOut)
    def bind_pipeline(name: str, body: Bind) -> dict[str, Any]:
        """Bind a saved version (the latest by default) to a dataset, with an optional cron schedule."""
        from podium.console.pipelines import bind_pipeline as bind

        return bind(registry, name, dataset=body.dataset, schedule=body.schedule, version=body.version)

    @api.delete("/pipelines/{name}/binding", status_code=204)
    def unbind_pipeline(name: str) -> Response:
        """Unbind: new dataset versions no longer run it."""
        from podium.registry.pipelines import PipelineStore

        PipelineStore(registry).unbind(name)
        return Response(status_code=204)

    # -- models -------------------------------------------------------------------------------------
    @api.get("/models")
    def list_models() -> list[dict[str, Any]]:
        """Every registered model with its versions and aliases."""
        return [{**asdict(m), "versions_list": [asdict(v) for v in registry.list_versions(m.name)]}
                for m in registry.list_models()]

    @api.get("/models/{name}/versions/{version}")
    def model_version(name: str, version: int) -> dict[str, Any]:
        """One version: metrics, input schema, lineage, leaderboard (``podium models show``)."""
        info = registry.resolve(f"{name}:{version}")
        return {**registry.load(f"{name}:{version}").describe(), "version": version, "aliases": info.aliases}

    @api.post("/models/{name}/promote")
    def promote_model(name: str, body: Promote) -> dict[str, Any]:
        """Move the alias to a version (verified first); a running service follows."""
        from podium.automation.promote import promote

        previous, version = promote(registry, f"{name}:{body.version}", alias=body.alias)
        return {"model": name, "alias": body.alias, "previous": previous, "version": version}

    @api.post("/models/{name}/rollback")
    def rollback_model(name: str, body: Rollback | None = None) -> dict[str, Any]:
        """Move the alias back to the version it pointed at before its last move."""
        from podium.automation.promote import rollback

        alias = body.alias if body is not None else "champion"
        current, previous = rollback(registry, name, alias=alias)
        return {"model": name, "alias": alias, "previous": current, "version": previous}

    @api.get("/models/{name}/versions/{version}/importance", response_model=Importance)
    def version_importance(name: str, version: int) -> dict[str, Any]:
        """Global feature importance by permutation on the version's holdout rows (rebuilt as its run
        built them); computed once, then kept."""
        from podium.console.importance import feature_importance

        return feature_importance(registry, settings, name, version)

    @api.get("/models/{name}/versions/{version}/deploy")
    def deploy_version(name: str, version: int, target: str = "docker") -> Response:
        """The version's Docker build context (``target=docker``) or Kubernetes manifests and image
        context (``target=kubernetes``), as ``podium deploy`` writes them, in one zip file."""
        import io

        from podium.console.deploy import deploy_zip

        buffer = io.BytesIO()
        folder = deploy_zip(registry, f"{name}:{version}", target, buffer)
        return Response(buffer.getvalue(), media_type="application/zip",
                        headers={"Content-Disposition": f'attachment; filename="{folder}.zip"'})

    @api.get("/models/{name}/diff")
    def model_diff(name: str, a: int, b: int) -> dict[str, Any]:
        """Why the champion changed: spec, data, leaderboard and gate of versions A and B."""
        from podium.console.diff import model_diff as diff

        described = [registry.load(f"{name}:{v}").describe() for v in (a, b)]
        datasets = None
        sources = [str((d.get("lineage") or {}).get("source") or "") for d in described]
        if all(s.startswith("dataset ") for s in sources):
            from podium.registry.datasets import DatasetStore

            try:
                datasets = DatasetStore(registry).diff(sources[0].split(" ", 1)[1], sources[1].split(" ", 1)[1])
            except PodiumError as exc:
                datasets = {"error": str(exc)}
        gates: list[dict[str, Any]] = []
        for d in described:
            run_id = (d.get("lineage") or {}).get("run_id")
            try:
                gates.append(dict((registry.get_run(run_id).summary or {}).get("gate") or {}) if run_id else {})
            except NotFoundError:
                gates.append({})
        return {"model": name, "a": a, "b": b, **diff(described[0], described[1], datasets=datasets,
                                                          gates=(gates[0], gates[1]))}

    # -- datasets, endpoints, events ------------------------------------------------------------------
    @api.get("/datasets")
    def list_datasets() -> list[dict[str, Any]]:
        """Every dataset with its versions (rows, fingerprint, drifted columns)."""
        from podium.registry.datasets import DatasetStore

        store = DatasetStore(registry)
        return [{**asdict(d), "versions_list": [{**asdict(v), "drifted_columns": v.drifted_columns}
                                                for v in store.versions(d.name)]}
                for d in store.list_datasets()]

    def require_uploader(name: str, request: Request) -> str:
        """Who uploads to dataset ``name``: an admin (session or key), or a key in a header with the
        upload right on that dataset (``podium keys create --upload NAME``)."""
        plaintext = key_from_headers(request.headers) if options.auth else None
        if plaintext is None:
            return require_admin(request)
        found = checker.lookup(plaintext)
        if found.refusal("admin") is None and found.key is not None:
            return found.key.name
        refusal = found.refusal("upload", name)
        if refusal is not None:
            raise ApiError(refusal[0], refusal[1], headers={"WWW-Authenticate": "Bearer"} if refusal[0] == 401 else None)
        assert found.key is not None
        return found.key.name

    uploads = APIRouter(prefix="/api")

    @uploads.post("/datasets/{name}/versions", status_code=201)
    async def upload_version(name: str, request: Request, format: str | None = None,
                             who: str = Depends(require_uploader)) -> JSONResponse:
        """A CSV or Parquet body as a new version of NAME (created if new); 200 when the content is unchanged.
        An admin, or a key with the upload right on NAME, may upload."""
        from podium.console.uploads import read_upload
        from podium.registry.datasets import DatasetStore
        from podium.registry.refs import check_name

        check_name(name, "dataset name")
        too_large = ApiError(413, f"The upload is over the limit of {options.max_upload_bytes:,} bytes.",
                             headers={"Connection": "close"})  # closing: the client's body is read no further
        declared = request.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > options.max_upload_bytes:
            raise too_large
        kind = format or _format_of(request.headers.get("content-type", ""))
        if format is not None and format not in ("csv", "parquet"):
            raise ApiError(400, f"format '{format}' is not csv or parquet.")
        with tempfile.TemporaryDirectory(prefix="podium-upload-") as folder:
            path = Path(folder) / "upload"
            size, head = 0, b""
            with path.open("wb") as handle:
                async for chunk in request.stream():
                    size += len(chunk)
                    if size > options.max_upload_bytes:
                        raise too_large
                    if len(head) < 4096:
                        head += chunk[:4096 - len(head)]
                    handle.write(chunk)
            if size == 0:
                raise ApiError(400, "The upload is empty: send the file as the request body.")
            kind = kind or _sniff(head)  # browsers send no type, or a vague one, for these files
            if kind is None:
                raise ApiError(415, "The upload is neither CSV nor Parquet: send a .csv or .parquet file "
                                    "(Content-Type: text/csv or application/vnd.apache.parquet).")
            path = path.rename(path.with_suffix(f".{kind}"))
            store = DatasetStore(registry)
            loop = asyncio.get_running_loop()
            frame = await loop.run_in_executor(None, read_upload, path, kind)
            version = await loop.run_in_executor(None, lambda: store.upload(name, frame, creator=f"console:{who}"))
        if version is None:
            return JSONResponse(jsonable_encoder({"unchanged": True, "version": asdict(store.get(name))}))
        return JSONResponse(jsonable_encoder({"unchanged": False, "version": asdict(version),
                                              "drifted_columns": version.drifted_columns}), status_code=201)

    @api.get("/datasets/{name}/versions/{version}")
    def dataset_version(name: str, version: int) -> dict[str, Any]:
        """One version: schema, profile (per column) and drift against the previous version."""
        from podium.registry.datasets import DatasetStore

        found = DatasetStore(registry).get(f"{name}:{version}")
        return {**asdict(found), "drifted_columns": found.drifted_columns}

    @api.get("/datasets/{name}/compare")
    def dataset_compare(name: str, a: int, b: int) -> dict[str, Any]:
        """Version B against version A: drift per column (B's rows scored against A's) and the row/schema diff."""
        from podium.registry.datasets import DatasetStore

        store = DatasetStore(registry)
        drift = store.drift(f"{name}:{a}", store.load(f"{name}:{b}"))
        return {"a": a, "b": b, "drift": drift.to_dict(), "drifted_columns": drift.drifted_columns,
                "message": drift.message, "diff": store.diff(f"{name}:{a}", f"{name}:{b}")}

    @api.get("/datasets/{name}/versions/{version}/report", response_class=HTMLResponse)
    def dataset_report(name: str, version: int, against: int | None = None) -> HTMLResponse:
        """The self-contained HTML report of ``podium datasets report``: profile and drift."""
        from podium.data.report import render_report
        from podium.registry.datasets import DatasetStore

        store = DatasetStore(registry)
        found = store.get(f"{name}:{version}")
        drift: Any = found.drift
        if against is not None:
            drift = store.drift(f"{name}:{against}", store.load(found.ref))
        subtitle = f"{found.rows:,} rows · fingerprint {found.fingerprint[:12]} · {found.created_at:%Y-%m-%d %H:%M} UTC"
        return HTMLResponse(render_report(found.profile, drift, title=f"Dataset {found.ref}", subtitle=subtitle))

    @api.get("/endpoints", response_model=list[Endpoint])
    async def list_endpoints() -> list[dict[str, Any]]:
        """Model services (``podium serve``) heard from within a day: URL, models and the versions they
        answer with, workers, auth, started, last heartbeat, and their health asked now (``/readyz``)."""
        from podium.console.endpoints import list_endpoints as listed

        return jsonable_encoder(await listed(registry))  # type: ignore[no-any-return]

    @api.post("/endpoints/{service_id}/predict", response_model=TryAnswer)
    async def try_endpoint(service_id: str, body: TryRecord) -> dict[str, Any]:
        """Try a running service: send one record to a model it serves and return its answer (the
        page's *Try it* form; the key, when the service needs one, is passed on, never stored)."""
        from podium.console.endpoints import try_endpoint as send

        return await send(registry, service_id, body.model, body.record, body.key)

    @api.delete("/endpoints/{service_id}", status_code=204)
    def forget_endpoint(service_id: str) -> Response:
        """Forget a service that stopped (409 while it still beats)."""
        from podium.registry.services import ServiceStore

        store = ServiceStore(registry)
        if store.get(service_id).alive:
            raise ApiError(409, f"Service {service_id} still sends heartbeats: stop it first.")
        store.forget(service_id)
        return Response(status_code=204)

    @api.get("/events")
    def list_events(limit: int = 100, kind: str | None = None, model: str | None = None) -> list[dict[str, Any]]:
        """Gate failures, promotions, drift flags and notifications, newest first."""
        return [asdict(e) for e in registry.list_events(kind=kind, model=model, limit=limit)]

    @api.api_route("/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    def no_such_path(rest: str) -> None:
        raise ApiError(404, f"No API path /api/{rest}. See /api/openapi.json.")

    app.include_router(public)
    app.include_router(uploads)  # before the API's catch-all 404
    app.include_router(api)
    _mount_web(app)
    return app


def serve(settings: Settings, *, host: str, port: int, options: ConsoleOptions | None = None) -> None:
    """Run the console with uvicorn until interrupted; runs still going end with it."""
    import uvicorn

    uvicorn.run(create_app(settings, options), host=host, port=port, log_level="warning")


_LOCAL_HOSTS = {"127.0.0.1", "localhost", "[::1]"}


def _local_only(request: Request) -> None:
    """Without sign-in, refuse what a web page elsewhere could make a browser send here: a Host other
    than this machine (DNS rebinding) and a change from another origin (cross-site requests)."""
    host = request.headers.get("host", "")
    name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
    if name not in _LOCAL_HOSTS:
        raise ApiError(403, f"Without sign-in (--no-auth) the console answers only on 127.0.0.1, not '{host}'.")
    origin = request.headers.get("origin")
    if request.method not in _SAFE_METHODS and origin is not None and origin != f"{request.url.scheme}://{host}":
        raise ApiError(403, f"A request from another site ({origin}) may not change anything here.")


def _yaml(body: dict[str, Any]) -> str:
    text = body.get("yaml")
    if not isinstance(text, str):
        raise ApiError(400, 'Send {"yaml": "..."}: the spec as YAML text.')
    return text


def _format_of(content_type: str) -> str | None:
    kind = content_type.split(";", 1)[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return "csv"
    if kind in ("application/vnd.apache.parquet", "application/x-parquet", "application/parquet"):
        return "parquet"
    return None


def _sniff(head: bytes) -> str | None:
    """``parquet`` (its magic bytes), ``csv`` (text), or None."""
    if head.startswith(b"PAR1"):
        return "parquet"
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:  # a multi-byte character cut at the end of the head is still text
        if exc.start < len(head) - 3:
            return None
        text = head[:exc.start].decode("utf-8")
    return "csv" if text and "\x00" not in text else None


def _mount_web(app: FastAPI) -> None:
    """The built single-page app at ``/`` (index.html for client routes), or a page saying how to build it."""
    def page(path: str = "") -> Response:
        index = STATIC / "index.html"
        if not index.is_file():
            return HTMLResponse(_NO_APP)
        root = STATIC.resolve()
        parts = path.split("/")
        if "assets" in parts:  # a relative ./assets/ link seen from a client route (/runs/assets/x.js)
            parts = parts[parts.index("assets"):]
        candidate = root.joinpath(*parts).resolve()
        if path and candidate.is_file() and root in candidate.parents:
            return FileResponse(candidate)
        if parts[0] == "assets":  # a missing asset is a 404, not the app's page in its place
            return Response(status_code=404)
        return FileResponse(index, headers={"Cache-Control": "no-cache"})

    app.add_api_route("/", page, methods=["GET"], include_in_schema=False)
    app.add_api_route("/{path:path}", page, methods=["GET"], include_in_schema=False)


