import { useApi } from "../useApi";
import type { Json } from "../types";
import { listOf } from "../listOf";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** The running model services. */
export function EndpointsPage() {
  const endpoints = useApi<Json>("/api/endpoints");
  const rows = listOf(endpoints.data);
  return (
    <div className="page">
      <h1>Endpoints</h1>
      <ErrorLine error={endpoints.error} />
      {endpoints.data !== null && rows.length === 0 ? (
        <p className="empty">
          No running service is known: start one with <code>podium serve MODEL@champion</code>.
        </p>
      ) : (
        <Table rows={rows} label="Endpoints" />
      )}
    </div>
  );
}
