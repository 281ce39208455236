import type { JsonObject } from "../types";
import { scaler } from "../progress";
import { formatNumber } from "./DataView";

const W = 480;
const H = 220;
const PAD = 48;

/** Score against fit time, one dot per finished trial (hover a dot for its model). */
export function ScoreChart({ rows, metric }: { rows: JsonObject[]; metric: string }) {
  const points = rows.flatMap((r) =>
    typeof r.score === "number" && typeof r.fit_seconds === "number"
      ? [{ x: r.fit_seconds, y: r.score, label: `${String(r.candidate ?? "")}: ${formatNumber(r.score)} in ${formatNumber(r.fit_seconds)} s` }]
      : [],
  );
  if (points.length === 0) return null;
  const sx = scaler(points.map((p) => p.x), W - 2 * PAD);
  const sy = scaler(points.map((p) => p.y), H - 2 * PAD);
  const xs = points.map((p) => p.x);
  const ys = points.map((p) => p.y);
  const ticks: [number, number, string, "start" | "end" | "middle"][] = [
    [PAD, H - PAD + 14, formatNumber(Math.min(...xs)), "start"],
    [W - PAD, H - PAD + 14, formatNumber(Math.max(...xs)), "end"],
    [PAD - 4, H - PAD, formatNumber(Math.min(...ys)), "end"],
    [PAD - 4, PAD + 4, formatNumber(Math.max(...ys)), "end"],
  ];
  return (
    <svg className="chart" width={W} height={H} role="img" aria-label={`${metric} against fit time`}>
      <line x1={PAD} y1={H - PAD} x2={W - PAD} y2={H - PAD} stroke="#9aa3b5" />
      <line x1={PAD} y1={PAD} x2={PAD} y2={H - PAD} stroke="#9aa3b5" />
      <text x={W / 2} y={H - 8} textAnchor="middle">
        fit seconds
      </text>
      <text x={10} y={H / 2} textAnchor="middle" transform={`rotate(-90 10 ${H / 2})`}>
        {metric}
      </text>
      {ticks.map(([x, y, label, anchor], i) => (
        <text key={`t${i}`} x={x} y={y} textAnchor={anchor}>
          {label}
        </text>
      ))}
      {points.map((p, i) => (
        <circle key={i} cx={PAD + sx(p.x)} cy={H - PAD - sy(p.y)} r={5} fill="#2456c9" fillOpacity={0.7}>
          <title>{p.label}</title>
        </circle>
      ))}
    </svg>
  );
}
