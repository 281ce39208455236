import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** Every run, newest first as the API lists them. */
export function RunsPage() {
  const runs = useApi<JsonObject[]>("/api/runs");
  return (
    <div className="page">
      <h1>Runs</h1>
      <ErrorLine error={runs.error} />
      {runs.data && (
        <Table rows={runs.data} label="Runs" columns={["id", "name", "status", "started_at", "source"]}
          link={(r) => (typeof r.id === "string" ? `#/runs/${encodeURIComponent(r.id)}` : null)} />
      )}
    </div>
  );
}
