import { useState } from "react";
import { errorText, request } from "../api";
import { useApi } from "../useApi";
import type { Json, JsonObject } from "../types";
import { listOf } from "../listOf";
import { ErrorLine } from "../components/ErrorLine";

function models(e: JsonObject): string {
  const list = Array.isArray(e.models) ? e.models : [];
  return list
    .map((m) => (m && typeof m === "object" && !Array.isArray(m) ? `${String(m.ref)} → v${String(m.version)}` : String(m)))
    .join(", ");
}

/** The running model services: each registers itself in the registry and keeps a heartbeat; the console asks each how it is. */
export function EndpointsPage() {
  const endpoints = useApi<Json>("/api/endpoints");
  const [error, setError] = useState<string | null>(null);
  const rows = listOf(endpoints.data);
  const forget = (id: string) =>
    request("DELETE", `/api/endpoints/${encodeURIComponent(id)}`).then(endpoints.reload, (e: unknown) => setError(errorText(e)));
  return (
    <div className="page">
      <h1>Endpoints</h1>
      <div className="row">
        <button type="button" onClick={endpoints.reload}>
          Refresh
        </button>
      </div>
      <ErrorLine error={error ?? endpoints.error} />
      {endpoints.data !== null && rows.length === 0 ? (
        <p className="empty">
          No running service is known: start one with <code>podium serve MODEL@champion</code>; it shows here once its first worker has started.
        </p>
      ) : (
        <table aria-label="Endpoints">
          <thead>
            <tr>
              <th>URL</th>
              <th>models</th>
              <th>status</th>
              <th>auth</th>
              <th>workers</th>
              <th>started</th>
              <th>last heartbeat</th>
              <th />
            </tr>
          </thead>
          <tbody>
            {rows.map((e) => {
              const id = String(e.id);
              const status = String(e.status);
              const health = e.health && typeof e.health === "object" && !Array.isArray(e.health) ? e.health : {};
              return (
                <tr key={id}>
                  <td>
                    <a href={String(e.url)} target="_blank" rel="noreferrer">
                      {String(e.url)}
                    </a>{" "}
                    <a href={String(e.docs_url)} target="_blank" rel="noreferrer" className="chip">
                      docs
                    </a>
                  </td>
                  <td>{models(e)}</td>
                  <td>
                    <span className={`badge status-${status.replace(/\s+/g, "-")}`} title={health.reason ? String(health.reason) : undefined} data-testid={`endpoint-status-${id}`}>
                      {status}
                    </span>
                  </td>
                  <td>{String(e.auth_type)}</td>
                  <td>{String(e.workers)}</td>
                  <td>{String(e.started_at)}</td>
                  <td>
                    {String(e.heartbeat_at)} <small className="muted">({String(e.silent_seconds)} s ago)</small>
                  </td>
                  <td>
                    {e.alive === false && (
                      <button type="button" onClick={() => void forget(id)}>
                        Forget
                      </button>
                    )}
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
