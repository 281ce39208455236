"""Why did the champion change: two model versions compared — spec, data, leaderboard, gate."""

from __future__ import annotations

from typing import Any

__all__ = ["flat_diff", "model_diff"]


def flat_diff(a: Any, b: Any, path: str = "") -> list[dict[str, Any]]:
    """Every leaf that differs between two JSON values: ``{"path", "a", "b"}`` (absent: None)."""
    if isinstance(a, dict) and isinstance(b, dict):
        changes: list[dict[str, Any]] = []
        for key in list(a) + [k for k in b if k not in a]:
            changes += flat_diff(a.get(key), b.get(key), f"{path}.{key}" if path else str(key))
        return changes
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [c for i, (x, y) in enumerate(zip(a, b)) for c in flat_diff(x, y, f"{path}[{i}]")]
    return [] if a == b else [{"path": path, "a": a, "b": b}]


def _spec(described: dict[str, Any]) -> dict[str, Any]:
    spec = dict((described.get("lineage") or {}).get("spec") or {})
    spec.pop("layout", None)
    return spec


def _best_per_family(board: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    best: dict[str, dict[str, Any]] = {}
    for row in board or []:
        family = str(row.get("candidate"))
        if family not in best:  # the leaderboard is ranked: the first row of a family is its best
            best[family] = row
    return best


def model_diff(a: dict[str, Any], b: dict[str, Any], *, datasets: dict[str, Any] | None = None,
               gates: tuple[dict[str, Any], dict[str, Any]] = ({}, {})) -> dict[str, Any]:
    """The differences between two described versions (``ModelPackage.describe()``).

    ``datasets`` is the dataset-version diff when both versions learned from dataset versions;
    ``gates`` the gate decisions of the runs that made them.
    """
    la, lb = a.get("lineage") or {}, b.get("lineage") or {}
    board_a, board_b = _best_per_family(a.get("leaderboard") or []), _best_per_family(b.get("leaderboard") or [])
    families = list(board_a) + [f for f in board_b if f not in board_a]
    leaderboard = [{"candidate": f, "a": (board_a.get(f) or {}).get("value", (board_a.get(f) or {}).get("score")),
                    "b": (board_b.get(f) or {}).get("value", (board_b.get(f) or {}).get("score"))}
                   for f in families]
    return {
        "spec": flat_diff(_spec(a), _spec(b)),
        "data": {"a": {k: la.get(k) for k in ("source", "rows", "dataset_fingerprint")},
                 "b": {k: lb.get(k) for k in ("source", "rows", "dataset_fingerprint")},
                 "same": la.get("dataset_fingerprint") == lb.get("dataset_fingerprint"),
                 "datasets": datasets},
        "winner": {"a": la.get("winner"), "b": lb.get("winner")},
        "metric": {"name": b.get("metric"), "a": a.get("score"), "b": b.get("score")},
        "metrics": flat_diff(a.get("metrics") or {}, b.get("metrics") or {}),
        "leaderboard": leaderboard,
        "gate": {"a": gates[0], "b": gates[1], "changes": flat_diff(gates[0], gates[1])},
    }
