"""LSTM and GRU forecasters in PyTorch: one global network over all series, fed windows.

How the network is fed (it matters more than its size):

- **Windows.** Every series of the training panel is cut into windows of ``window`` past
  points followed by the next ``horizon`` points. One network learns from the windows of
  all series (a global model), so it also forecasts series it never saw.
- **A correction of a baseline**: the network's output is added to the seasonal naive forecast
  or to the last value (``baseline``; ``auto`` picks the closer on the validation windows).
- **Relative to the last observed value.** Each window is shifted by its own last observed
  value and divided by its own scale (the mean absolute value of the window: a level), so
  inputs and targets are the changes from "now" in units of the series' level. The network
  follows levels it never saw; a zero output is the naive forecast.
- **Direct multi-horizon output.** The last hidden state, with the known-future covariates
  of the ``horizon`` steps ahead, goes through a small head that gives all ``horizon``
  steps at once (no recursion, so no error feeding on itself).
- **Inputs per step**: the scaled value, the known-future covariates (standardised over the
  training panel) and the position in the season (sine and cosine) when there is one.
- **Early stopping on time.** The last windows of each series (its latest origins, about 32
  windows in all) are the validation slice; training targets end before theirs begin. The
  weights of the best validation epoch are kept, then (``refit``) a network is trained again
  on every window for that many epochs. The fit stops at ``past_deadline()`` (checked every
  batch) with the best weights so far. ``members`` networks from other seeds are averaged.
- **Short histories** (fewer than ``window`` points) get the seasonal naive forecast.

Torch is imported here only, lazily; a fitted forecaster pickles its weights as numpy
arrays with its configuration (not the torch module), so it unpickles on any device.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from podium._internal.lazy import require
from podium.candidates.base import Candidate, Choice, Distribution, Float, Int, Tags, register_candidate
from podium.candidates.deadline import past_deadline
from podium.candidates.device import current_device
from podium.candidates.forecast import FORECAST_TASK, forecast_frame
from podium.data.series import SERIES, TIME, VALUE, SeriesLayout

__all__ = ["RecurrentParams", "RecurrentForecaster", "windows"]

Cell = Literal["lstm", "gru"]
_EPS = 1e-8
#: validation windows wanted over all series (each series gives at most ``horizon``)
_VALIDATION_WINDOWS = 32


class RecurrentParams(BaseModel):
    """The parameters of the LSTM and GRU forecasters."""

    model_config = ConfigDict(extra="forbid")

    hidden_size: int = Field(32, ge=2, le=1024, description="units per recurrent layer")
    num_layers: int = Field(1, ge=1, le=4, description="stacked recurrent layers")
    window: int | None = Field(None, ge=2, description="past points the network reads; "
                               "None: lookback × max(season, horizon)")
    lookback: float = Field(2.0, gt=0, le=20, description="the window in seasons (or horizons) when window is None")
    dropout: float = Field(0.0, ge=0.0, lt=1.0, description="dropout between layers and in the head")
    learning_rate: float = Field(3e-3, gt=0.0, le=1.0)
    weight_decay: float = Field(0.0, ge=0.0, le=1.0)
    batch_size: int = Field(64, ge=1, le=8192)
    max_epochs: int = Field(200, ge=1, le=10_000)
    patience: int = Field(10, ge=1, le=10_000, description="epochs without a better validation loss before stopping")
    baseline: Literal["auto", "naive", "seasonal"] = Field(
        "auto", description="what the network corrects: the last value, the last season repeated, or "
                            "(auto) whichever of the two is closer on the validation windows")
    members: int = Field(1, ge=1, le=16, description="networks trained from different seeds, their forecasts "
                         "averaged (added while the deadline allows)")
    refit: bool = Field(True, description="after early stopping, retrain on every window (the latest too) "
                        "for the epochs found")
    max_steps: int = Field(4000, ge=1, description="gradient steps at most over the whole fit "
                           "(bounds the epochs on tiny data)")


def windows(values: np.ndarray, window: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """All (input, target) pairs of one series: ``window`` points, then the ``horizon`` after them.

    Row i's input is ``values[i : i + window]`` and its target ``values[i + window : i + window
    + horizon]``: a target never overlaps its input. Empty when the series is too short.
    """
    n = len(values) - window - horizon + 1
    if n <= 0:
        return np.empty((0, window)), np.empty((0, horizon))
    span = np.lib.stride_tricks.sliding_window_view(values, window + horizon)[:n]
    return span[:, :window].copy(), span[:, window:].copy()


def _normalise(inputs: np.ndarray, targets: np.ndarray | None = None
               ) -> tuple[np.ndarray, np.ndarray | None, np.ndarray, np.ndarray]:
    """Inputs (and targets) relative to each window's last value, in units of the window's level."""
    last = inputs[:, -1:]
    scale = np.abs(inputs).mean(axis=1, keepdims=True)
    spread = np.abs(np.diff(inputs, axis=1)).mean(axis=1, keepdims=True) if inputs.shape[1] > 1 else scale
    scale = np.where(scale > _EPS, scale, np.where(spread > _EPS, spread, 1.0))
    scaled_targets = None if targets is None else (targets - last) / scale
    return (inputs - last) / scale, scaled_targets, last, scale


@dataclass
class _Series:
    sid: str
    values: np.ndarray
    covariates: np.ndarray  # (len, n_covariates), standardised
    start: int  # the period index of the first point (for the season's phase)


class RecurrentForecaster:
    """A global LSTM or GRU over windows of every series; see the module docstring."""

    def __init__(self, cell: Cell = "lstm", params: Mapping[str, Any] | None = None, seed: int = 0) -> None:
        self.cell = cell
        self.params = RecurrentParams.model_validate(dict(params or {}))
        self.seed = seed
        self._nets: list[Any] | None = None

    # --- fitting ---------------------------------------------------------------------------

    def fit(self, train: pd.DataFrame, layout: SeriesLayout) -> RecurrentForecaster:
        self.layout = layout
        p, h = self.params, layout.horizon
        self.season_ = max(1, layout.season_length)
        self.covariates_ = tuple(layout.known_future)
        frame = train[[SERIES, TIME, VALUE, *self.covariates_]]
        numeric = {c: pd.to_numeric(frame[c], errors="coerce").astype(float) for c in self.covariates_}
        self.cov_mean_ = np.array([np.nanmean(v) if v.notna().any() else 0.0 for v in numeric.values()])
        self.cov_std_ = np.array([np.nanstd(v) if v.notna().any() else 1.0 for v in numeric.values()])
        self.cov_std_ = np.where(self.cov_std_ > _EPS, self.cov_std_, 1.0)
        self.origin_ = pd.Timestamp(frame[TIME].min())
        series = self._series(frame)
        longest = max((len(s.values) for s in series), default=0)
        wanted = p.window or int(round(p.lookback * max(self.season_, h)))
        # the longest series must still give a validation window and a few training ones
        self.window_ = max(2, min(wanted, longest - 2 * h - 4))
        #: each member network's weights (numpy arrays by state-dict key); none: seasonal naive for all
        self.states_: list[dict[str, np.ndarray]] = []
        self.skip_ = 1
        self.epochs_ = 0
        data = self._training_windows(series)
        if data is None:  # every series too short: seasonal naive for all
            return self
        torch = require("torch", extra="torch")
        with _torch_threads(torch):
            self._train(torch, *data)
        return self

    def _series(self, frame: pd.DataFrame) -> list[_Series]:
        offset = pd.tseries.frequencies.to_offset(self.layout.freq)
        out = []
        for sid, part in frame.groupby(SERIES, sort=False):
            values = pd.Series(part[VALUE].to_numpy(dtype=float)).ffill().bfill().to_numpy()
            covs = np.column_stack([pd.to_numeric(part[c], errors="coerce").to_numpy(dtype=float)
                                    for c in self.covariates_]) if self.covariates_ else np.empty((len(part), 0))
            covs = np.nan_to_num((covs - self.cov_mean_) / self.cov_std_)
            out.append(_Series(str(sid), values, covs, _periods_between(self.origin_, part[TIME].iloc[0], offset)))
        return out

    def _features(self, s: _Series, begin: int, end: int) -> np.ndarray:
        """Per-step inputs besides the value: covariates and the season's phase, for [begin, end)."""
        parts = [s.covariates[begin:end]]
        if self.season_ > 1:
            phase = 2 * np.pi * ((s.start + np.arange(begin, end)) % self.season_) / self.season_
            parts.append(np.column_stack([np.sin(phase), np.cos(phase)]))
        return np.concatenate(parts, axis=1)

    @property
    def _n_features(self) -> int:
        return len(self.covariates_) + (2 if self.season_ > 1 else 0)

    def _samples(self, s: _Series, ends: range) -> tuple[np.ndarray, ...]:
        """Windows of ``s`` whose inputs end (exclusive) at each of ``ends``."""
        w, h = self.window_, self.layout.horizon
        x = np.stack([s.values[e - w:e] for e in ends])
        y = np.stack([s.values[e:e + h] for e in ends])
        xf = np.stack([self._features(s, e - w, e) for e in ends])
        ff = np.stack([self._features(s, e, e + h) for e in ends])
        return x, y, xf, ff

    def _training_windows(self, series: list[_Series]) -> tuple[tuple[np.ndarray, ...], ...] | None:
        """(training, validation, all) windows: the validation slice is each series' last windows."""
        w, h = self.window_, self.layout.horizon
        # enough validation windows for a steady score: the last k origins of each series
        k = max(1, min(h, -(-_VALIDATION_WINDOWS // max(1, len(series)))))
        train, valid, every = [], [], []
        for s in series:
            n = len(s.values)
            first = max(w, n - h - k + 1)
            if n < w + h:
                continue
            valid.append(self._samples(s, range(first, n - h + 1)))
            every.append(self._samples(s, range(w, n - h + 1)))
            if first - h >= w:  # training targets end where the first validation target begins
                train.append(self._samples(s, range(w, first - h + 1)))
        if not train:
            return None
        return _stack(train), _stack(valid), _stack(every)

    def _train(self, torch: Any, train: tuple[np.ndarray, ...], valid: tuple[np.ndarray, ...],
               every: tuple[np.ndarray, ...]) -> None:
        """Per member: early-stop on the validation windows; then, in time, refit on every window
        for as many epochs. Members (other seeds) are added while the deadline allows."""
        self.skip_ = self._skip(valid)
        device = torch.device(current_device())
        fit, val = self._tensors(torch, train, device), self._tensors(torch, valid, device)
        everything = self._tensors(torch, every, device) if self.params.refit else None
        self.validation_curve_: list[float] = []
        self.member_epochs_: list[int] = []
        for member in range(self.params.members):
            if member and past_deadline():
                break
            seed = self.seed + 1000 * member
            state, epochs, loss, finished = self._epochs(torch, fit, val, self.params.max_epochs, seed)
            if state is None:
                break
            if everything is not None and finished:
                refitted, _, _, finished = self._epochs(torch, everything, None, epochs, seed)
                if finished and refitted is not None:  # a refit cut short is worse than the early-stopped net
                    state = refitted
            self.states_.append(state)
            self.member_epochs_.append(epochs)
            if member == 0:
                self.epochs_, self.validation_loss_ = epochs, loss

    def _skip(self, valid: tuple[np.ndarray, ...]) -> int:
        """The baseline's lag: the season, or 1 (the last value, which is 0 once scaled)."""
        baseline, m, h = self.params.baseline, self.season_, self.layout.horizon
        if m == 1 or self.window_ < m or baseline == "naive":
            return 1
        if baseline == "seasonal":
            return m
        inputs, _, targets = _model_arrays(*valid)
        seasonal = np.tile(inputs[:, -m:, 0], -(-h // m))[:, :h]
        return m if np.abs(targets - seasonal).mean() <= np.abs(targets).mean() else 1

    def _tensors(self, torch: Any, arrays: tuple[np.ndarray, ...], device: Any) -> list[Any]:
        return [torch.as_tensor(a, dtype=torch.float32, device=device) for a in _model_arrays(*arrays)]

    def _epochs(self, torch: Any, fit: list[Any], val: list[Any] | None, epochs: int, seed: int
                ) -> tuple[dict[str, np.ndarray] | None, int, float, bool]:
        """Train a new network for up to ``epochs``: (its best weights, their epoch, their validation
        loss, whether it ended by itself rather than at the deadline). Without ``val``: the last weights."""
        p = self.params
        device = fit[0].device
        torch.manual_seed(seed)
        net = _network(torch, self._config()).to(device)
        optimiser = torch.optim.Adam(net.parameters(), lr=p.learning_rate, weight_decay=p.weight_decay)
        loss_fn = torch.nn.L1Loss()
        rng = np.random.default_rng(seed)
        n = len(fit[0])
        batches = max(1, n // min(p.batch_size, n))
        best, best_state, best_epoch, stale, steps = math.inf, None, 0, 0, 0
        for epoch in range(epochs):
            net.train()
            late = False
            for idx in np.array_split(rng.permutation(n), batches):
                i = torch.as_tensor(idx, device=device)
                optimiser.zero_grad()
                loss = loss_fn(net(fit[0][i], fit[1][i]), fit[2][i])
                loss.backward()
                torch.nn.utils.clip_grad_norm_(net.parameters(), 1.0)
                optimiser.step()
                steps += 1
                if past_deadline():
                    late = True
                    break
            score = -math.inf
            if val is not None:
                net.eval()
                with torch.no_grad():
                    score = float(loss_fn(net(val[0], val[1]), val[2]))
                if seed == self.seed:
                    self.validation_curve_.append(score)
            if score < best - 1e-6 or val is None:
                best, stale, best_epoch = score, 0, epoch + 1
                best_state = {k: v.detach().cpu().numpy().copy() for k, v in net.state_dict().items()}
            else:
                stale += 1
            if late or stale >= p.patience or steps >= p.max_steps:
                return best_state, best_epoch, best, not late
        return best_state, best_epoch, best, True

    def _config(self) -> dict[str, Any]:
        p = self.params
        return {"cell": self.cell, "inputs": 1 + self._n_features, "hidden": p.hidden_size, "layers": p.num_layers,
                "dropout": p.dropout, "horizon": self.layout.horizon, "future": self._n_features,
                "skip": self.skip_}

    # --- forecasting -------------------------------------------------------------------------

    def predict(self, history: pd.DataFrame, future: pd.DataFrame | None = None) -> pd.DataFrame:
        h, w = self.layout.horizon, self.window_
        frame = history.copy()
        for c in self.covariates_:
            if c not in frame.columns:
                frame[c] = np.nan
        series = self._series(frame[[SERIES, TIME, VALUE, *self.covariates_]])
        ahead = self._future_covariates(history, future)
        values: dict[str, np.ndarray] = {}
        ready = []
        for s in series:
            if not self.states_ or len(s.values) < w:
                values[s.sid] = _seasonal_naive(s.values, self.season_, h)
                continue
            n = len(s.values)
            extended = _Series(s.sid, s.values, np.vstack([s.covariates, ahead[s.sid]]), s.start)
            ready.append((s.sid, *self._samples_at(extended, n)))
        if ready:
            sids = [r[0] for r in ready]
            x, xf, ff = (np.stack([r[k] for r in ready]) for k in (1, 2, 3))
            for sid, yhat in zip(sids, self._forecast(x, xf, ff)):
                values[sid] = yhat
        return forecast_frame(self.layout, history, values)

    def _samples_at(self, s: _Series, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        w, h = self.window_, self.layout.horizon
        return s.values[n - w:n], self._features(s, n - w, n), self._features(s, n, n + h)

    def _future_covariates(self, history: pd.DataFrame, future: pd.DataFrame | None) -> dict[str, np.ndarray]:
        """Each series' standardised covariates for the next ``horizon`` steps (0, the mean, where not given)."""
        times = self.layout.future_times(history)
        if self.covariates_ and future is not None and len(future):
            given = future[[SERIES, TIME, *[c for c in self.covariates_ if c in future.columns]]].copy()
            given[SERIES] = given[SERIES].astype(str)
            given[TIME] = pd.to_datetime(given[TIME]).astype("datetime64[ns]")
            times = times.merge(given, on=[SERIES, TIME], how="left")
        rows = np.column_stack([pd.to_numeric(times[c], errors="coerce").to_numpy(dtype=float)
                                if c in times.columns else np.full(len(times), np.nan)
                                for c in self.covariates_]) if self.covariates_ else np.empty((len(times), 0))
        rows = np.nan_to_num((rows - self.cov_mean_) / self.cov_std_)
        ids = times[SERIES].astype(str).to_numpy()
        return {sid: rows[ids == sid] for sid in pd.unique(ids)}

    def _forecast(self, x: np.ndarray, xf: np.ndarray, ff: np.ndarray) -> np.ndarray:
        torch = require("torch", extra="torch")
        with _torch_threads(torch):
            nets = self._networks(torch)
            inputs, futures, _, last, scale = _model_arrays(x, None, xf, ff, keep=True)
            device = next(nets[0].parameters()).device
            with torch.no_grad():
                a = torch.as_tensor(inputs, dtype=torch.float32, device=device)
                b = torch.as_tensor(futures, dtype=torch.float32, device=device)
                out = torch.stack([net(a, b) for net in nets]).mean(dim=0).cpu().numpy()
        result: np.ndarray = out.astype(float) * scale + last
        return result

    def _networks(self, torch: Any) -> list[Any]:
        if self._nets is None:
            self._nets = []
            for state in self.states_:
                net = _network(torch, self._config())
                net.load_state_dict({k: torch.as_tensor(v) for k, v in state.items()})
                self._nets.append(net.to(torch.device(current_device())).eval())
        return self._nets

    # --- pickling: weights as numpy arrays, the torch module rebuilt on demand ---------------

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_nets"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)


def _model_arrays(x: np.ndarray, y: np.ndarray | None, xf: np.ndarray, ff: np.ndarray, *, keep: bool = False
                  ) -> Any:
    """The network's tensors as arrays: per-step inputs, future covariates, scaled targets."""
    xs, ys, last, scale = _normalise(x, y)
    inputs = np.concatenate([xs[:, :, None], xf], axis=2)
    futures = ff.reshape(len(ff), -1)
    if keep:
        return inputs, futures, ys, last, scale
    return inputs, futures, ys


def _stack(parts: list[tuple[np.ndarray, ...]]) -> tuple[np.ndarray, ...]:
    return tuple(np.concatenate([p[k] for p in parts]) for k in range(len(parts[0])))


def _seasonal_naive(values: np.ndarray, season: int, horizon: int) -> np.ndarray:
    if not len(values):
        return np.full(horizon, np.nan)
    last = values[-season:] if len(values) >= season else values[-1:]
    return np.resize(last, horizon).astype(float)


def _periods_between(origin: pd.Timestamp, when: pd.Timestamp, offset: Any) -> int:
    """How many steps of ``offset`` lead from ``origin`` to ``when`` (negative when before)."""
    if when >= origin:
        return len(pd.date_range(origin, when, freq=offset)) - 1
    return -(len(pd.date_range(when, origin, freq=offset)) - 1)


@contextmanager
def _torch_threads(torch: Any) -> Iterator[None]:
    """One intra-op thread while a small network trains: trials already run side by side."""
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


def _network(torch: Any, config: Mapping[str, Any]) -> Any:
    """The torch module for ``config`` (built here so that the class needs torch only when used)."""
    nn = torch.nn
    rnn_class = nn.LSTM if config["cell"] == "lstm" else nn.GRU
    skip, horizon = config["skip"], config["horizon"]

    class RecurrentNet(nn.Module):  # type: ignore[misc, name-defined]
        def __init__(self) -> None:
            super().__init__()
            hidden, layers, dropout = config["hidden"], config["layers"], config["dropout"]
            self.rnn = rnn_class(config["inputs"], hidden, layers, batch_first=True,
                                 dropout=dropout if layers > 1 else 0.0)
            self.head = nn.Sequential(
                nn.Linear(hidden + config["horizon"] * config["future"], hidden), nn.ReLU(), nn.Dropout(dropout),
                nn.Linear(hidden, config["horizon"]))
            nn.init.zeros_(self.head[-1].weight)  # start from the naive forecast (no change)
            nn.init.zeros_(self.head[-1].bias)

        def forward(self, inputs: Any, futures: Any) -> Any:
            out, _ = self.rnn(inputs)
            # the network learns a correction of the (seasonal) naive forecast, its last season repeated
            base = inputs[:, -skip:, 0].repeat(1, -(-horizon // skip))[:, :horizon]
            return base + self.head(torch.cat([out[:, -1], futures], dim=1))

    return RecurrentNet()


def _builder(cell: Cell) -> Any:
    def build(task: str, params: Mapping[str, Any], seed: int) -> RecurrentForecaster:
        return RecurrentForecaster(cell, params, seed)
    return build


_SPACE: dict[str, Distribution] = {
    "hidden_size": Choice((16, 32, 64)),
    "num_layers": Int(1, 2),
    "lookback": Choice((1.0, 1.5, 2.0, 3.0, 4.0)),
    "dropout": Choice((0.0, 0.1, 0.2)),
    "learning_rate": Float(1e-3, 1e-2, log=True),
    "baseline": Choice(("auto", "seasonal", "naive")),
}
# small nets first (they train in a second or two on a few thousand windows), each preset a
# different view: the season's correction, the last value's, an average of three seeds
_PRESETS: tuple[Mapping[str, Any], ...] = (
    {},
    {"baseline": "naive"},
    {"members": 3, "lookback": 3.0},
)

if importlib.util.find_spec("torch") is not None:  # registered only where torch is installed
    lstm = register_candidate(Candidate(
        name="lstm", tasks=frozenset({FORECAST_TASK}), build=_builder("lstm"), presets=_PRESETS, space=_SPACE,
        tags=Tags(input="sequence", handles_missing=True, respects_deadline=True, gpu="torch"), params=RecurrentParams,
        summary="a global LSTM over windows of every series, relative to each window's last value (PyTorch)"))
    gru = register_candidate(Candidate(
        name="gru", tasks=frozenset({FORECAST_TASK}), build=_builder("gru"), presets=_PRESETS, space=_SPACE,
        tags=Tags(input="sequence", handles_missing=True, respects_deadline=True, gpu="torch"), params=RecurrentParams,
        summary="a global GRU over windows of every series, relative to each window's last value (PyTorch)"))
