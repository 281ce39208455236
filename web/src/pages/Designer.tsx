import { useCallback, useEffect, useState } from "react";
import { ReactFlowProvider } from "@xyflow/react";
import { errorText, post } from "../api";
import { call, client, type Schemas } from "../client";
import { navigate } from "../router";
import { useDesigner } from "../store";
import { useApi } from "../useApi";
import type { Catalog, JsonObject, SpecGraph, Validation } from "../types";
import { Canvas } from "../components/Canvas";
import { ErrorLine } from "../components/ErrorLine";
import { NodeForm } from "../components/NodeForm";
import { Palette } from "../components/Palette";
import { PreflightPanel } from "../components/PreflightPanel";
import { Toolbar } from "../components/Toolbar";
import { YamlPanel } from "../components/YamlPanel";

/** Messages by node id; those naming no node on the canvas go under "". */
function byNode(v: Validation, ids: Set<string>): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const e of v.errors) {
    const key = e.node && ids.has(e.node) ? e.node : "";
    out[key] = [...(out[key] ?? []), e.message];
  }
  return out;
}

/** The pipeline designer: palette, canvas, the selected node's form and the YAML twin; `open` loads a saved version. */
export function Designer({ open }: { open?: { name: string; version: string } }) {
  const catalog = useApi<Catalog>("/api/catalog");
  const setErrors = useDesigner((s) => s.setErrors);
  const general = useDesigner((s) => s.errors[""]);
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [plan, setPlan] = useState<JsonObject | null>(null);
  const [saved, setSaved] = useState<Schemas["SavedVersion"] | null>(null);
  const openName = open?.name;
  const openVersion = open?.version;

  useEffect(() => {
    if (!openName || !openVersion) return;
    let live = true;
    call(client.GET("/api/pipelines/{name}/versions/{version}", { params: { path: { name: openName, version: Number(openVersion) } } }))
      .then(({ yaml }) => post<SpecGraph>("/api/specs/graph", { yaml }))
      .then(
        (g) => {
          if (!live) return;
          useDesigner.getState().setGraph(g);
          setMessage(`Opened ${openName} v${openVersion}.`);
        },
        (e: unknown) => live && setMessage(errorText(e)),
      );
    return () => {
      live = false;
    };
  }, [openName, openVersion]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement | null;
      if (t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT")) return;
      if ((e.ctrlKey || e.metaKey) && e.key.toLowerCase() === "z") {
        e.preventDefault();
        if (e.shiftKey) useDesigner.getState().redo();
        else useDesigner.getState().undo();
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);

  const validate = useCallback(async (): Promise<boolean> => {
    const s = useDesigner.getState();
    const v = await post<Validation>("/api/specs/validate", s.graph());
    setErrors(byNode(v, new Set(s.nodes.map((n) => n.id))));
    setMessage(v.ok ? "The pipeline is valid." : "Fix the marked nodes before running.");
    return v.ok;
  }, [setErrors]);

  const run = async () => {
    setBusy(true);
    try {
      if (!(await validate())) return;
      const { yaml } = await post<{ yaml: string }>("/api/specs/yaml", useDesigner.getState().graph());
      const { run_id } = await post<{ run_id: string }>("/api/runs", { yaml });
      navigate(`/runs/${encodeURIComponent(run_id)}`);
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const onPreflight = () => {
    setSaved(null);
    setBusy(true);
    setMessage(null);
    post<JsonObject>("/api/specs/preflight", useDesigner.getState().graph())
      .then(setPlan, (e: unknown) => setMessage(errorText(e)))
      .finally(() => setBusy(false));
  };
  const save = async () => {
    setBusy(true);
    setSaved(null);
    try {
      if (!(await validate())) return;
      const s = await call(client.POST("/api/pipelines", { body: { ...useDesigner.getState().graph() } }));
      setSaved(s);
      setMessage(s.saved ? `Saved ${s.name} as version ${s.version}.` : `${s.name} v${s.version} already holds this pipeline: nothing new to save.`);
    } catch (e) {
      setMessage(errorText(e));
    } finally {
      setBusy(false);
    }
  };
  const onValidate = () => {
    setSaved(null);
    setBusy(true);
    validate()
      .catch((e: unknown) => setMessage(errorText(e)))
      .finally(() => setBusy(false));
  };

  return (
    <ReactFlowProvider>
      <div className="designer">
        {catalog.data ? <Palette catalog={catalog.data} /> : (
          <aside className="palette">
            {catalog.error ? <ErrorLine error={catalog.error} /> : <p className="empty">Loading the catalog…</p>}
          </aside>
        )}
        <div className="center">
          <Toolbar busy={busy} onValidate={onValidate} onPreflight={onPreflight} onRun={() => void run()} onSave={() => void save()} />
          {message && (
            <p className="status" role="status">
              {message}
              {saved && (
                <>
                  {" "}
                  <a href={`#/pipelines/${encodeURIComponent(saved.name)}`}>Bind it to a dataset…</a>
                </>
              )}
            </p>
          )}
          {general?.map((m) => <ErrorLine key={m} error={m} />)}
          {plan && <PreflightPanel plan={plan} onClose={() => setPlan(null)} />}
          <Canvas onRefused={setMessage} />
        </div>
        <div className="side">
          {catalog.data && <NodeForm catalog={catalog.data} />}
          <YamlPanel />
        </div>
      </div>
    </ReactFlowProvider>
  );
}
