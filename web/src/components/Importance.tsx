import { useState } from "react";
import { errorText } from "../api";
import { call, client, type Schemas } from "../client";
import { formatNumber } from "./DataView";
import { ErrorLine } from "./ErrorLine";

/** Global feature importance of a version (permutation on its holdout), computed on demand by the server. */
export function ImportancePanel({ name, version }: { name: string; version: number }) {
  const [found, setFound] = useState<Schemas["Importance"] | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const compute = () => {
    setBusy(true);
    setError(null);
    call(client.GET("/api/models/{name}/versions/{version}/importance", { params: { path: { name, version } } }))
      .then(setFound, (e: unknown) => setError(errorText(e)))
      .finally(() => setBusy(false));
  };
  const top = Math.max(1e-12, ...(found?.columns.map((c) => Math.abs(c.importance)) ?? [0]));
  return (
    <section aria-label="Feature importance">
      <h2>Feature importance</h2>
      {!found && (
        <button type="button" onClick={compute} disabled={busy}>
          {busy ? "Computing…" : "Compute feature importance"}
        </button>
      )}
      <ErrorLine error={error} />
      {found && (
        <>
          <p className="muted">
            The drop of {found.metric ?? "the metric"} ({formatNumber(found.value)} on {found.rows} holdout rows) when each column is shuffled, averaged over {found.repeats} shuffles.
          </p>
          <table aria-label="Feature importance" className="importance">
            <tbody>
              {found.columns.map((c) => (
                <tr key={c.column}>
                  <th scope="row">{c.column}</th>
                  <td className="bar-cell">
                    <span className={`bar${c.importance < 0 ? " negative" : ""}`} style={{ width: `${Math.round((100 * Math.abs(c.importance)) / top)}%` }} />
                  </td>
                  <td>
                    {formatNumber(c.importance)} <small className="muted">± {formatNumber(c.std)}</small>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {found.notes.map((n) => (
            <p key={n} className="muted">
              {n}
            </p>
          ))}
        </>
      )}
    </section>
  );
}
