"""Prometheus metrics of the service, served at ``/metrics``.

With several worker processes every worker writes its figures to files in a shared folder
(``PROMETHEUS_MULTIPROC_DIR``, set by the supervisor before any worker starts) and
``/metrics`` adds them up, whichever worker answers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import HistogramMetricFamily, Metric
from prometheus_client.utils import floatToGoString  # how prometheus_client writes a bucket bound

__all__ = ["ServiceMetrics", "CONTENT_TYPE_LATEST"]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
_ROW_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
_VALUE_BUCKETS = tuple(sorted({s * m for m in (0.1, 1, 10, 100, 1e3, 1e4, 1e5, 1e6) for s in (-1, 1)} | {0.0}))


class ServiceMetrics:
    """The service's counters, histograms and gauges on their own collector registry."""

    def __init__(self, *, multiprocess: bool = False) -> None:
        self.multiprocess = multiprocess
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter("podium_requests", "HTTP requests by model, endpoint and status",
                                ["model", "endpoint", "status"], registry=r)
        self.latency = Histogram("podium_request_duration_seconds", "request latency",
                                 ["model", "endpoint"], buckets=_LATENCY_BUCKETS, registry=r)
        self.errors = Counter("podium_errors", "refused or failed requests by model and kind",
                              ["model", "kind"], registry=r)
        self.predictions = Counter("podium_predictions", "rows scored by model and predicted class",
                                   ["model", "class"], registry=r)
        # The histogram of a regressor's values, counted a batch at a time: one addition per bucket
        # a batch reaches instead of one ``Histogram.observe`` (two locked writes) per row. Its
        # buckets and sum are kept as a gauge each (summed over the workers) and shown as the
        # histogram ``podium_prediction_value`` (see ``exposition``).
        self._value_bounds = np.array([*_VALUE_BUCKETS, np.inf])
        self._value_bounds_list: list[float] = self._value_bounds.tolist()
        self._value_le = [_le(b) for b in self._value_bounds_list]
        self._summed: dict[str, Any] = {}
        self.value_buckets = Gauge(_VALUE_BUCKETS_NAME, "rows per bucket of predicted values (not cumulative)",
                                   ["model", "le"], multiprocess_mode="sum", registry=r)
        self.value_sum = Gauge(_VALUE_SUM_NAME, "sum of predicted values", ["model"], multiprocess_mode="sum",
                               registry=r)
        self.rows_per_call = Histogram("podium_model_call_rows", "rows per model call (micro-batching)",
                                       ["model"], buckets=_ROW_BUCKETS, registry=r)
        self.version = Gauge("podium_model_version", "the model version being served", ["model"],
                             multiprocess_mode="livemostrecent", registry=r)
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}
        self._labelled: dict[tuple[str, str], Any] = {}
        self.reloads = Counter("podium_model_reloads", "alias moves followed, by outcome",
                               ["model", "outcome"], registry=r)

    def observe_request(self, model: str, endpoint: str, status: int, seconds: float) -> None:
        children = self._children.get((model, endpoint, status))
        if children is None:  # labels() per request costs more than the counting itself
            children = (self.requests.labels(model, endpoint, str(status)), self.latency.labels(model, endpoint))
            if len(self._children) < 10_000:
                self._children[(model, endpoint, status)] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_predictions(self, model: str, results: Sequence[dict[str, Any]]) -> None:
        """Count the rows by predicted class; a regressor's values go to a histogram too.

        ``results`` are the scorer's ``Predictions`` (counted from its arrays) or plain answers."""
        if not results:
            return
        counts = getattr(results, "label_counts", None)
        values = getattr(results, "values", None)
        if counts is None:  # plain answers (the forecasts)
            regression = "probabilities" not in results[0]
            tally = {"": len(results)} if regression else Tally(str(r["prediction"]) for r in results)
            values = [r["prediction"] for r in results] if regression else None
        else:
            tally = counts()
        for label, n in tally.items():
            child = self._labelled.get((model, label))
            if child is None:
                child = self.predictions.labels(model, label)
                if len(self._labelled) < 10_000:
                    self._labelled[(model, label)] = child
            child.inc(n)
        if values is not None:
            self.observe_values(model, np.asarray(values, dtype=np.float64))

    def observe_values(self, model: str, values: np.ndarray) -> None:
        """Predicted values into the value histogram (a value goes to the first bucket it is ≤)."""
        if len(values) <= 16:  # a few rows: numpy's set-up would cost more than it saves
            listed = values.tolist()
            found: dict[int, int] = {}
            for value in listed:
                i = bisect_left(self._value_bounds_list, value)
                found[i] = found.get(i, 0) + 1
            total = sum(listed)
        else:
            counts = np.bincount(np.searchsorted(self._value_bounds, values, side="left"),
                                 minlength=len(self._value_bounds))
            found = {i: int(counts[i]) for i in np.flatnonzero(counts).tolist()}
            total = float(values.sum())
        for i, n in found.items():
            key = (model, self._value_le[i])
            child = self._labelled.get(key)
            if child is None:
                child = self._labelled[key] = self.value_buckets.labels(*key)
            child.inc(n)
        child = self._summed.get(model)
        if child is None:
            child = self._summed[model] = self.value_sum.labels(model)
        child.inc(total)

    def exposition(self) -> bytes:
        """The text format of every worker's figures (or this process's)."""
        if not self.multiprocess:
            return generate_latest(_ValueHistogram(self.registry))
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return generate_latest(_ValueHistogram(merged))


_VALUE_BUCKETS_NAME, _VALUE_SUM_NAME = "podium_prediction_value_rows", "podium_prediction_value_total"


def _le(bound: float) -> str:
    return str(floatToGoString(bound))  # type: ignore[no-untyped-call]


class _ValueHistogram(CollectorRegistry):
    """A registry's metrics with the value buckets and sum shown as the histogram they are."""

    def __init__(self, source: CollectorRegistry) -> None:
        super().__init__(auto_describe=False)
        self.source = source

    def collect(self) -> Iterator[Metric]:
        shown: list[Metric] = []
        rows: dict[str, dict[float, float]] = {}
        sums: dict[str, float] = {}
        for metric in self.source.collect():
            if metric.name == _VALUE_BUCKETS_NAME:
                for sample in metric.samples:
                    per_model = rows.setdefault(sample.labels["model"], {})
                    bound = float(sample.labels["le"])
                    per_model[bound] = per_model.get(bound, 0.0) + sample.value
            elif metric.name == _VALUE_SUM_NAME:
                for sample in metric.samples:
                    sums[sample.labels["model"]] = sums.get(sample.labels["model"], 0.0) + sample.value
            else:
                shown.append(metric)
        histogram = HistogramMetricFamily("podium_prediction_value", "predicted values (regression)",
                                          labels=["model"])
        for model, per_bound in rows.items():
            total, buckets = 0.0, []
            for bound in [*_VALUE_BUCKETS, float("inf")]:
                total += per_bound.get(bound, 0.0)
                buckets.append((_le(bound), total))
            histogram.add_metric([model], buckets, None)  # count and sum too (add_metric leaves
            histogram.add_sample("podium_prediction_value_count", {"model": model}, total)  # them out for
            histogram.add_sample("podium_prediction_value_sum", {"model": model}, sums.get(model, 0.0))  # bounds < 0)
        yield from shown
        yield histogram
