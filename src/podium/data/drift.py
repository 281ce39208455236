"""Drift between two tables: did the data move enough to matter, column by column?

Each column shared by both tables is compared two ways:

- **PSI** (population stability index) over bins fixed by the *reference*: its deciles for
  a numeric column, its categories (top 20, the rest as "other") for a categorical one,
  plus a bin for missing values. Shares are floored at a small epsilon so an empty bin
  costs a finite amount. Rule of thumb: < 0.1 stable, 0.1–0.2 moving, > 0.2 shifted.
- **A test**: Kolmogorov–Smirnov (``ks``) on numeric values, chi-square (``chi2``) on the
  category counts.

A column is flagged when its PSI reaches ``psi_threshold`` *and* its test's p-value (or,
for a numeric column, that of a chi-square test of its missing share) is below
``p_threshold``: on large tables tiny moves are significant, on small ones large PSIs arise
by chance. ``p_threshold=1`` flags on PSI alone, ``psi_threshold=0`` on the test alone.
Identifiers, free text and dates are not compared. The report is a result; acting on it (a
notification, a retrain) is the caller's business.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from podium._internal.suggest import did_you_mean
from podium.data.profile import TOP_CATEGORIES, is_numeric
from podium.data.types import ColumnType, infer_column_type
from podium.errors import SchemaError

__all__ = ["DriftReport", "ColumnDrift", "drift_report", "psi", "PSI_THRESHOLD", "P_THRESHOLD"]

PSI_THRESHOLD = 0.2
P_THRESHOLD = 0.01
EPSILON = 1e-4
MISSING = "(missing)"
OTHER = "(other)"
_PSI_BINS = 10
_DISPLAY_BINS = 20

Kind = Literal["numeric", "categorical"]

_COMPARED: dict[ColumnType, Kind] = {ColumnType.NUMERIC: "numeric", ColumnType.CATEGORICAL: "categorical",
                                     ColumnType.BOOLEAN: "categorical", ColumnType.CONSTANT: "categorical"}


@dataclass(frozen=True)
class ColumnDrift:
    """One column compared: its PSI, its test and whether it is flagged.

    ``distribution`` is for charts: ``edges`` (numeric, equal-width bins over both tables)
    or ``labels`` (categories), with the ``reference`` and ``current`` shares of each.
    ``missing_p_value`` (numeric columns with missing values) tests the missing share, which
    KS, on the values present, does not see.
    """

    column: str
    kind: Kind
    psi: float
    test: Literal["ks", "chi2"]
    statistic: float | None
    p_value: float | None
    drifted: bool
    distribution: dict[str, list[Any]] = field(default_factory=dict)
    missing_p_value: float | None = None


@dataclass(frozen=True)
class DriftReport:
    """Drift of ``current`` against ``reference``: per column, and schema changes.

    ``drifted`` is true when a column is flagged or the schema changed (a column added or
    removed, or its values changing between number, text, boolean and date).
    """

    columns: dict[str, ColumnDrift]
    added_columns: list[str]
    removed_columns: list[str]
    type_changes: list[dict[str, str]]
    skipped: dict[str, str]
    reference_rows: int
    current_rows: int
    psi_threshold: float = PSI_THRESHOLD
    p_threshold: float = P_THRESHOLD
    reference: str | None = None  # what the reference was, e.g. "sales:2"

    @property
    def drifted_columns(self) -> list[str]:
        return [name for name, c in self.columns.items() if c.drifted]

    @property
    def schema_changed(self) -> bool:
        return bool(self.added_columns or self.removed_columns or self.type_changes)

    @property
    def drifted(self) -> bool:
        return bool(self.drifted_columns) or self.schema_changed

    @property
    def message(self) -> str:
        """One line for a person: what drifted and by how much, or that nothing did."""
        parts = []
        flagged = [self.columns[c] for c in self.drifted_columns]
        if flagged:
            shown = ", ".join(f"{c.column} (PSI {c.psi:.2f})" for c in flagged[:5])
            more = f" and {len(flagged) - 5} more" if len(flagged) > 5 else ""
            parts.append(f"{len(flagged)} of {len(self.columns)} columns drifted: {shown}{more}")
        if self.added_columns:
            parts.append("added " + ", ".join(self.added_columns))
        if self.removed_columns:
            parts.append("removed " + ", ".join(self.removed_columns))
        for change in self.type_changes:
            parts.append(f"{change['column']} changed from {change['reference']} to {change['current']}")
        if not parts:
            return f"no drift in {len(self.columns)} columns"
        return "; ".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON, with the derived fields (``drifted``, ``drifted_columns``...) included."""
        return {
            "drifted": self.drifted,
            "drifted_columns": self.drifted_columns,
            "schema_changed": self.schema_changed,
            "message": self.message,
            "reference": self.reference,
            "reference_rows": self.reference_rows,
            "current_rows": self.current_rows,
            "psi_threshold": self.psi_threshold,
            "p_threshold": self.p_threshold,
            "added_columns": list(self.added_columns),
            "removed_columns": list(self.removed_columns),
            "type_changes": [dict(c) for c in self.type_changes],
            "skipped": dict(self.skipped),
            "columns": {name: asdict(c) for name, c in self.columns.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DriftReport:
        """The report ``to_dict`` gave (as stored with a dataset version)."""
        return cls(
            columns={name: ColumnDrift(**c) for name, c in (data.get("columns") or {}).items()},
            added_columns=list(data.get("added_columns") or []),
            removed_columns=list(data.get("removed_columns") or []),
            type_changes=[dict(c) for c in data.get("type_changes") or []],
            skipped=dict(data.get("skipped") or {}),
            reference_rows=int(data.get("reference_rows") or 0),
            current_rows=int(data.get("current_rows") or 0),
            psi_threshold=float(data.get("psi_threshold", PSI_THRESHOLD)),
            p_threshold=float(data.get("p_threshold", P_THRESHOLD)),
            reference=data.get("reference"),
        )


def drift_report(reference: pd.DataFrame, current: pd.DataFrame, *, psi_threshold: float = PSI_THRESHOLD,
                 p_threshold: float = P_THRESHOLD, columns: Sequence[str] | None = None,
                 reference_name: str | None = None) -> DriftReport:
    """Compare ``current`` with ``reference`` column by column (see the module docstring).

    ``columns`` limits the comparison (e.g. a model's input columns); ``reference_name``
    says what the reference was, for messages and the report.
    """
    ref_names = [str(c) for c in reference.columns]
    cur_names = [str(c) for c in current.columns]
    reference = reference.set_axis(ref_names, axis=1)
    current = current.set_axis(cur_names, axis=1)
    if columns is not None:
        unknown = [c for c in columns if c not in ref_names and c not in cur_names]
        if unknown:
            raise SchemaError(f"column '{unknown[0]}' is in neither table. "
                              f"{did_you_mean(unknown[0], set(ref_names) | set(cur_names))}".rstrip())
        wanted = set(columns)
        ref_names = [c for c in ref_names if c in wanted]
        cur_names = [c for c in cur_names if c in wanted]
    shared = [c for c in ref_names if c in set(cur_names)]
    type_changes, compared, skipped = [], {}, {}
    for name in shared:
        before, after = _family(reference[name]), _family(current[name])
        if before != after and "empty" not in (before, after):
            type_changes.append({"column": name, "reference": before, "current": after,
                                 "reference_dtype": str(reference[name].dtype),
                                 "current_dtype": str(current[name].dtype)})
            continue
        kind = _kind(reference[name], current[name])
        if kind is None:
            skipped[name] = infer_column_type(reference[name]).value
            continue
        if len(reference) == 0 or len(current) == 0:
            skipped[name] = "no rows"
            continue
        compare = _numeric_drift if kind == "numeric" else _categorical_drift
        psi_value, test, statistic, p_value, distribution = compare(reference[name], current[name])
        missing_p = _missing_p_value(reference[name], current[name]) if kind == "numeric" else None
        p_values = [p for p in (p_value, missing_p) if p is not None]
        significant = not p_values or min(p_values) < p_threshold
        compared[name] = ColumnDrift(column=name, kind=kind, psi=psi_value, test=test, statistic=statistic,
                                     p_value=p_value, drifted=bool(psi_value >= psi_threshold and significant),
                                     distribution=distribution, missing_p_value=missing_p)
    return DriftReport(
        columns=compared,
        added_columns=[c for c in cur_names if c not in set(ref_names)],
        removed_columns=[c for c in ref_names if c not in set(cur_names)],
        type_changes=type_changes,
        skipped=skipped,
        reference_rows=int(len(reference)),
        current_rows=int(len(current)),
        psi_threshold=float(psi_threshold),
        p_threshold=float(p_threshold),
        reference=reference_name,
    )


def psi(reference_shares: Iterable[float], current_shares: Iterable[float], *, epsilon: float = EPSILON) -> float:
    """The population stability index of two distributions over the same bins."""
    ref = np.clip(np.asarray(list(reference_shares), dtype=float), epsilon, None)
    cur = np.clip(np.asarray(list(current_shares), dtype=float), epsilon, None)
    return float(np.sum((cur - ref) * np.log(cur / ref)))


# -- per kind ---------------------------------------------------------------------------------
_Result = tuple[float, Literal["ks", "chi2"], float | None, float | None, dict[str, list[Any]]]


def _numeric_drift(reference: pd.Series, current: pd.Series) -> _Result:
    from scipy import stats

    ref, cur = _numbers(reference), _numbers(current)
    ref_values, cur_values = ref[np.isfinite(ref)], cur[np.isfinite(cur)]
    if len(ref_values):
        inner = np.unique(np.quantile(ref_values, np.linspace(0, 1, _PSI_BINS + 1)[1:-1]))
    else:
        inner = np.array([])
    ref_shares = _binned_shares(ref, inner)
    cur_shares = _binned_shares(cur, inner)
    statistic = p_value = None
    if len(ref_values) and len(cur_values):
        result = stats.ks_2samp(ref_values, cur_values)
        statistic, p_value = _finite(result.statistic), _finite(result.pvalue)
    return psi(ref_shares, cur_shares), "ks", statistic, p_value, _display_histogram(ref_values, cur_values)


def _binned_shares(values: np.ndarray, inner_edges: np.ndarray) -> list[float]:
    """Shares in the bins cut at ``inner_edges`` (open at both ends), then the missing share."""
    finite = np.isfinite(values)
    index = np.searchsorted(inner_edges, values[finite], side="right")
    counts = np.bincount(index, minlength=len(inner_edges) + 1).astype(float)
    counts = np.append(counts, float((~finite).sum()))
    return list(counts / max(len(values), 1))


def _display_histogram(ref: np.ndarray, cur: np.ndarray) -> dict[str, list[Any]]:
    both = np.concatenate([ref, cur])
    if len(both) == 0:
        return {}
    low, high = float(both.min()), float(both.max())
    if low == high:
        low, high = low - 0.5, high + 0.5
    edges = np.linspace(low, high, _DISPLAY_BINS + 1)
    shares = [list(np.histogram(v, bins=edges)[0] / max(len(v), 1)) for v in (ref, cur)]
    return {"edges": [float(e) for e in edges], "reference": [float(s) for s in shares[0]],
            "current": [float(s) for s in shares[1]]}


def _categorical_drift(reference: pd.Series, current: pd.Series) -> _Result:
    from scipy import stats

    ref, cur = _labels(reference), _labels(current)
    ref_counts, cur_counts = ref.value_counts(), cur.value_counts()
    kept = [k for k in ref_counts.index[:TOP_CATEGORIES] if k != MISSING]
    if MISSING in ref_counts.index or MISSING in cur_counts.index:
        kept.append(MISSING)
    labels = kept + [OTHER]
    table = np.array([_counts_over(counts, kept) for counts in (ref_counts, cur_counts)], dtype=float)
    shares = table / np.clip(table.sum(axis=1, keepdims=True), 1, None)
    psi_value = psi(shares[0], shares[1])
    used = table.sum(axis=0) > 0
    statistic: float | None = 0.0
    p_value: float | None = 1.0
    if used.sum() >= 2:
        chi2, p, _, _ = stats.chi2_contingency(table[:, used], correction=False)
        statistic, p_value = _finite(chi2), _finite(p)
    keep = [i for i, label in enumerate(labels) if label != OTHER or table[:, i].sum() > 0]
    distribution = {"labels": [labels[i] for i in keep], "reference": [float(shares[0, i]) for i in keep],
                    "current": [float(shares[1, i]) for i in keep]}
    return psi_value, "chi2", statistic, p_value, distribution


def _missing_p_value(reference: pd.Series, current: pd.Series) -> float | None:
    from scipy import stats

    table = np.array([[values.isna().sum(), values.notna().sum()] for values in (reference, current)], dtype=float)
    if table[:, 0].sum() == 0 or table[:, 1].sum() == 0:
        return None
    return _finite(stats.chi2_contingency(table, correction=False)[1])


def _counts_over(counts: pd.Series, kept: list[str]) -> list[float]:
    inside = [float(counts.get(k, 0)) for k in kept]
    return inside + [float(counts.sum()) - sum(inside)]


# -- helpers ----------------------------------------------------------------------------------
def _kind(reference: pd.Series, current: pd.Series) -> Kind | None:
    kind = _COMPARED.get(infer_column_type(reference))
    if kind is None and infer_column_type(current) is ColumnType.CATEGORICAL:
        kind = "categorical"  # e.g. a constant in the reference that now varies
    if kind == "numeric" and not (is_numeric(reference) and is_numeric(current)):
        kind = "categorical"
    return kind


def _family(values: pd.Series) -> str:
    """The broad kind of values a column holds: what a model's input schema cares about."""
    if ptypes.is_bool_dtype(values):
        return "boolean"
    if ptypes.is_numeric_dtype(values):
        return "number"
    if ptypes.is_datetime64_any_dtype(values):
        return "date"
    if values.notna().sum() == 0:
        return "empty"
    return "text"


def _numbers(values: pd.Series) -> np.ndarray:
    array: np.ndarray = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    return array


def _labels(values: pd.Series) -> pd.Series:
    if is_numeric(values):  # 1 and 1.0 are one category, whatever the dtype
        values = pd.Series(_numbers(values), index=values.index)
    return values.astype(object).where(values.notna(), MISSING).astype(str)


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None
