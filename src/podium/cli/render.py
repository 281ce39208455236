"""Tables and panels: leaderboards, column types, models and runs."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from rich.table import Table


def _num(value: Any, digits: int = 4) -> str:
    if value is None:
        return "—"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, (list, tuple)):
        return ", ".join(map(str, value))
    if isinstance(value, dict):
        return json.dumps(value, default=str)
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) >= 1e4 else f"{value:.{digits}f}"
    return str(value)


def _size(n: int | None) -> str:
    if n is None:
        return "—"
    return f"{n / 1e6:.1f} MB" if n >= 1e5 else f"{n / 1e3:.0f} kB"


def leaderboard_table(rows: list[dict[str, Any]], metric: str, *, limit: int = 15,
                      per_family: bool = True) -> Table:
    """The ranked trials; with ``per_family`` only each family's best (and its failures)."""
    total = len(rows)
    if per_family:
        seen: set[tuple[str, str]] = set()
        kept = []
        for r in rows:
            key = (r["candidate"], r["status"] if r["status"] != "ok" else "ok")
            if key not in seen:
                seen.add(key)
                kept.append(r)
        rows = kept
    title = f"Leaderboard ({metric} on the holdout" + (", best of each family)" if per_family else ")")
    table = Table(title=title, title_justify="left")
    nodes = any(r.get("node") for r in rows)  # trials ran on Ray: say where
    columns = [("#", "right"), ("candidate", "left"), (metric, "right"), ("fit s", "right"),
               ("predict ms/1k", "right"), ("size", "right"), ("compiled", "left"), ("device", "left"),
               ("status", "left")]
    for name, justify in columns + ([("node", "left")] if nodes else []):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    ok = [r for r in rows if r["status"] == "ok"]
    shown = ok[:limit] + [r for r in rows if r["status"] != "ok"][: max(0, limit - len(ok[:limit])) + 5]
    for r in shown:
        status = "[green]ok[/]" if r["status"] == "ok" else f"[red]{r['status']}[/] {r.get('error') or ''}"
        style = "bold" if r.get("rank") == 1 else None
        cells = [_num(r.get("rank")), r["candidate"], _num(r["score"]), _num(r["fit_seconds"], 2),
                 _num(r["predict_ms_per_1000"], 2), _size(r["size_bytes"]), _compiled(r), r.get("device") or "—",
                 status]
        table.add_row(*cells, *([(r.get("node") or "—")[:8]] if nodes else []), style=style)
    hidden = total - len(shown)
    if hidden > 0:
        table.caption = f"{total} trials in all: podium runs show RUN_ID --all"
    return table


def _compiled(row: dict[str, Any]) -> str:
    """yes / no for a trial; for the champion, the engine it ships on and why not compiled."""
    if row.get("engine") == "sklearn":
        return f"[yellow]no[/]: {row.get('engine_reason') or 'scikit-learn engine'}"
    if row.get("engine") == "onnx":
        return "[green]yes[/] (served)"
    compiled = row.get("compiled")
    return "—" if compiled is None else "yes" if compiled else "no"


def columns_table(columns: dict[str, str], target: str, task: str) -> Table:
    table = Table(title=f"Columns (target '{target}', task {task})", title_justify="left")
    table.add_column("column")
    table.add_column("type")
    for name, kind in columns.items():
        table.add_row(name, kind)
    return table


def records_table(title: str, records: list[dict[str, Any]], columns: list[str]) -> Table:
    """Records as rows; lists, mappings, dates and numbers written for a person."""
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for rec in records:
        table.add_row(*[_num(rec.get(c)) if not isinstance(rec.get(c), str) else rec[c] for c in columns])
    return table
