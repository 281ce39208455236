import { call, client } from "../client";
import { useCall } from "../useCall";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** Every saved pipeline (its latest version) and every bound one, with the dataset and schedule that run it. */
export function PipelinesPage() {
  const pipelines = useCall("pipelines", () => call(client.GET("/api/pipelines")));
  const rows = (pipelines.data ?? []).map((p) => ({
    name: p.name,
    latest: p.latest,
    saved_at: p.saved_at,
    dataset: p.binding?.dataset ?? null,
    schedule: p.binding?.schedule ?? null,
    bound_version: p.binding?.version ?? null,
  }));
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
