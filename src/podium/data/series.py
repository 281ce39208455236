"""Time series in one long layout, and what a forecast needs to know about them.

Every forecasting part (candidates, the trainer, the package, ``podium predict``, the
service) sees a panel of series the same way: one row per (series, timestamp) with the
columns ``unique_id`` (the series, a string), ``ds`` (its timestamp) and ``y`` (the value),
plus covariate columns under their own names; sorted by series then time; each series on a
regular grid of ``freq`` with no gaps or duplicates. ``SeriesLayout`` maps a user's table
(their time, target and series-id columns) to that layout and back, checks it (one clear
line per problem), and records what a package must remember: frequency, season, horizon
and how much history a forecast needs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import pandas as pd

from podium.errors import DataError

__all__ = ["SERIES", "TIME", "VALUE", "FORECAST", "SeriesLayout", "default_season", "infer_freq", "parse_times"]

SERIES = "unique_id"
TIME = "ds"
VALUE = "y"
#: the column a forecaster answers in
FORECAST = "yhat"
#: the series name given to a table with no series-id column
SINGLE = "series"

# season length by the start of a pandas offset alias (hourly: a day; daily: a week; ...)
_SEASONS = {"min": 60, "h": 24, "H": 24, "B": 5, "D": 7, "W": 52, "M": 12, "SM": 24, "Q": 4, "A": 1, "Y": 1}


def default_season(freq: str) -> int:
    """The usual season length for a frequency: 7 for daily, 12 for monthly, 1 for yearly."""
    base = freq.split("-")[0].lstrip("0123456789")
    for prefix in sorted(_SEASONS, key=len, reverse=True):
        if base.startswith(prefix) or base.rstrip("SE").startswith(prefix):
            return _SEASONS[prefix]
    return 1


def infer_freq(times: pd.Series, series: pd.Series | None = None) -> str:
    """The pandas frequency of the timestamps, read from the longest series."""
    frame = pd.DataFrame({"s": series if series is not None else SINGLE, "t": times})
    longest = frame.groupby("s", sort=False)["t"].size().idxmax()
    stamps = pd.DatetimeIndex(frame.loc[frame["s"] == longest, "t"].sort_values().drop_duplicates())
    if len(stamps) < 3:
        raise DataError("Too few timestamps to infer the frequency (need at least 3 in one series).",
                        hint="give it: freq: D | W | MS | QS | YS | h …")
    freq = pd.infer_freq(stamps)
    if freq is None:
        raise DataError("The timestamps are not evenly spaced, so their frequency cannot be inferred.",
                        hint="give it (freq: D, W-MON, MS …), or fill the missing timestamps")
    return str(freq)


@dataclass(frozen=True)
class SeriesLayout:
    """How a user's table holds its series, and what forecasting them needs."""

    time_column: str
    target: str
    horizon: int
    freq: str
    season_length: int = 1
    #: the column naming each series; None when the table is one series
    series_id: str | None = None
    #: covariates known in advance: a forecast request gives them for the next ``horizon`` steps
    known_future: tuple[str, ...] = ()
    #: covariates constant within a series (region, category…)
    static: tuple[str, ...] = ()
    #: the shortest history, per series, a forecast can be made from
    min_history: int = 1

    @property
    def covariates(self) -> tuple[str, ...]:
        return (*self.known_future, *self.static)

    def with_min_history(self, n: int) -> SeriesLayout:
        return replace(self, min_history=max(self.min_history, n))

    def canonical(self, frame: pd.DataFrame, *, what: str = "the data") -> pd.DataFrame:
        """The user's frame in the long layout (``unique_id``, ``ds``, ``y``, covariates), checked.

        Raises DataError (one line) on a missing column, an unreadable timestamp, a duplicated
        timestamp or a gap in a series.
        """
        out = self._long(frame, self.covariates, with_target=True, what=what, hint="a forecast needs {}")
        out = out.sort_values([SERIES, TIME], kind="stable").reset_index(drop=True)
        self.check_grid(out, what=what)
        return out

    def check_grid(self, panel: pd.DataFrame, *, what: str = "the data") -> None:
        """One clear line for the first duplicated or missing timestamp of any series."""
        dup = panel.duplicated([SERIES, TIME])
        if dup.any():
            row = panel.loc[dup.idxmax()]
            raise DataError(f"{what}: series {row[SERIES]!r} has the timestamp {row[TIME]} more than once.",
                            hint="aggregate duplicates (sum or mean per timestamp) before forecasting")
        offset = pd.tseries.frequencies.to_offset(self.freq)
        for sid, times in panel.groupby(SERIES, sort=False)[TIME]:
            expected = pd.date_range(times.iloc[0], periods=len(times), freq=offset)
            if not np.array_equal(expected.to_numpy(), times.to_numpy()):
                gap = next(e for t, e in zip(times, expected) if t != e)
                raise DataError(f"{what}: series {sid!r} has no row for {gap} (frequency {self.freq}).",
                                hint="fill the missing periods (e.g. with 0 or the previous value)")

    def canonical_future(self, frame: pd.DataFrame, history: pd.DataFrame, *,
                         what: str = "the future covariates") -> pd.DataFrame:
        """The known-future covariates of the next ``horizon`` steps of every series in ``history``
        (a canonical panel): ``unique_id``, ``ds``, ``known_future`` columns, in the forecast's order.

        Raises DataError (one line) on a missing column or a forecast step with no row.
        """
        given = self._long(frame, self.known_future, with_target=False, what=what,
                           hint=f"give {{}} for the next {self.horizon} steps of each series")
        given = given.drop_duplicates([SERIES, TIME], keep="last")
        steps = self.future_times(history)
        out = steps.merge(given, on=[SERIES, TIME], how="left", indicator=True)
        absent = out["_merge"] != "both"
        if absent.any():
            row = out.loc[absent.idxmax()]
            raise DataError(f"{what}: series {row[SERIES]!r} has no row for {row[TIME]}, a step to forecast.",
                            hint=f"give the covariates for each of the next {self.horizon} steps after the history")
        return out.drop(columns="_merge")

    def _long(self, frame: pd.DataFrame, columns: Sequence[str], *, with_target: bool, what: str,
              hint: str) -> pd.DataFrame:
        """``frame``'s ``unique_id`` and ``ds`` (parsed), its target as ``y`` when ``with_target``, then
        ``columns`` as they are. One line for a missing column; ``hint`` formats the columns needed."""
        needed = [self.time_column, *([self.target] if with_target else []),
                  *([self.series_id] if self.series_id else []), *columns]
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise DataError(f"{what} has no column {', '.join(repr(c) for c in missing)}.",
                            hint=hint.format(", ".join(needed)))
        out = pd.DataFrame({
            SERIES: frame[self.series_id].astype(str) if self.series_id else SINGLE,
            TIME: _timestamps(frame[self.time_column], self.time_column, what),
        })
        if with_target:
            out[VALUE] = pd.to_numeric(frame[self.target], errors="coerce").astype("float64")
        for c in columns:
            out[c] = frame[c].to_numpy()
        return out

    def future_times(self, panel: pd.DataFrame) -> pd.DataFrame:
        """The next ``horizon`` timestamps of every series in ``panel``: ``unique_id``, ``ds``."""
        offset = pd.tseries.frequencies.to_offset(self.freq)
        last = panel.groupby(SERIES, sort=False)[TIME].max()
        parts = [pd.DataFrame({SERIES: sid, TIME: pd.date_range(t, periods=self.horizon + 1, freq=offset)[1:]})
                 for sid, t in last.items()]
        return pd.concat(parts, ignore_index=True)

    def user_frame(self, forecast: pd.DataFrame) -> pd.DataFrame:
        """A forecast (``unique_id``, ``ds``, ``yhat``) under the user's column names."""
        out = pd.DataFrame({self.time_column: forecast[TIME].to_numpy(),
                            self.target: forecast[FORECAST].to_numpy(dtype=float)})
        if self.series_id:
            out.insert(0, self.series_id, forecast[SERIES].to_numpy())
        return out

    def to_json(self) -> dict[str, Any]:
        block = asdict(self)
        block["known_future"], block["static"] = list(self.known_future), list(self.static)
        return block

    @classmethod
    def from_json(cls, block: dict[str, Any]) -> SeriesLayout:
        data = dict(block)
        data["known_future"] = tuple(data.get("known_future") or ())
        data["static"] = tuple(data.get("static") or ())
        return cls(**data)


def parse_times(values: pd.Series, column: str, what: str = "the data") -> pd.Series:
    """A column as naive datetime64[ns] (UTC when zoned); one clear line for a missing or bad one."""
    return _timestamps(values, column, what)


def _timestamps(values: pd.Series, column: str, what: str) -> pd.Series:
    parsed = pd.to_datetime(values, errors="coerce", utc=False)
    bad = parsed.isna() & values.notna()
    if bad.any() or parsed.isna().any():
        first = values[bad].iloc[0] if bad.any() else None
        raise DataError(f"{what}: column '{column}' has a missing or unreadable timestamp"
                        + (f" ({first!r})." if first is not None else "."),
                        hint="every row needs a date or datetime")
    if getattr(parsed.dt, "tz", None) is not None:
        parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
    return parsed.astype("datetime64[ns]")
