import type { JsonObject } from "./types";

export interface Progress {
  /** Each model family's latest state: running, or the status of its last finished trial. */
  families: Record<string, string>;
  /** The best trial so far, as the last event that named one says. */
  best: { candidate: string; value: number } | null;
  trials: number;
}

/** What a run's events say so far: per-family state, the best trial, trials finished. */
export function progressOf(events: readonly JsonObject[]): Progress {
  const families: Record<string, string> = {};
  let best: Progress["best"] = null;
  let trials = 0;
  for (const e of events) {
    const candidate = typeof e.candidate === "string" ? e.candidate : null;
    if (e.type === "trial_started" && candidate) families[candidate] = "running";
    if (e.type === "trial_finished" && candidate) {
      families[candidate] = typeof e.status === "string" ? e.status : "finished";
      trials += 1;
    }
    const b = e.best;
    if (b && typeof b === "object" && !Array.isArray(b) && typeof b.candidate === "string" && typeof b.value === "number") {
      best = { candidate: b.candidate, value: b.value };
    }
  }
  return { families, best, trials };
}

/** Maps [lo, hi] onto [0, size] (the middle when all values are equal). */
export function scaler(values: readonly number[], size: number): (v: number) => number {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  if (!Number.isFinite(lo) || hi === lo) return () => size / 2;
  return (v) => ((v - lo) / (hi - lo)) * size;
}
