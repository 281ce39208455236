"""The forecast endpoint's models and work: ``POST /v1/models/{name}/forecast``.

A forecast package records how its series are laid out (``SeriesLayout``: the time, target and
series-id columns, known-future and static covariates, horizon, frequency, the shortest
history). From it, one request model per served model, under the user's own column names::

    {"series": [{"store": "s1",
                 "history": [{"week": "2026-01-05", "units": 31, "promo": 0}, …],
                 "future": [{"week": "2026-04-06", "promo": 1}, …]}]}

``future`` exists only when the model has known-future covariates (then it is required: one
point per step of the horizon); static covariates are fields of the series. The answer holds
the next ``horizon`` points of every series, in request order. The package's own
``ModelPackage.forecast`` does the work, on the service's scoring thread: the service answers
what ``podium predict`` answers. pandas is imported only here, and only when a forecast is
made, so that a worker serving tabular models stays lean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Annotated, Any, Optional, Union

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StringConstraints, create_model

from podium.serving.schema_models import Float, model_title

if TYPE_CHECKING:
    import pandas as pd

    from podium.data.series import SeriesLayout

__all__ = ["ForecastModels", "ForecastInputError", "build_forecast_models", "forecast_answer", "series_ids"]

_SINGLE_SERIES = "series"  # how an answer names the one series of a model without a series-id column


class ForecastInputError(ValueError):
    """A request the model cannot forecast from (one line, for a 422)."""


def _a_timestamp(value: Any) -> Any:
    """An ISO 8601 text (or a date/datetime already parsed); not a number of seconds."""
    if isinstance(value, (str, datetime, date)):
        return value
    raise ValueError("Input should be a date or date-time in ISO 8601 text (2026-01-05, 2026-01-05T09:00:00)")


def _a_series_id(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError("Input should be a string (or an integer) naming the series")
    return str(value)


Timestamp = Annotated[datetime, BeforeValidator(_a_timestamp)]


@dataclass(frozen=True)
class ForecastModels:
    """The generated request and response models of one forecasting model, and its layout."""

    layout: SeriesLayout
    request: type[BaseModel]
    response: type[BaseModel]
    max_series: int

    @property
    def names(self) -> list[str]:
        """The component names the OpenAPI document needs, request first."""
        return [self.request.__name__, self.response.__name__]

    def schemas(self) -> dict[str, Any]:
        """JSON schemas of every generated model, keyed by component name."""
        from pydantic.json_schema import models_json_schema

        _, top = models_json_schema([(self.request, "validation"), (self.response, "serialization")],
                                    ref_template="#/components/schemas/{model}")
        return dict(top.get("$defs", {}))

    def frames(self, request: BaseModel) -> tuple[pd.DataFrame, pd.DataFrame | None]:
        """The history and future frames (user columns) of a validated request.

        Raises ForecastInputError on what the models cannot say: a series named twice, a
        history shorter than the model needs, a future of the wrong length.
        """
        import pandas as pd

        layout = self.layout
        sid_col, time_col, target = layout.series_id, layout.time_column, layout.target
        history: dict[str, list[Any]] = {c: [] for c in _history_columns(layout)}
        future: dict[str, list[Any]] = {c: [] for c in _future_columns(layout)} if layout.known_future else {}
        seen: set[str] = set()
        for i, series in enumerate(request.series):  # type: ignore[attr-defined]
            data = series.model_dump(by_alias=True)
            sid = str(data[sid_col]) if sid_col else _SINGLE_SERIES
            if sid in seen:
                raise ForecastInputError(f"series {sid!r} is given twice; send each series once, "
                                         "with its whole history.")
            seen.add(sid)
            points = data["history"]
            if len(points) < layout.min_history:
                raise ForecastInputError(
                    f"series {sid!r} has {len(points)} point(s) of history; this model needs at least "
                    f"{layout.min_history} to forecast.")
            statics = {c: data.get(c) for c in layout.static}
            for point in points:
                if sid_col:
                    history[sid_col].append(sid)
                history[time_col].append(point[time_col])
                history[target].append(point[target])
                for c in layout.known_future:
                    history[c].append(point.get(c))
                for c, v in statics.items():
                    history[c].append(v)
            if layout.known_future:
                steps = data.get("future") or []
                if len(steps) != layout.horizon:
                    raise ForecastInputError(
                        f"series {sid!r} has {len(steps)} future point(s); this model needs the next "
                        f"{layout.horizon} ({', '.join([time_col, *layout.known_future])} for each step).")
                for step in steps:
                    if sid_col:
                        future[sid_col].append(sid)
                    future[time_col].append(step[time_col])
                    for c in layout.known_future:
                        future[c].append(step.get(c))
                    for c, v in statics.items():
                        future[c].append(v)
        return pd.DataFrame(history), (pd.DataFrame(future) if layout.known_future else None)


def build_forecast_models(name: str, layout: SeriesLayout, input_schema: Any = None, *, max_series: int = 1000,
                          max_string_length: int = 4096) -> ForecastModels:
    """The request and response models of forecasting model ``name``, from its layout.

    ``input_schema`` (the package's, when it has one) types the covariates; without it a
    covariate takes a number, a boolean or a text.
    """
    title = model_title(name)
    sid, time_col, target = layout.series_id, layout.time_column, layout.target
    text = Annotated[str, StringConstraints(max_length=max_string_length)]

    def covariate(column: str, *, required: bool) -> tuple[Any, Any]:
        annotation, nullable, described = _covariate_type(input_schema, column, text)
        if nullable:
            annotation = Optional[annotation]
        return annotation, Field(... if required and not nullable else None, alias=column,
                                 description=described + ("; may be null" if nullable else ""))

    point_fields: dict[str, Any] = {
        "t": (Timestamp, Field(alias=time_col, description=f"the time of the observation ({time_col}), ISO 8601")),
        "y": (Float, Field(alias=target, description=f"the observed {target}")),
    }
    for i, column in enumerate(layout.known_future):
        point_fields[f"k{i}"] = covariate(column, required=True)
    example_history, example_future = _example_history(layout)
    point = create_model(f"{title}HistoryPoint", __config__=ConfigDict(extra="forbid", title=f"{title}HistoryPoint"),
                         __doc__=f"One observation of a series: {time_col}, {target}"
                                 + (f" and the known-future covariates ({', '.join(layout.known_future)})"
                                    if layout.known_future else "") + ".",
                         **point_fields)
    series_fields: dict[str, Any] = {}
    if sid:
        series_fields["sid"] = (Annotated[text, BeforeValidator(_a_series_id)], Field(alias=sid, description=f"the series ({sid})"))
    for i, column in enumerate(layout.static):
        series_fields[f"s{i}"] = covariate(column, required=True)
    need = f"at least {layout.min_history} point(s)" if layout.min_history > 1 else "at least one point"
    series_fields["history"] = (list[point], Field(
        min_length=1, description=f"the series' past, one point per {layout.freq} period, oldest first, "
                                  f"without gaps or repeated times; {need}"))
    if layout.known_future:
        step_fields: dict[str, Any] = {
            "t": (Timestamp, Field(alias=time_col, description=f"the time of the step ({time_col}), ISO 8601"))}
        for i, column in enumerate(layout.known_future):
            step_fields[f"k{i}"] = covariate(column, required=True)
        step = create_model(f"{title}FuturePoint", __config__=ConfigDict(extra="forbid", title=f"{title}FuturePoint"),
                            __doc__="The known-future covariates of one step to forecast.", **step_fields)
        series_fields["future"] = (list[step], Field(
            min_length=layout.horizon, max_length=layout.horizon,
            description=f"the next {layout.horizon} steps' {', '.join(layout.known_future)}, in order"))
    example_series: dict[str, Any] = ({sid: "s1"} if sid else {}) | {"history": example_history}
    if layout.known_future:
        example_series["future"] = example_future
    series = create_model(
        f"{title}Series", __config__=ConfigDict(extra="forbid", title=f"{title}Series",
                                                json_schema_extra={"examples": [example_series]}),
        __doc__=f"One series to forecast: {'its id, ' if sid else ''}its history"
                + (" and its known future" if layout.known_future else "") + ".",
        **series_fields)
    most = max_series if sid else 1
    request = create_model(
        f"{title}ForecastRequest",
        __config__=ConfigDict(extra="forbid", title=f"{title}ForecastRequest",
                              json_schema_extra={"examples": [{"series": [example_series]}]}),
        __doc__=f"The series to forecast with model '{name}' (at most {most}): the next {layout.horizon} "
                f"{layout.freq} periods of each.",
        series=(list[series], Field(min_length=1, max_length=most,
                                    description=f"the series, at most {most}")),
    )
    answer_point = create_model(
        f"{title}ForecastPoint", __config__=ConfigDict(title=f"{title}ForecastPoint"),
        t=(str, Field(alias=time_col, description=f"the forecast period ({time_col}), ISO 8601")),
        y=(float, Field(alias=target, description=f"the forecast {target}")))
    answer_fields: dict[str, Any] = {"sid": (str, Field(alias=sid, description=f"the series ({sid})"))} if sid else {}
    answer_fields["forecast"] = (list[answer_point], Field(description=f"the next {layout.horizon} periods"))
    answer_series = create_model(f"{title}SeriesForecast", __config__=ConfigDict(title=f"{title}SeriesForecast"),
                                 **answer_fields)
    response = create_model(
        f"{title}Forecast", __config__=ConfigDict(title=f"{title}Forecast"),
        model=(str, Field(description="the served model's name")),
        version=(int, Field(description="the model version that answered")),
        request_id=(str, Field(description="the request id (X-Request-ID)")),
        horizon=(int, Field(description="periods forecast per series")),
        series=(list[answer_series], Field(description="one per series of the request, in order")),
    )
    return ForecastModels(layout, request, response, most)


def forecast_answer(layout: SeriesLayout, frame: pd.DataFrame, order: Sequence[str]) -> list[dict[str, Any]]:
    """The ``series`` of an answer from ``ModelPackage.forecast``'s frame (user columns), in ``order``."""
    sid, time_col, target = layout.series_id, layout.time_column, layout.target
    times = frame[time_col]
    midnight = bool((times.dt.normalize() == times).all()) if hasattr(times, "dt") else False
    stamps = [_iso(t, date_only=midnight) for t in times]
    values = [float(v) for v in frame[target]]
    ids = [str(v) for v in frame[sid]] if sid else [_SINGLE_SERIES] * len(frame)
    grouped: dict[str, list[dict[str, Any]]] = {}
    for key, stamp, value in zip(ids, stamps, values):
        if not math.isfinite(value):
            raise ForecastInputError(f"the model gave a non-finite forecast for series {key!r}.")
        grouped.setdefault(key, []).append({time_col: stamp, target: value})
    return [({sid: key} if sid else {}) | {"forecast": grouped.get(key, [])} for key in order]


def series_ids(layout: SeriesLayout, request: BaseModel) -> list[str]:
    """The request's series ids, in order (the answer's order)."""
    if not layout.series_id:
        return [_SINGLE_SERIES]
    return [str(getattr(s, "sid")) for s in request.series]  # type: ignore[attr-defined]


def _history_columns(layout: SeriesLayout) -> list[str]:
    return [*([layout.series_id] if layout.series_id else []), layout.time_column, layout.target,
            *layout.known_future, *layout.static]


def _future_columns(layout: SeriesLayout) -> list[str]:
    return [*([layout.series_id] if layout.series_id else []), layout.time_column, *layout.known_future,
            *layout.static]


def _covariate_type(input_schema: Any, column: str, text: Any) -> tuple[Any, bool, str]:
    """A covariate's annotation, whether it may be null, and its description, from the schema."""
    found = None
    if input_schema is not None:
        for c in getattr(input_schema, "columns", ()):
            if str(c.name) == column:
                found = c
                break
    if found is None:
        return Union[Float, StrictBool, text], False, "a covariate"
    kind, dtype = str(getattr(found, "kind", "")), str(getattr(found, "dtype", ""))
    nullable = bool(getattr(found, "nullable", False))
    annotation: Any
    if kind == "boolean" and dtype.startswith("bool"):
        annotation = StrictBool
    elif kind == "numeric":
        annotation = Float
    else:
        annotation = text
    return annotation, nullable, f"{kind} ({dtype})"


def _example_history(layout: SeriesLayout) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """A short synthetic history for the documents (``min_history`` points, at least three), and
    its future (the known-future covariates of the next ``horizon`` steps)."""
    import pandas as pd

    n = max(3, min(layout.min_history, 60))
    try:
        stamps = pd.date_range("2026-01-05", periods=n + layout.horizon, freq=layout.freq)
    except ValueError:  # a frequency pandas cannot lay out from a date
        stamps = pd.date_range("2026-01-05", periods=n + layout.horizon, freq="D")
    times = [_iso(t, date_only=t == t.normalize()) for t in stamps]
    covariates = {c: 0 for c in layout.known_future}
    history = [{layout.time_column: t, layout.target: float(10 + i % 3)} | covariates
               for i, t in enumerate(times[:n])]
    future = [{layout.time_column: t} | covariates for t in times[n:]]
    return history, future


def _iso(value: Any, *, date_only: bool) -> str:
    if date_only and hasattr(value, "date"):
        return str(value.date().isoformat())
    return str(value.isoformat())

