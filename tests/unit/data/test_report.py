from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from podium.data.drift import drift_report
from podium.data.profile import profile_frame
from podium.data.report import render_report


def _frame(seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = 600
    return pd.DataFrame({
        "price": rng.normal(100 + shift, 10, n),
        "city": rng.choice(["paris", "lyon", "nice"], n, p=[0.6, 0.3, 0.1] if not shift else [0.1, 0.3, 0.6]),
        "steady": rng.normal(0, 1, n),
        "churn": rng.choice(["yes", "no"], n),
    })


@pytest.fixture(scope="module")
def html() -> str:
    current = _frame(2, shift=10)
    drift = drift_report(_frame(1), current, reference_name="sales:1")
    return render_report(profile_frame(current, target="churn"), drift, title="Dataset sales:2")


def test_one_self_contained_page(html: str) -> None:
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert "<svg" in html and "<style>" in html
    assert "http://" not in html and "https://" not in html
    assert not re.search(r"<script|<link|src=|@import|url\(", html)


def test_flagged_columns_are_highlighted(html: str) -> None:
    flagged = re.findall(r"<tr class='flagged'><td><a href='#col-\d+'>([^<]+)</a>", html)
    assert flagged == ["price", "city"] or flagged == ["city", "price"]
    assert "<tr class=''><td><a href='#col-2'>steady</a>" in html
    assert html.count("class='card flagged'") == 2
    assert "Drift detected" in html and "against sales:1" in html


def test_charts_per_column_with_the_reference_overlaid(html: str) -> None:
    assert html.count("<svg") == 5  # four columns and the target
    assert "reference (sales:1)" in html
    assert "Target: churn" in html and re.search(r">\d+\.\d %</text>", html)


def test_without_drift_and_names_escaped() -> None:
    frame = pd.DataFrame({"<b>x</b>": [1.0, 2.0, 3.0, 2.5], "kind": ["a", "b", "a", "a"]})
    page = render_report(profile_frame(frame), None, title="a <title> & more")
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "a &lt;title&gt; &amp; more" in page
    assert "Drift" not in page and page.count("<svg") == 2


def test_accepts_a_stored_drift_dict() -> None:
    drift = drift_report(_frame(1), _frame(2, shift=10))
    page = render_report(profile_frame(_frame(2, shift=10)), drift.to_dict(), title="t")
    assert "class='flagged'" in page
