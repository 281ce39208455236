"""The data report: one self-contained HTML file with a profile and, optionally, its drift.

Charts are inline SVG drawn here and the style is inline CSS: the file opens anywhere with
no network and no script. Numeric columns get a histogram (the reference drawn behind the
current data when a drift report is given), categorical ones a bar chart of their top
categories; the drift table puts flagged columns first, highlighted.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from podium.data.drift import ColumnDrift, DriftReport

__all__ = ["render_report"]

_CURRENT = "#2563eb"
_REFERENCE = "#9ca3af"
_FLAG = "#dc2626"
_WIDTH = 460
_HEIGHT = 150
_MAX_BARS = 20


def render_report(profile: Mapping[str, Any], drift: DriftReport | Mapping[str, Any] | None, *,
                  title: str, subtitle: str | None = None) -> str:
    """One HTML page: summary, drift table (when ``drift`` is given), target balance, columns."""
    if drift is not None and not isinstance(drift, DriftReport):
        drift = DriftReport.from_dict(drift)
    columns: Mapping[str, Mapping[str, Any]] = profile.get("columns") or {}
    anchors = {name: f"col-{i}" for i, name in enumerate(columns)}
    body = [
        f"<header><h1>{_e(title)}</h1>",
        f"<p class='muted'>{_e(subtitle)}</p>" if subtitle else "",
        f"<p class='muted'>generated {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC by podium</p></header>",
        _summary(profile, drift),
    ]
    if drift is not None:
        body.append(_drift_section(drift, anchors))
    if profile.get("target"):
        body.append(_target_section(profile["target"]))
    body.append("<section><h2>Columns</h2><div class='grid'>")
    for name, column in columns.items():
        compared = drift.columns.get(name) if drift is not None else None
        body.append(_column_card(name, column, compared, anchors[name], drift))
    body.append("</div></section>")
    return _PAGE.format(title=_e(title), style=_STYLE, body="\n".join(b for b in body if b))


# -- sections ---------------------------------------------------------------------------------
def _summary(profile: Mapping[str, Any], drift: DriftReport | None) -> str:
    columns = profile.get("columns") or {}
    rows = int(profile.get("rows") or 0)
    missing = sum(int(c.get("missing") or 0) for c in columns.values())
    cells = rows * len(columns)
    tiles = [("rows", _fmt(rows)), ("columns", _fmt(len(columns))),
             ("missing cells", f"{100 * missing / cells:.1f} %" if cells else "—")]
    verdict = ""
    if drift is not None:
        flagged = len(drift.drifted_columns)
        tiles.append(("drifted columns", f"{flagged} / {len(drift.columns)}"))
        against = f" against {_e(drift.reference)}" if drift.reference else ""
        css = "bad" if drift.drifted else "good"
        word = "Drift detected" if drift.drifted else "No drift"
        verdict = f"<p class='verdict {css}'><b>{word}</b>{against}: {_e(drift.message)}.</p>"
    shown = "".join(f"<div class='tile'><div class='big'>{value}</div><div class='muted'>{_e(label)}</div></div>"
                    for label, value in tiles)
    return f"<section class='summary'><div class='tiles'>{shown}</div>{verdict}</section>"


def _drift_section(drift: DriftReport, anchors: Mapping[str, str]) -> str:
    parts = ["<section><h2>Drift</h2>",
             f"<p class='muted'>Reference: {_e(drift.reference or 'the previous data')} "
             f"({_fmt(drift.reference_rows)} rows) · current: {_fmt(drift.current_rows)} rows · "
             f"a column is flagged when PSI ≥ {drift.psi_threshold:g} and p &lt; {drift.p_threshold:g}.</p>"]
    changes = [f"column <b>{_e(c)}</b> added" for c in drift.added_columns]
    changes += [f"column <b>{_e(c)}</b> removed" for c in drift.removed_columns]
    changes += [f"column <b>{_e(c['column'])}</b> changed from {_e(c['reference'])} to {_e(c['current'])}"
                for c in drift.type_changes]
    if changes:
        parts.append("<div class='schema'><b>Schema changes</b><ul>"
                     + "".join(f"<li>{c}</li>" for c in changes) + "</ul></div>")
    ordered = sorted(drift.columns.values(), key=lambda c: (not c.drifted, -c.psi))
    rows = []
    for c in ordered:
        link = f"<a href='#{anchors[c.column]}'>{_e(c.column)}</a>" if c.column in anchors else _e(c.column)
        flag = "<span class='flag'>drifted</span>" if c.drifted else "ok"
        rows.append(f"<tr class='{'flagged' if c.drifted else ''}'><td>{link}</td><td>{c.kind}</td>"
                    f"<td class='num'>{_fmt(c.psi)}</td><td>{c.test}</td><td class='num'>{_fmt(c.statistic)}</td>"
                    f"<td class='num'>{_pvalue(c.p_value)}</td><td>{flag}</td></tr>")
    if rows:
        parts.append("<table class='drift'><thead><tr><th>column</th><th>kind</th><th>PSI</th><th>test</th>"
                     "<th>statistic</th><th>p-value</th><th></th></tr></thead><tbody>"
                     + "".join(rows) + "</tbody></table>")
    if drift.skipped:
        shown = ", ".join(f"{_e(k)} ({_e(v)})" for k, v in drift.skipped.items())
        parts.append(f"<p class='muted'>Not compared: {shown}.</p>")
    parts.append("</section>")
    return "".join(parts)


def _target_section(target: Mapping[str, Any]) -> str:
    name = _e(target.get("column", "target"))
    if target.get("kind") == "classes":
        shares = target.get("shares") or {}
        counts = target.get("counts") or {}
        labels = list(shares)[:_MAX_BARS]
        chart = _bars_svg(labels, [[float(shares[k]) for k in labels]], [_CURRENT],
                          [f"{_fmt(counts.get(k))} rows, {100 * float(shares[k]):.1f} %" for k in labels],
                          percent=True)
        detail = f"{len(shares)} classes"
    else:
        chart, detail = "", _stats_table(target)
    missing = int(target.get("missing") or 0)
    note = f" · {_fmt(missing)} rows without a target" if missing else ""
    return (f"<section><h2>Target: {name}</h2><p class='muted'>{detail if chart else ''}{note}</p>"
            f"{chart or detail}</section>")


def _column_card(name: str, column: Mapping[str, Any], compared: ColumnDrift | None, anchor: str,
                 drift: DriftReport | None) -> str:
    css = "card flagged" if compared is not None and compared.drifted else "card"
    badge = f"<span class='badge'>{_e(column.get('type', '?'))}</span>"
    flag = ""
    if compared is not None:
        flag = (f"<span class='flag'>drifted · PSI {_fmt(compared.psi)}</span>" if compared.drifted
                else f"<span class='muted'>PSI {_fmt(compared.psi)}</span>")
    facts = [("missing", f"{_fmt(column.get('missing'))} ({_fmt(column.get('missing_pct'))} %)"),
             ("distinct", _fmt(column.get("distinct"))), ("dtype", _e(column.get("dtype", "")))]
    for key in ("min", "max", "mean", "std"):
        if key in column:
            facts.append((key, _fmt(column[key])))
    for key, value in (column.get("quantiles") or {}).items():
        facts.append((key, _fmt(value)))
    table = "".join(f"<tr><th>{_e(k)}</th><td class='num'>{v}</td></tr>" for k, v in facts)
    chart = _column_chart(column, compared, drift)
    return (f"<article class='{css}' id='{anchor}'><h3>{_e(name)} {badge} {flag}</h3>"
            f"<div class='cols'><table class='facts'>{table}</table><div>{chart}</div></div></article>")


def _column_chart(column: Mapping[str, Any], compared: ColumnDrift | None, drift: DriftReport | None) -> str:
    dist = compared.distribution if compared is not None else {}
    reference = f"reference ({drift.reference})" if drift is not None and drift.reference else "reference"
    legend = _legend([("current", _CURRENT), (reference, _REFERENCE)])
    if dist.get("edges"):
        shares = [dist["reference"], dist["current"]]
        return legend + _histogram_svg(dist["edges"], shares, [_REFERENCE, _CURRENT], percent=True)
    if dist.get("labels"):
        labels = dist["labels"][:_MAX_BARS]
        series = [dist["current"][:_MAX_BARS], dist["reference"][:_MAX_BARS]]
        tips = [f"current {100 * c:.1f} %, reference {100 * r:.1f} %" for c, r in zip(*series)]
        return legend + _bars_svg(labels, series, [_CURRENT, _REFERENCE], tips, percent=True)
    hist = column.get("histogram") or {}
    if hist.get("counts"):
        return _histogram_svg(hist["edges"], [hist["counts"]], [_CURRENT])
    top = column.get("top") or []
    if top:
        labels = [t["value"] for t in top] + (["(other)"] if column.get("other") else [])
        counts = [float(t["count"]) for t in top] + ([float(column["other"])] if column.get("other") else [])
        return _bars_svg(labels, [counts], [_CURRENT], [f"{_fmt(int(c))} rows" for c in counts])
    return ""


def _stats_table(values: Mapping[str, Any]) -> str:
    facts = [(k, values.get(k)) for k in ("min", "max", "mean", "std") if k in values]
    facts += list((values.get("quantiles") or {}).items())
    return ("<table class='facts'>" + "".join(f"<tr><th>{_e(k)}</th><td class='num'>{_fmt(v)}</td></tr>"
                                              for k, v in facts) + "</table>")


# -- charts -----------------------------------------------------------------------------------
def _histogram_svg(edges: Sequence[float], series: Sequence[Sequence[float]], colors: Sequence[str], *,
                   percent: bool = False) -> str:
    """Bars over ``edges``; later series are drawn over earlier ones, half transparent."""
    left, bottom, top = 44, 20, 8
    plot_w, plot_h = _WIDTH - left - 8, _HEIGHT - bottom - top
    peak = max((float(v) for s in series for v in s), default=0.0) or 1.0
    n = max(len(edges) - 1, 1)
    width = plot_w / n
    shapes = []
    for index, (values, color) in enumerate(zip(series, colors)):
        opacity = 0.9 if index == 0 else 0.6
        for i, value in enumerate(values):
            h = plot_h * float(value) / peak
            label = f"{_fmt(edges[i])} – {_fmt(edges[i + 1])}: " + (
                f"{100 * float(value):.1f} %" if percent else f"{_fmt(int(value))} rows")
            shapes.append(f"<rect x='{left + i * width + 0.5:.1f}' y='{top + plot_h - h:.1f}' "
                          f"width='{max(width - 1, 0.5):.1f}' height='{h:.1f}' fill='{color}' "
                          f"fill-opacity='{opacity}'><title>{_e(label)}</title></rect>")
    peak_label = f"{100 * peak:.0f} %" if percent else _fmt(int(peak))
    axis = (f"<line x1='{left}' y1='{top + plot_h}' x2='{left + plot_w}' y2='{top + plot_h}' stroke='#6b7280'/>"
            f"<text x='{left - 4}' y='{top + 8}' text-anchor='end'>{_e(peak_label)}</text>"
            f"<text x='{left - 4}' y='{top + plot_h}' text-anchor='end'>0</text>"
            f"<text x='{left}' y='{_HEIGHT - 4}'>{_e(_fmt(edges[0]))}</text>"
            f"<text x='{left + plot_w}' y='{_HEIGHT - 4}' text-anchor='end'>{_e(_fmt(edges[-1]))}</text>")
    return _svg(_HEIGHT, axis + "".join(shapes))


def _bars_svg(labels: Sequence[str], series: Sequence[Sequence[float]], colors: Sequence[str],
              tips: Sequence[str], *, percent: bool = False) -> str:
    """Horizontal bars, one row a label; a second series is drawn as a thin bar below."""
    row, left, right = 20, 130, 60
    plot_w = _WIDTH - left - right
    peak = max((float(v) for s in series for v in s), default=0.0) or 1.0
    height = row * len(labels) + 6
    shapes = []
    for i, label in enumerate(labels):
        y = 3 + i * row
        shown = label if len(label) <= 20 else label[:19] + "…"
        shapes.append(f"<text x='{left - 6}' y='{y + 12}' text-anchor='end'>{_e(shown)}</text>")
        for index, (values, color) in enumerate(zip(series, colors)):
            value = float(values[i])
            w = plot_w * value / peak
            y_bar, h = (y + 1, 11) if index == 0 else (y + 13, 4)
            shapes.append(f"<rect x='{left}' y='{y_bar}' width='{w:.1f}' height='{h}' fill='{color}'>"
                          f"<title>{_e(label)}: {_e(tips[i])}</title></rect>")
        first = float(series[0][i])
        text = f"{100 * first:.1f} %" if percent else _fmt(int(first))
        shapes.append(f"<text x='{left + plot_w * first / peak + 4:.1f}' y='{y + 11}'>{_e(text)}</text>")
    return _svg(height, "".join(shapes))


def _svg(height: int, content: str) -> str:
    # no xmlns: inline SVG in HTML needs none, and the page carries no URL at all
    return (f"<svg width='{_WIDTH}' height='{height}' viewBox='0 0 {_WIDTH} {height}' role='img'>"
            f"{content}</svg>")


def _legend(items: Sequence[tuple[str, str]]) -> str:
    return "<div class='legend'>" + "".join(
        f"<span><i style='background:{color}'></i>{_e(label)}</span>" for label, color in items) + "</div>"


# -- formatting -------------------------------------------------------------------------------
def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _fmt(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        if not math.isfinite(value):
            return "—"
        if value == int(value) and abs(value) < 1e15:
            return f"{int(value):,}"
        return f"{value:.4g}"
    return _e(value)


def _pvalue(value: float | None) -> str:
    if value is None:
        return "—"
    return "&lt; 1e-4" if value < 1e-4 else f"{value:.4f}"


_STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:#111827;margin:0;background:#f9fafb}
header,section{max-width:1100px;margin:0 auto;padding:12px 24px}
h1{margin:16px 0 4px;font-size:24px}h2{font-size:18px;margin:18px 0 8px}h3{font-size:15px;margin:0 0 8px}
.muted{color:#6b7280}.tiles{display:flex;gap:12px;flex-wrap:wrap}
.tile{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:10px 16px;min-width:120px}
.big{font-size:22px;font-weight:600}.verdict{padding:8px 12px;border-radius:6px}
.verdict.bad{background:#fef2f2;border:1px solid #fecaca}.verdict.good{background:#f0fdf4;border:1px solid #bbf7d0}
table{border-collapse:collapse;background:#fff}
th,td{padding:4px 10px;border-bottom:1px solid #e5e7eb;text-align:left}
td.num{text-align:right;font-variant-numeric:tabular-nums}
table.drift{width:100%}tr.flagged td{background:#fef2f2}
tr.flagged td:first-child{border-left:3px solid #dc2626}
.flag{color:#dc2626;font-weight:600}
.badge{font-size:11px;background:#eef2ff;color:#3730a3;border-radius:4px;padding:1px 6px}
.schema{background:#fffbeb;border:1px solid #fde68a;border-radius:6px;padding:8px 12px;margin-bottom:10px}
.grid{display:grid;grid-template-columns:1fr;gap:12px}
.card{background:#fff;border:1px solid #e5e7eb;border-radius:8px;padding:12px 16px}
.card.flagged{border-color:#dc2626;box-shadow:0 0 0 1px #dc2626}
.cols{display:flex;gap:16px;flex-wrap:wrap;align-items:flex-start}.facts th{font-weight:500;color:#6b7280}
.facts td,.facts th{padding:2px 8px;font-size:13px}
svg text{font-size:11px;fill:#374151}.legend{font-size:12px;color:#374151;margin-bottom:4px}
.legend span{margin-right:12px}
.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
a{color:#1d4ed8}
"""

_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
{body}
</body></html>
"""
