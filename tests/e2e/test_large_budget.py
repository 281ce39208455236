"""A run on 95,000 of 100,000 rows under a small time budget: the rows drawn, the plan of its phases
in --json, trials on subsamples, the final fit on every row (or the winning trial's own model). (Whether the wall time kept the budget is measured by
``bench/automl.py --suite large``, not asserted here.)"""

from __future__ import annotations

import numpy as np
import pandas as pd

from podium.training.budget import PHASES, rungs

#: enough rows for two rungs: 80,000 train rows, trials on 26,666 of them first
N = 100_000


def _table(n: int) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    x = rng.normal(size=(n, 3))
    plan = rng.choice(["basic", "pro", "team"], n)
    when = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 365 * 24 * 3600, n), unit="s")
    logit = x[:, 0] - x[:, 1] * x[:, 2] + (plan == "pro") + np.sin(when.dayofyear.to_numpy() / 58)
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "c": x[:, 2], "plan": plan, "signup": when,
                          "churned": np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")})
    frame.loc[rng.random(n) < 0.05, "b"] = np.nan
    return frame


def test_a_large_run_plans_its_phases_and_fits_only_the_finalists_on_every_row(podium, project):
    _table(N).to_parquet(project / "big.parquet", index=False)
    result = podium("run", "--data", "big.parquet", "--target", "churned", "--time-budget", "15",
                    "--candidates", "lightgbm,logistic_regression", "--max-rows", "95,000", "--json", timeout=240)
    assert result.code == 0, result.err
    report = result.json()
    timing = report["timing"]
    assert timing["budget_seconds"] == 15
    assert list(timing["phases"]) == list(PHASES)
    for name, phase in timing["phases"].items():
        assert phase["actual"] is not None and phase["actual"] >= 0, name
        if name not in ("start", "read", "prepare"):  # measured before anything can be planned
            assert phase["planned"] is not None and phase["planned"] >= 0, name
    read = timing["rows"]["read"]  # each row kept with probability 95,000 / 100,000
    assert timing["rows"]["source"] == N and 94_000 <= read <= 96_000
    assert any(note.startswith(f"trained on {read:,} of the source's {N:,} rows") for note in report["notes"])
    n_test = round(0.2 * read)  # 20 % of the rows, under the 50,000-row cap
    assert timing["rungs"] == list(rungs(read - n_test)) and len(timing["rungs"]) > 1
    trials = [row for row in report["leaderboard"] if row["candidate"] != "ensemble" and row["status"] == "ok"]
    first, full = timing["rungs"][0], timing["rungs"][-1]
    assert any(row["rows"] == first for row in trials)  # selection starts on a subsample
    assert all(row["rows"] in timing["rungs"] for row in trials)
    lower = [(row["candidate"], row["params"]) for row in trials if row["rows"] < full]
    for row in trials:  # a configuration reaches more rows only by winning on fewer
        if row["rows"] > first:
            assert (row["candidate"], row["params"]) in lower
    # the winner's final fit: every row, train and holdout — unless, on a machine so loaded that
    # the measured fit on every row would not fit in what was left, as many as fit (and never
    # fewer than a trial saw)
    left_for_fit = timing["budget_seconds"] - sum(timing["phases"][p]["actual"] for p in PHASES[:4]) - sum(
        timing["phases"][p]["planned"] for p in ("compile", "package", "register"))
    if timing["final_fit_every_row"] <= left_for_fit - 1.0:
        assert timing["final_rows"] == read and timing["final_model"] == "refitted"
    elif timing["final_model"] == "the winning trial's":  # no refit on more rows fitted: the trial's model ships
        assert timing["final_rows"] in timing["rungs"]
    else:
        assert first <= timing["final_rows"] <= read
