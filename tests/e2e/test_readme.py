"""The README's Python example runs as written."""

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).resolve().parents[2]


def test_the_python_example_runs(tmp_path, monkeypatch):
    block = re.search(r"## From Python\s+```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S).group(1)
    shutil.copy(ROOT / "examples" / "quickstart" / "customers.csv", tmp_path / "customers.csv")
    (tmp_path / "podium.yaml").write_text("notify: []\n")
    monkeypatch.chdir(tmp_path)
    namespace = {"new_rows": pd.read_csv(ROOT / "examples" / "quickstart" / "new_customers.csv")}
    exec(block.replace('"target": "churned"}', '"target": "churned", "budget": {"trials": 2}}'), namespace)
    scored = namespace["scored"]
    assert namespace["result"].status == "registered"
    assert "prediction" in scored.columns and len(scored) == 20
