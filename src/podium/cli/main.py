"""The ``podium`` command: one Typer app, errors turned into one line and an exit code."""

from __future__ import annotations

import contextlib
import json
import sys
import time
import traceback
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, Optional

import typer
from rich.markup import escape

from podium._internal.lazy import MissingDependency
from podium._internal.redact import redact_url
from podium._internal.resources import usable_cores
from podium.cli import catalog, console, datasets, db, models, monitor, new, pipelines, runs, serve, signing
from podium.cli.context import err, out, state
from podium.errors import PodiumError, SpecError

#: rows per batch for `podium predict` on files: memory is bounded by this, not the file's size
PREDICT_BATCH_ROWS = 32_768
#: batches `podium predict` scores at once with a compiled graph, one core each (at most)
PREDICT_SCORERS = 4

app = typer.Typer(
    name="podium",
    help="From a table to a registered, served model: point at data, name the target, get a champion.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


@app.callback()
def _root(
    project: Optional[Path] = typer.Option(None, "--project", help="project folder (default: PODIUM_HOME or .)"),
    debug: bool = typer.Option(False, "--debug", help="show tracebacks"),
) -> None:
    state.project = project
    state.debug = debug


@app.command()
def run(
    spec: Optional[Path] = typer.Argument(None, help="pipeline spec (YAML); or use the flags below"),
    data: Optional[str] = typer.Option(None, "--data", help="a file path or source URL"),
    target: Optional[str] = typer.Option(None, "--target", help="the column to predict"),
    task: Optional[str] = typer.Option(None, "--task",
                                       help="binary | multiclass | regression | forecast (default: inferred)"),
    metric: Optional[str] = typer.Option(None, "--metric", help="accuracy, roc_auc, rmse, … (podium catalog metrics)"),
    min_score: Optional[float] = typer.Option(None, "--min-score", help="the gate: the metric value to reach"),
    time_budget: Optional[float] = typer.Option(None, "--time-budget",
                                                help="seconds for the whole run, from start to registration"),
    trials: Optional[int] = typer.Option(None, "--trials", help="a budget in trials (reproducible with --seed)"),
    max_rows: Optional[str] = typer.Option(None, "--max-rows", help="read at most this many rows, drawn at random "
                                           "(default auto: as many as the time budget can use); all: every row"),
    candidates: Optional[str] = typer.Option(None, "--candidates", help="comma-separated families, or all"),
    name: Optional[str] = typer.Option(None, "--name", help="pipeline name (default: the data file's stem)"),
    model: Optional[str] = typer.Option(None, "--model", help="registered model name (default: the pipeline name)"),
    seed: Optional[int] = typer.Option(None, "--seed"),
    n_jobs: Optional[int] = typer.Option(None, "--n-jobs",
                                         help="trials in parallel (default: one per usable core, as memory allows)"),
    device: Optional[str] = typer.Option(None, "--device", help="auto | cpu | cuda: where trials train "
                                         "(default: podium.yaml's device, auto)"),
    as_json: bool = typer.Option(False, "--json", help="print one JSON object instead of tables"),
    time_column: Optional[str] = typer.Option(None, "--time-column", help="forecast: the timestamp column"),
    series_id: Optional[str] = typer.Option(None, "--series-id", help="forecast: the column naming each series"),
    horizon: Optional[int] = typer.Option(None, "--horizon", help="forecast: how many steps ahead"),
    freq: Optional[str] = typer.Option(None, "--freq", help="forecast: D, W-MON, MS, QS, YS, h … (default: inferred)"),
    season_length: Optional[int] = typer.Option(None, "--season-length",
                                                help="forecast: steps in a season (default: from the frequency)"),
) -> None:
    """Train the candidates, let them compete, gate the winner and register it.

    Exit code 0: a model was registered; 2: bad input; 3: the best model failed the gate.
    """
    from podium.spec import load_spec, parse_spec

    overrides: dict[str, Any] = {
        "source": data, "target": target, "task": task, "metric": metric, "candidates": candidates,
        "name": name, "seed": seed, "n_jobs": n_jobs, "device": device}
    overrides = {k: v for k, v in overrides.items() if v is not None}
    if spec is not None:
        base = load_spec(spec).model_dump(by_alias=True, exclude_unset=True)
    else:
        if data is None or target is None:
            raise SpecError("Give a spec file (podium run pipeline.yaml) or both --data and --target.")
        base = {"name": _name_from(data)}
    fields = {**base, **overrides}
    if time_budget is not None or trials is not None:
        fields["budget"] = {**fields.get("budget", {}), "seconds": time_budget, "trials": trials}
    if max_rows is not None:
        fields["budget"] = {**fields.get("budget", {}), "max_rows": _max_rows(max_rows)}
    if min_score is not None:
        fields["gate"] = {"min_score": min_score}
    if model is not None:
        fields["register"] = {**fields.get("register", {}), "model": model}
    forecast = {"time_column": time_column, "series_id": series_id, "horizon": horizon, "freq": freq,
                "season_length": season_length}
    if any(v is not None for v in forecast.values()):
        fields["forecast"] = {**(fields.get("forecast") or {}), **{k: v for k, v in forecast.items() if v is not None}}
    execute(parse_spec(fields, origin=str(spec) if spec else "options"), as_json=as_json)


def _max_rows(text: str) -> int | str | None:
    """``--max-rows``: a number, auto or all (every row)."""
    if text in ("auto", "all"):
        return None if text == "all" else text
    try:
        return int(text.replace(",", "").replace("_", ""))
    except ValueError:
        raise SpecError(f"--max-rows takes a number of rows, auto or all, not {text!r}.") from None


def execute(pipeline: Any, *, as_json: bool) -> None:
    """Run a validated spec with progress and print the outcome (used by run and replay)."""
    from podium._internal.process import process_started
    from podium.automation.run import run_pipeline
    from podium.cli.progress import CompetitionProgress
    from podium.cli.render import columns_table, leaderboard_table

    settings = state.settings()
    shown: list[str] = []  # the notes printed with the columns, before the competition

    def show_prepared(prepared: Any) -> None:
        if as_json:
            return
        out.print(columns_table({c: t.value for c, t in prepared.source_types.items()},
                                pipeline.target, prepared.problem.task))
        for note in prepared.notes:
            out.print(f"[dim]note:[/] {escape(note)}")
            shown.append(note)

    # with --json, stdout holds the one JSON object: what a library prints meanwhile (Ray's
    # notes on a lost worker, say) goes to stderr
    quiet = contextlib.redirect_stdout(sys.stderr) if as_json else contextlib.nullcontext()
    with quiet, CompetitionProgress(err, enabled=not as_json and err.is_terminal) as progress:
        result = run_pipeline(pipeline, settings, on_event=progress, on_prepared=show_prepared,
                              started=process_started())
    if as_json:
        print(json.dumps(result.to_json(), default=str))
        raise typer.Exit(result.exit_code)
    for note in result.notes:  # how the competition ran: rows drawn, families left out, fewer workers
        if note not in shown:
            out.print(f"[dim]note:[/] {escape(note)}")
    out.print(leaderboard_table(result.leaderboard, result.metric))
    out.print(f"{len(result.leaderboard)} trials in {result.seconds:.1f} s · run {result.run_id}")
    if result.status == "registered":
        out.print(f"[green]gate passed[/]: {result.gate.message}")
        if result.promotion is not None:
            out.print(f"[green]promoted[/]: {escape(result.promotion.message)}")
        out.print(f"registered [bold]{result.model}:{result.version}[/] as "
                  f"[bold]{result.model}@{result.alias}[/] in {redact_url(settings.resolved_artifacts_url)}")
        if result.task == "forecast":
            out.print(f"next: podium predict {result.model}@{result.alias} --input HISTORY.csv --output forecast.csv")
        else:
            out.print(f"next: podium predict {result.model}@{result.alias} --input NEW_ROWS.csv --output scored.csv")
    elif result.status == "not_promoted":
        assert result.promotion is not None
        err.print(f"[yellow]not promoted[/]: {escape(result.promotion.message)}. "
                  f"Registered as {result.model}:{result.version}; the champion stays.")
    elif result.status == "awaiting_approval":
        assert result.promotion is not None
        err.print(f"[yellow]waits for approval[/]: {escape(result.promotion.message)}. Registered as "
                  f"{result.model}:{result.version}; to promote it: podium models approve {result.model}:{result.version}")
    else:
        err.print(f"[red]gate failed[/]: {result.gate.message}. Nothing was promoted.")
    if result.status != "registered":
        for d in result.deliveries:
            err.print(f"  notified {d.notifier}: {'ok' if d.ok else d.error}")
    raise typer.Exit(result.exit_code)


def _name_from(data: str) -> str:
    import re

    stem = Path(data.split("?", 1)[0]).stem or "model"
    if "table=" in data:
        stem = data.rsplit("table=", 1)[1].split("&")[0]
    return re.sub(r"[^A-Za-z0-9_.-]", "_", stem).strip("_.-") or "model"


@app.command()
def predict(
    ref: str = typer.Argument(..., help="model reference: name, name@alias or name:version"),
    input: str = typer.Option(..., "--input", "-i", help="rows to score: a file or source URL"),
    output: str = typer.Option(..., "--output", "-o", help="where to write the scored rows"),
    url: Optional[str] = typer.Option(None, "--url", help="score through a running service instead"),
    api_key: Optional[str] = typer.Option(None, "--api-key", envvar="PODIUM_API_KEY",
                                          help="the service's API key (or PODIUM_API_KEY)"),
    future: Optional[str] = typer.Option(None, "--future",
                                         help="forecast: the known-future covariates of the steps to forecast"),
) -> None:
    """Score rows with a registered model: the input plus `prediction` (and `proba_<class>`).

    Files are read and written a batch at a time, so memory stays bounded whatever their size.
    A forecast model reads histories instead (time, series id, target, covariates) and writes
    the next `horizon` points of every series.
    """
    from podium.data import resolve_source

    if url is not None:
        from podium.serving import describe_remote, forecast_remote, predict_remote

        frame = resolve_source(input).read()
        name = ref.split("@")[0].split(":")[0]
        if describe_remote(url, name, api_key).get("task") == "forecast":
            ahead = resolve_source(future).read() if future else None
            forecast = forecast_remote(url, name, frame, api_key, future=ahead)
            resolve_source(output).write(forecast)
            out.print(f"forecast {len(forecast)} periods with {ref} → {output}")
            return
        remote = predict_remote(url, name, frame, api_key)
        scored = frame.join(remote.drop(columns=[c for c in remote.columns if c in frame.columns]))
        resolve_source(output).write(scored)
        out.print(f"scored {len(scored)} rows with {ref} → {output}")
        return
    package = state.registry().load(ref)
    if package.series_layout is not None:
        _forecast(package, ref, resolve_source(input).read(), resolve_source(future).read() if future else None,
                  output)
        return
    package.scorer(threads=1)  # start-up (loading the engine) is not part of the rate
    source, sink = resolve_source(input), resolve_source(output)
    started = time.perf_counter()
    rows = _score_batches(package, source, sink)
    seconds = max(time.perf_counter() - started, 1e-9)
    out.print(f"scored {rows} rows with {ref} → {output} in {seconds:.2f} s "
              f"({rows / seconds:,.0f} rows/s, {package.engine.name} engine)")


def _score_batches(package: Any, source: Any, sink: Any) -> int:
    """Score ``source`` into ``sink`` a batch at a time; the number of rows.

    A compiled graph scores a batch a core (up to ``PREDICT_SCORERS``), each on one onnxruntime
    thread (it lets go of the GIL), while the next batch is read and the previous one written on
    a thread of its own: one batch more than the scorers waits to be scored and one is written at
    a time, so memory stays bounded. One thread a batch sums the trees in the order a serving
    worker does: the same answers to the last digit, whatever the batch's size.
    """
    from podium.registry.scoring import ONNX

    cores = usable_cores()
    # a scikit-learn pipeline's steps may not be thread-safe: one batch at a time
    scorers = min(PREDICT_SCORERS, cores) if package.engine.name == ONNX else 1
    rows, said = 0, set()
    scoring: deque[Future[tuple[Any, list[str]]]] = deque()
    writing: Future[None] | None = None
    with (sink.batch_writer() as writer, ThreadPoolExecutor(scorers, thread_name_prefix="podium-score") as scorer,
          ThreadPoolExecutor(1, thread_name_prefix="podium-write") as write):

        def write_oldest() -> None:
            nonlocal writing
            scored, notes = scoring.popleft().result()  # raises what scoring raised
            if writing is not None:
                writing.result()  # raises what writing the previous batch raised
            writing = write.submit(writer.write, scored)
            for note in notes:
                if note not in said:
                    said.add(note)
                    err.print(f"[dim]note:[/] {escape(note)}")

        for frame in source.read_batches(PREDICT_BATCH_ROWS):
            scoring.append(scorer.submit(package.predict_frame, frame, threads=1))
            rows += len(frame)
            if len(scoring) > scorers:
                write_oldest()
        while scoring:
            write_oldest()
        if writing is not None:
            writing.result()
    return rows


def _forecast(package: Any, ref: str, history: Any, future: Any, output: str) -> None:
    from podium.data import resolve_source

    started = time.perf_counter()
    forecast = package.forecast(history, future)
    resolve_source(output).write(forecast)
    layout = package.series_layout
    n_series = forecast[layout.series_id].nunique() if layout.series_id else 1
    out.print(f"forecast {layout.horizon} steps ({layout.freq}) of {n_series} series with {ref} → {output} "
              f"in {time.perf_counter() - started:.2f} s")


serve.register(app)
serve.keys_app.add_typer(signing.app, name="signing")
models.app.command("drift")(monitor.drift)
app.add_typer(models.app, name="models")
app.add_typer(runs.app, name="runs")
app.add_typer(datasets.app, name="datasets")
app.add_typer(pipelines.app, name="pipelines")
app.command("watch")(pipelines.watch)
app.add_typer(catalog.app, name="catalog")
app.add_typer(new.app, name="new")
app.add_typer(db.app, name="db")
app.command("console")(console.console)


def main(argv: list[str] | None = None) -> None:
    """Entry point: one line on stderr and an exit code for every expected failure."""
    args = sys.argv[1:] if argv is None else argv
    debug = "--debug" in args
    try:
        code = app(args=args, prog_name="podium", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else 0)  # click returns Exit's code here
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except PodiumError as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(exc.exit_code)
    except MissingDependency as exc:
        err.print(f"[red]error:[/] {escape(str(exc))}")
        sys.exit(2)
    except KeyboardInterrupt:
        err.print("interrupted")
        sys.exit(130)
    except typer.TyperException as exc:  # Typer's (vendored click's) usage errors: exit code 2
        message = _usage_message(exc)
        if message:  # a group called without a command has printed its help already
            err.print(f"[red]error:[/] {escape(message)}")
        sys.exit(exc.exit_code)
    except typer.Abort:
        sys.exit(1)
    except Exception as exc:
        if debug:
            traceback.print_exc()
        err.print(f"[red]internal error:[/] {type(exc).__name__}: {escape(str(exc))} (run with --debug for the traceback)")
        sys.exit(1)


def _usage_message(exc: typer.TyperException) -> str:
    """One line: what was wrong, the close match when there is one, where the help is."""
    import difflib

    ctx = getattr(exc, "ctx", None)
    option = getattr(exc, "option_name", None)
    if option is not None and ctx is not None:  # no such option: the close match among the command's
        names = [n for param in ctx.command.get_params(ctx) for n in param.opts if n.startswith("--")]
        close = difflib.get_close_matches(option, names, n=1)
        message = exc.message.rstrip(".") + (f". Did you mean {close[0]}?" if close else ".")
    else:
        message = exc.format_message().strip()
        if not message:  # a group called without a command: its help is printed already
            return ""
        message += "" if message.endswith(("?", ".")) else "."
    if ctx is not None:
        message += f" See: {ctx.command_path} --help"
    return " ".join(message.split())
