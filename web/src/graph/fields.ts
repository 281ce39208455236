import type { JsonSchema } from "../types";

/** The spec fields each pipeline node owns (see docs/spec.md), for its form. Steps and notifiers take theirs from the catalog. */
export const NODE_FIELDS: Readonly<Record<string, Record<string, JsonSchema>>> = {
  source: {
    name: { type: "string", description: "the pipeline's name (the registered model's, unless register says otherwise)" },
    source: { description: "a file path, or a mapping with the source's kind and options" },
    target: { type: "string", description: "the column to predict" },
    task: { enum: ["auto", "binary", "multiclass", "regression", "forecast"], description: "what kind of prediction; auto guesses from the target" },
    forecast: { description: "a forecast task's series, e.g. {\"time_column\": \"ds\", \"horizon\": 14}" },
  },
  split: {
    test_size: { type: "number", description: "fraction of rows held out", default: 0.2 },
    seed: { type: "integer", default: 42 },
    time_column: { type: "string", description: "hold out the latest rows by this column" },
    cv_folds: { description: "cross-validation folds: a number, or \"auto\"" },
    refit: { type: "boolean", description: "refit the winner on train + test rows before registering", default: true },
  },
  competition: {
    metric: { type: "string", description: "the score the models compete on" },
    budget: { description: "e.g. {\"seconds\": 60} or {\"trials\": 20}" },
    seed: { type: "integer", default: 42 },
    ensemble: { type: "boolean", description: "also try a weighted ensemble of the best trials", default: true },
    n_jobs: { type: "integer" },
    constraints: { description: "e.g. {\"max_predict_ms\": 5, \"compiled\": true}" },
    device: { enum: ["auto", "cpu", "cuda"], description: "where trials fit: auto takes a GPU when PyTorch sees one" },
  },
  gate: { min_score: { type: "number", description: "the metric value the winner must reach" } },
  register: {
    register: { description: "e.g. {\"model\": \"churn\", \"alias\": \"champion\"}" },
    promotion: { description: "the promotion policy, e.g. {\"approval\": \"manual\"}" },
  },
  notify: { notifiers: { description: "e.g. [\"log\"] or [{\"kind\": \"webhook\", \"url\": \"...\"}]" } },
  candidate: {},
};
