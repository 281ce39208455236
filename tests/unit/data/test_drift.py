from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from podium.data.drift import DriftReport, drift_report, psi
from podium.errors import SchemaError


def _frame(n: int = 1500, seed: int = 0, shift: float = 0.0, mix=(0.6, 0.3, 0.1)) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame({
        "price": rng.normal(100 + shift, 10, n),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=list(mix)),
        "member": rng.choice([True, False], n),
        "id": np.arange(n),
    })


def test_identical_data_is_not_flagged() -> None:
    frame = _frame()
    report = drift_report(frame, frame.copy())
    assert not report.drifted and report.drifted_columns == []
    assert set(report.columns) == {"price", "city", "member"}
    assert report.skipped == {"id": "id"}
    assert all(c.psi == pytest.approx(0.0, abs=1e-9) for c in report.columns.values())
    assert report.columns["price"].p_value == pytest.approx(1.0)
    assert report.message == "no drift in 3 columns"


def test_a_fresh_sample_of_the_same_distribution_is_not_flagged() -> None:
    report = drift_report(_frame(seed=1), _frame(seed=2))
    assert not report.drifted, report.message


def test_shifted_numeric_and_changed_category_mix_are_flagged() -> None:
    report = drift_report(_frame(seed=1), _frame(seed=2, shift=8, mix=(0.2, 0.3, 0.5)), reference_name="sales:1")
    assert report.drifted and report.drifted_columns == ["price", "city"]
    price, city = report.columns["price"], report.columns["city"]
    assert (price.kind, price.test) == ("numeric", "ks") and price.psi > 0.2 and price.p_value < 0.01
    assert (city.kind, city.test) == ("categorical", "chi2") and city.psi > 0.2 and city.p_value < 0.01
    assert not report.columns["member"].drifted
    assert "price (PSI" in report.message and "city (PSI" in report.message
    assert price.distribution["edges"] and len(price.distribution["reference"]) == len(price.distribution["current"])
    assert set(city.distribution["labels"]) == {"paris", "lyon", "nice"}


def test_thresholds_are_configurable() -> None:
    reference, current = _frame(seed=1), _frame(seed=2, shift=8)
    assert not drift_report(reference, current, psi_threshold=50).drifted
    assert drift_report(reference, current, p_threshold=1.0).columns["price"].drifted
    # p alone: a tiny but certain shift on many rows
    big_a, big_b = _frame(20_000, seed=3), _frame(20_000, seed=4, shift=0.6)
    assert not drift_report(big_a, big_b).columns["price"].drifted
    assert drift_report(big_a, big_b, psi_threshold=0).columns["price"].drifted


def test_schema_changes_are_reported() -> None:
    reference = _frame()
    current = reference.drop(columns=["member"]).assign(channel="web", price=lambda f: f["price"].astype(str))
    report = drift_report(reference, current)
    assert report.added_columns == ["channel"] and report.removed_columns == ["member"]
    assert report.type_changes[0]["column"] == "price"
    assert (report.type_changes[0]["reference"], report.type_changes[0]["current"]) == ("number", "text")
    assert report.schema_changed and report.drifted and report.drifted_columns == []
    assert "removed member" in report.message and "added channel" in report.message


def test_new_missing_values_and_new_categories_count() -> None:
    reference = _frame(seed=1)
    current = _frame(seed=2)
    current.loc[: len(current) // 2, "price"] = np.nan
    current.loc[: len(current) // 2, "city"] = "marseille"
    report = drift_report(reference, current)
    assert report.columns["price"].drifted and report.columns["city"].drifted
    assert "(other)" in report.columns["city"].distribution["labels"]


def test_columns_limits_the_comparison() -> None:
    reference, current = _frame(seed=1), _frame(seed=2, shift=8)
    report = drift_report(reference, current, columns=["city"])
    assert list(report.columns) == ["city"] and not report.drifted
    with pytest.raises(SchemaError, match="'prise' is in neither table. Did you mean 'price'"):
        drift_report(reference, current, columns=["prise"])


def test_round_trip_through_json() -> None:
    report = drift_report(_frame(seed=1), _frame(seed=2, shift=8), reference_name="sales:1")
    data = json.loads(json.dumps(report.to_dict(), allow_nan=False))
    again = DriftReport.from_dict(data)
    assert again.to_dict() == data
    assert data["drifted"] is True and data["drifted_columns"] == ["price"] and data["reference"] == "sales:1"


def test_psi() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == 0.0
    assert psi([0.5, 0.5], [0.9, 0.1]) == pytest.approx(0.4 * np.log(1.8) - 0.4 * np.log(0.2))
    assert np.isfinite(psi([1.0, 0.0], [0.0, 1.0]))
