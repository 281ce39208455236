import { useApi } from "../useApi";
import type { Json } from "../types";
import { listOf, versionsOf } from "../listOf";
import { DataView } from "../components/DataView";
import { ErrorLine } from "../components/ErrorLine";
import { CompareForm } from "../components/CompareForm";

/** Every registered model with its versions and aliases. */
export function ModelsPage() {
  const models = useApi<Json>("/api/models");
  const rows = listOf(models.data);
  return (
    <div className="page">
      <h1>Models</h1>
      <ErrorLine error={models.error} />
      {models.data !== null && rows.length === 0 && <p className="empty">No model is registered yet: run a pipeline from the designer.</p>}
      {rows.map((m) => {
        const name = String(m.name ?? "");
        return (
          <section key={name} className="card" aria-label={`model ${name}`}>
            <h2>{name}</h2>
            {m.aliases != null && (
              <p>
                aliases: <DataView value={m.aliases} />
              </p>
            )}
            <p>
              versions:{" "}
              {versionsOf(m).map((v) => (
                <a key={v} className="chip" href={`#/models/${encodeURIComponent(name)}/versions/${encodeURIComponent(v)}`}>
                  v{v}
                </a>
              ))}
            </p>
            <CompareForm name={name} versions={versionsOf(m)} />
          </section>
        );
      })}
    </div>
  );
}
