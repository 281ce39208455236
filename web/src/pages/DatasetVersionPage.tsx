import { useApi } from "../useApi";
import type { Json, JsonObject } from "../types";
import { Table } from "../components/Table";
import { DataView } from "../components/DataView";
import { ErrorLine } from "../components/ErrorLine";

const COLUMNS = ["column", "kind", "drifted", "psi", "test", "statistic", "p_value"];

/** The drift block without its per-column part, and that part as table rows. */
function splitDrift(drift: Json | undefined): { summary: Json | undefined; rows: JsonObject[] } {
  if (!drift || typeof drift !== "object" || Array.isArray(drift)) return { summary: drift, rows: [] };
  const { columns, ...summary } = drift;
  const rows = columns && typeof columns === "object" && !Array.isArray(columns) ? Object.values(columns) : [];
  return { summary, rows: rows.filter((r): r is JsonObject => typeof r === "object" && r !== null && !Array.isArray(r)) };
}

/** One dataset version: the columns that drifted from the previous version, the drift, the profile. */
export function DatasetVersionPage({ name, version }: { name: string; version: string }) {
  const path = `/api/datasets/${encodeURIComponent(name)}/versions/${encodeURIComponent(version)}`;
  const info = useApi<JsonObject>(path);
  const d = info.data;
  const drifted = Array.isArray(d?.drifted_columns) ? d.drifted_columns.map(String) : [];
  return (
    <div className="page">
      <h1>
        {name} <span className="badge">v{version}</span>
      </h1>
      <ErrorLine error={info.error} />
      {d && (
        <>
          <p>
            <a href={`${path}/report`} target="_blank" rel="noreferrer">
              HTML report
            </a>
          </p>
          <section aria-label="Drift">
            <h2>Drift against the previous version</h2>
            <p role="status">{drifted.length === 0 ? "No column drifted." : `Drifted: ${drifted.join(", ")}`}</p>
            {(() => {
              const { summary, rows } = splitDrift(d.drift);
              return (
                <>
                  {rows.length > 0 && <Table rows={rows} columns={COLUMNS} label="Drift by column" />}
                  <DataView value={summary} />
                </>
              );
            })()}
          </section>
          <section aria-label="Profile">
            <h2>Profile</h2>
            <DataView value={d.profile} />
          </section>
        </>
      )}
    </div>
  );
}
