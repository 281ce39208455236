import { describe, expect, it } from "vitest";
import { progressOf, scaler } from "./progress";

describe("progressOf", () => {
  it("follows each family and the best trial so far", () => {
    const p = progressOf([
      { type: "queued", name: "churn" },
      { type: "trial_started", candidate: "lightgbm", trial: 0 },
      { type: "trial_started", candidate: "knn", trial: 1 },
      { type: "trial_finished", candidate: "lightgbm", status: "ok", value: 0.8, best: { candidate: "lightgbm", value: 0.8 } },
      { type: "trial_finished", candidate: "knn", status: "failed", value: null, best: { candidate: "lightgbm", value: 0.8 } },
    ]);
    expect(p.families).toEqual({ lightgbm: "ok", knn: "failed" });
    expect(p.best).toEqual({ candidate: "lightgbm", value: 0.8 });
    expect(p.trials).toBe(2);
  });

  it("is empty before the first trial", () => {
    expect(progressOf([{ type: "queued" }])).toEqual({ families: {}, best: null, trials: 0 });
  });
});

describe("scaler", () => {
  it("maps the range onto the size, and equal values to the middle", () => {
    const s = scaler([2, 4, 6], 100);
    expect(s(2)).toBeCloseTo(0, 9);
    expect(s(4)).toBeCloseTo(50, 9);
    expect(s(6)).toBeCloseTo(100, 9);
    expect(scaler([3, 3], 80)(3)).toBe(40);
  });
});
