import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** Every saved pipeline (its latest version) and every bound one, with the dataset and schedule that run it. */
export function PipelinesPage() {
  const pipelines = useApi<JsonObject[]>("/api/pipelines");
  const rows = (pipelines.data ?? []).map((p) => {
    const b = p.binding && typeof p.binding === "object" && !Array.isArray(p.binding) ? p.binding : null;
    return {
      name: p.name ?? null,
      latest: p.latest ?? null,
      saved_at: p.saved_at ?? null,
      dataset: b?.dataset ?? null,
      schedule: b?.schedule ?? null,
      bound_version: b?.version ?? null,
    };
  });
  return (
    <div className="page">
      <h1>Pipelines</h1>
      <ErrorLine error={pipelines.error} />
      {pipelines.data !== null && rows.length === 0 ? (
        <p className="empty">
          No pipeline saved yet: design one and press <em>Save</em> in the <a href="#/designer">designer</a>.
        </p>
      ) : (
        <Table rows={rows} label="Pipelines" link={(r) => `#/pipelines/${encodeURIComponent(String(r.name))}`} />
      )}
    </div>
  );
}
