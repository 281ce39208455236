import { useState } from "react";
import { errorText, post } from "../api";
import { useApi } from "../useApi";
import type { JsonObject } from "../types";
import { Confirm } from "../components/Confirm";
import { DataView } from "../components/DataView";
import { ErrorLine } from "../components/ErrorLine";
import { ImportancePanel } from "../components/Importance";

/** One model version: its metrics, schema and lineage; promote it to an alias or roll the alias back. */
export function ModelVersionPage({ name, version }: { name: string; version: string }) {
  const base = `/api/models/${encodeURIComponent(name)}`;
  const info = useApi<JsonObject>(`${base}/versions/${encodeURIComponent(version)}`);
  const [alias, setAlias] = useState("champion");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = (path: string, body: JsonObject, done: string) => {
    setError(null);
    post<JsonObject>(`${base}/${path}`, body).then(
      () => {
        setMessage(done);
        info.reload();
      },
      (e: unknown) => setError(errorText(e)),
    );
  };
  return (
    <div className="page">
      <h1>
        {name} <span className="badge">v{version}</span>
      </h1>
      <div className="row">
        <label>
          alias <input value={alias} onChange={(e) => setAlias(e.target.value)} aria-label="alias" />
        </label>
        <Confirm label="Promote…" question={`Point ${name}@${alias} at v${version}?`} onConfirm={() => act("promote", { version: Number(version), alias }, `${name}@${alias} is v${version}.`)} />
        <Confirm label="Roll back…" question={`Point ${name}@${alias} back at its previous version?`} onConfirm={() => act("rollback", { alias }, `${name}@${alias} rolled back.`)} />
      </div>
      <div className="row" aria-label="Deploy">
        <span>Deploy:</span>
        <a className="button" href={`${base}/versions/${encodeURIComponent(version)}/deploy?target=docker`} download>
          Docker context (.zip)
        </a>
        <a className="button" href={`${base}/versions/${encodeURIComponent(version)}/deploy?target=kubernetes`} download>
          Kubernetes manifests (.zip)
        </a>
      </div>
      {message && <p className="status" role="status">{message}</p>}
      <ErrorLine error={error ?? info.error} />
      {info.data && <ImportancePanel key={`${name}/${version}`} name={name} version={Number(version)} />}
      {info.data && <DataView value={info.data} />}
    </div>
  );
}
