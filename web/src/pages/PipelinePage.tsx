import { useState, type FormEvent } from "react";
import { errorText } from "../api";
import { call, client } from "../client";
import { navigate } from "../router";
import { useApi } from "../useApi";
import { useCall } from "../useCall";
import type { Json } from "../types";
import { listOf } from "../listOf";
import { Confirm } from "../components/Confirm";
import { ErrorLine } from "../components/ErrorLine";
import { Table } from "../components/Table";

/** One pipeline: its saved versions (each opens in the designer), its binding to a dataset and schedule, its jobs. */
export function PipelinePage({ name }: { name: string }) {
  const path = { params: { path: { name } } };
  const info = useCall(`pipeline/${name}`, () => call(client.GET("/api/pipelines/{name}", path)));
  const datasets = useApi<Json>("/api/datasets");
  const binding = info.data?.binding ?? null;
  const versions = info.data?.versions ?? [];
  const [dataset, setDataset] = useState("");
  const [schedule, setSchedule] = useState("");
  const [version, setVersion] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const done = (text: string) => {
    setMessage(text);
    setError(null);
    info.reload();
  };
  const bind = (e: FormEvent) => {
    e.preventDefault();
    const body = { dataset, schedule: schedule.trim() || null, version: version ? Number(version) : null };
    call(client.PUT("/api/pipelines/{name}/binding", { ...path, body })).then(
      (b) => done(`${name} runs on each new version of ${b.dataset}${b.schedule ? ` and on '${b.schedule}'` : ""}.`),
      (err: unknown) => setError(errorText(err)),
    );
  };
  const unbind = () =>
    call(client.DELETE("/api/pipelines/{name}/binding", path)).then(
      () => done(`${name} is no longer bound.`),
      (err: unknown) => setError(errorText(err)),
    );
  const runNow = () =>
    call(client.POST("/api/runs", { body: { pipeline: name } })).then(
      (r) => navigate(`/runs/${encodeURIComponent(String(r.run_id))}`),
      (err: unknown) => setError(errorText(err)),
    );
  const names = listOf(datasets.data).map((d) => String(d.name ?? ""));
  return (
    <div className="page">
      <h1>
        Pipeline {name} {binding && <span className="badge">bound to {binding.dataset}</span>}
      </h1>
      <ErrorLine error={error ?? info.error} />
      {message && (
        <p className="status" role="status">
          {message}
        </p>
      )}
      <section aria-label="Binding">
        <h2>Binding</h2>
        {binding ? (
          <p>
            Runs on each new version of <a href={`#/datasets`}>{binding.dataset}</a>
            {binding.schedule ? <> and on the schedule <code>{binding.schedule}</code> (UTC)</> : null}
            {binding.version !== null ? <>, with version {binding.version}</> : null}.{" "}
            <Confirm label="Unbind…" question={`Stop running ${name} on new versions of ${binding.dataset}?`} onConfirm={() => void unbind()} />
          </p>
        ) : (
          <p className="empty">Not bound: new dataset versions do not run it.</p>
        )}
        {versions.length > 0 ? (
          <form className="row" onSubmit={bind} aria-label="Bind to a dataset">
            <label>
              dataset{" "}
              <select value={dataset} onChange={(e) => setDataset(e.target.value)} required aria-label="dataset">
                <option value="">—</option>
                {names.map((n) => (
                  <option key={n} value={n}>
                    {n}
                  </option>
                ))}
              </select>
            </label>
            <label>
              schedule{" "}
              <input value={schedule} onChange={(e) => setSchedule(e.target.value)} placeholder="cron, e.g. 0 3 * * *" aria-label="schedule" />
            </label>
            <label>
              version{" "}
              <select value={version} onChange={(e) => setVersion(e.target.value)} aria-label="version">
                <option value="">latest</option>
                {versions.map((v) => (
                  <option key={v.version} value={String(v.version)}>
                    v{v.version}
                  </option>
                ))}
              </select>
            </label>
            <button type="submit" className="primary">
              {binding ? "Rebind" : "Bind"}
            </button>
            {names.length === 0 && datasets.data !== null && (
              <small className="muted">
                No dataset yet: upload one on the <a href="#/datasets">datasets</a> page.
              </small>
            )}
          </form>
        ) : null}
        <p>
          <button type="button" onClick={() => void runNow()}>
            Run now
          </button>{" "}
          <small className="muted">{binding ? "on the dataset's latest version" : "on its own source"}</small>
        </p>
      </section>
      <section aria-label="Versions">
        <h2>Versions</h2>
        <Table
          rows={versions.map((v) => ({ version: v.version, saved_at: v.saved_at, saved_by: v.saved_by }))}
          label="Pipeline versions"
          link={(r) => `#/designer/${encodeURIComponent(name)}/${encodeURIComponent(String(r.version))}`}
        />
      </section>
      <section aria-label="Jobs">
        <h2>Jobs</h2>
        <Table
          rows={listOf((info.data?.jobs ?? []) as Json[]).map((j) => ({
            id: j.id ?? null,
            trigger: j.trigger ?? null,
            dataset_version: j.dataset_version ?? null,
            state: j.state ?? null,
            run_id: j.run_id ?? null,
            error: j.error ?? null,
          }))}
          label="Jobs"
          link={(r) => (r.run_id ? `#/runs/${encodeURIComponent(String(r.run_id))}` : null)}
        />
      </section>
    </div>
  );
}
