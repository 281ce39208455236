import type { JsonObject } from "../types";
import { listOf } from "../listOf";
import { DataView } from "./DataView";
import { Table } from "./Table";

/** The pre-flight plan: a dry run on a sample of the real data, its warnings first. */
export function PreflightPanel({ plan, onClose }: { plan: JsonObject; onClose: () => void }) {
  const warnings = listOf(plan.warnings ?? []);
  const steps = listOf(plan.steps ?? []);
  return (
    <section className="preflight" aria-label="Pre-flight plan">
      <div className="row">
        <h3>Pre-flight plan</h3>
        <span className="spacer" />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {warnings.length === 0 ? (
        <p className="status">No warning.</p>
      ) : (
        <ul aria-label="Pre-flight warnings">
          {warnings.map((w, i) => (
            <li key={i} className="warning">
              <span className="badge">{String(w.kind ?? "warning")}</span> {String(w.message ?? "")}
            </li>
          ))}
        </ul>
      )}
      <p>
        task: <DataView value={plan.task} /> · estimated time: <DataView value={plan.estimated_seconds} /> s
      </p>
      {steps.length > 0 && <Table rows={steps} label="Pre-flight steps" />}
    </section>
  );
}
