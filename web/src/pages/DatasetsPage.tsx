import { useState, type FormEvent } from "react";
import { errorText, request } from "../api";
import { useApi } from "../useApi";
import type { Json } from "../types";
import { listOf, versionsOf } from "../listOf";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** Every dataset with its versions; upload a new version as a CSV or Parquet file. */
export function DatasetsPage() {
  const datasets = useApi<Json>("/api/datasets");
  const [name, setName] = useState("");
  const [file, setFile] = useState<File | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const upload = (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const type = file.name.endsWith(".parquet") ? "application/vnd.apache.parquet" : "text/csv";
    setError(null);
    request<Json>("POST", `/api/datasets/${encodeURIComponent(name)}/versions`, file, type).then(
      () => {
        setMessage(`${file.name} uploaded as a new version of ${name}.`);
        datasets.reload();
      },
      (err: unknown) => setError(errorText(err)),
    );
  };
  const rows = listOf(datasets.data);
  return (
    <div className="page">
      <h1>Datasets</h1>
      <form className="row" onSubmit={upload} aria-label="Upload a dataset version">
        <label>
          dataset <input value={name} onChange={(e) => setName(e.target.value)} required pattern="[A-Za-z0-9][A-Za-z0-9_.\-]*" aria-label="dataset name" />
        </label>
        <input type="file" accept=".csv,.parquet" onChange={(e) => setFile(e.target.files?.[0] ?? null)} aria-label="CSV or Parquet file" required />
        <button type="submit">Upload</button>
      </form>
      {message && <p className="status" role="status">{message}</p>}
      <ErrorLine error={error ?? datasets.error} />
      {datasets.data !== null && rows.length === 0 ? (
        <p className="empty">No dataset yet: upload a CSV above.</p>
      ) : (
        <Table
          rows={rows.map((r) => ({ name: r.name ?? null, versions: versionsOf(r).length, latest: versionsOf(r).at(-1) ?? null }))}
          label="Datasets"
        />
      )}
      {rows.map((r) => {
        const n = String(r.name ?? "");
        return (
          <p key={n}>
            {n}:{" "}
            {versionsOf(r).map((v) => (
              <a key={v} className="chip" href={`#/datasets/${encodeURIComponent(n)}/versions/${encodeURIComponent(v)}`}>
                {n} v{v}
              </a>
            ))}
          </p>
        );
      })}
    </div>
  );
}
