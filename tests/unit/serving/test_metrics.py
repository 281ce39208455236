"""The value histogram counted a batch at a time shows as prometheus_client's own histogram would."""

from __future__ import annotations

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.parser import text_string_to_metric_families

from podium.serving.metrics import _VALUE_BUCKETS, ServiceMetrics


def _samples(text: bytes, name: str) -> dict[tuple, float]:
    return {(s.name, tuple(sorted(s.labels.items()))): s.value
            for family in text_string_to_metric_families(text.decode()) if family.name == name
            for s in family.samples if not s.name.endswith("_created")}


def test_values_counted_in_batches_show_as_the_histogram_of_every_value():
    values = np.array([-5e6, -3.0, 0.0, 0.1, 0.10000001, 42.0, 1e3, 7e5, 2e7])
    metrics = ServiceMetrics()
    metrics.observe_values("fare", values[:4])
    metrics.observe_values("fare", values[4:])
    metrics.observe_predictions("tips", [{"prediction": 1.5}, {"prediction": 250.0}])  # plain answers
    many = np.random.default_rng(0).normal(0, 5e4, 200)  # counted with numpy (a few rows: one at a time)
    metrics.observe_values("big", many)
    reference = CollectorRegistry()
    histogram = Histogram("podium_prediction_value", "predicted values (regression)", ["model"],
                          buckets=_VALUE_BUCKETS, registry=reference)
    for value in values:
        histogram.labels("fare").observe(value)
    for value in (1.5, 250.0):
        histogram.labels("tips").observe(value)
    for value in many:
        histogram.labels("big").observe(value)
    shown = _samples(metrics.exposition(), "podium_prediction_value")
    expected = _samples(generate_latest(reference), "podium_prediction_value")
    assert shown.pop(("podium_prediction_value_sum", (("model", "fare"),))) == pytest.approx(float(values.sum()))
    assert shown.pop(("podium_prediction_value_sum", (("model", "tips"),))) == 251.5
    assert shown.pop(("podium_prediction_value_sum", (("model", "big"),))) == pytest.approx(float(many.sum()))
    assert shown == expected and expected[("podium_prediction_value_count", (("model", "fare"),))] == 9
    text = metrics.exposition()
    assert b"podium_prediction_value_rows" not in text and b"# TYPE podium_prediction_value histogram" in text
