"""Helpers of the console tests: a small table and a quick spec over it."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def write_table(path: Path, rows: int = 120, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    x1, x2 = rng.normal(size=rows), rng.normal(size=rows)
    pd.DataFrame({"x1": x1, "x2": x2, "colour": rng.choice(["red", "blue"], rows),
                  "y": (x1 + 0.5 * x2 > 0).astype(int)}).to_csv(path, index=False)
    return path


def spec_yaml(table: Path, *, min_score: float = 0.5, model: str = "toy") -> str:
    return (f"name: toy\nsource: {table}\ntarget: y\ncandidates: [logistic_regression]\n"
            f"budget: {{trials: 2}}\nensemble: false\nn_jobs: 1\ngate: {{min_score: {min_score}}}\n"
            f"register: {{model: {model}}}\npromotion: {{smoke_test: false}}\n")
