import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { DataView } from "../components/DataView";
import { ErrorLine } from "../components/ErrorLine";

const SECTIONS: [string, string][] = [
  ["spec", "Spec (layout ignored)"],
  ["data", "Data"],
  ["winner", "Winner"],
  ["metrics", "Metrics"],
  ["leaderboard", "Leaderboard"],
  ["gate", "Gate"],
];

/** Why did the champion change? Two versions' spec, data, leaderboard and gate side by side. */
export function DiffPage({ name, a, b }: { name: string; a: string; b: string }) {
  const diff = useApi<JsonObject>(`/api/models/${encodeURIComponent(name)}/diff?a=${encodeURIComponent(a)}&b=${encodeURIComponent(b)}`);
  const d = diff.data;
  return (
    <div className="page">
      <h1>
        {name}: v{a} → v{b}
      </h1>
      <ErrorLine error={diff.error} />
      {d &&
        SECTIONS.filter(([key]) => key in d).map(([key, title]) => (
          <section key={key} aria-label={title}>
            <h2>{title}</h2>
            <DataView value={d[key]} />
          </section>
        ))}
    </div>
  );
}
