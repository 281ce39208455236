import { Fragment, useState } from "react";
import { errorText } from "../api";
import { call, client, type Schemas } from "../client";
import { useCall } from "../useCall";
import { ErrorLine } from "../components/ErrorLine";
import { UseIt } from "../components/UseIt";

function models(e: Schemas["Endpoint"]): string {
  return e.models.map((m) => `${String(m.ref)} → v${String(m.version)}`).join(", ");
}

/** The running model services: each registers itself in the registry and keeps a heartbeat; the console asks each how it is. */
export function EndpointsPage() {
  const endpoints = useCall("endpoints", () => call(client.GET("/api/endpoints")));
  const [error, setError] = useState<string | null>(null);
  const rows = endpoints.data ?? [];
  const forget = (id: string) =>
    call(client.DELETE("/api/endpoints/{service_id}", { params: { path: { service_id: id } } })).then(endpoints.reload, (e: unknown) =>
      setError(errorText(e)),
    );
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
              const id = e.id;
              const status = e.status;
              const health = e.health;
              return (
                <Fragment key={id}>
                <tr>
                  <td>
                    <a href={e.url} target="_blank" rel="noreferrer">
                      {e.url}
                    </a>{" "}
                    <a href={e.docs_url} target="_blank" rel="noreferrer" className="chip">
                      docs
                    </a>
                  </td>
                  <td>{models(e)}</td>
                  <td>
                    <span className={`badge status-${status.replace(/\s+/g, "-")}`} title={health.reason ? String(health.reason) : undefined} data-testid={`endpoint-status-${id}`}>
                      {status}
                    </span>
                  </td>
                  <td>{e.auth_type}</td>
                  <td>{e.workers}</td>
                  <td>{e.started_at}</td>
                  <td>
                    {e.heartbeat_at} <small className="muted">({e.silent_seconds} s ago)</small>
                  </td>
                  <td>
                    {!e.alive && (
                      <button type="button" onClick={() => void forget(id)}>
                        Forget
                      </button>
                    )}
                  </td>
                </tr>
                <tr className="use-it-row">
                  <td colSpan={8}>
                    <details>
                      <summary>Use it: try it, curl and Python</summary>
                      {e.models.map((m) => (
                        <UseIt key={String(m.name)} serviceId={e.id} url={e.url} model={String(m.name)} version={Number(m.version)} auth={e.auth} />
                      ))}
                    </details>
                  </td>
                </tr>
                </Fragment>
              );
            })}
          </tbody>
        </table>
      )}
    </div>
  );
}
