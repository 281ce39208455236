import { useEffect, useState, type ChangeEvent } from "react";
import { errorText, post } from "../api";
import { useDesigner } from "../store";
import type { SpecGraph } from "../types";
import { ErrorLine } from "./ErrorLine";

/** The pipeline as the spec YAML `podium run` takes; the server converts both ways. */
export function YamlPanel() {
  const revision = useDesigner((s) => s.revision);
  const fromYaml = useDesigner((s) => s.fromYaml);
  const setGraph = useDesigner((s) => s.setGraph);
  const [text, setText] = useState("");
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    if (fromYaml) return;
    const { nodes, graph } = useDesigner.getState();
    if (nodes.length === 0) return;
    let live = true;
    const timer = window.setTimeout(() => {
      post<{ yaml: string }>("/api/specs/yaml", graph()).then(
        (r) => live && (setText(r.yaml), setError(null)),
        (e: unknown) => live && setError(errorText(e)),
      );
    }, 250);
    return () => {
      live = false;
      window.clearTimeout(timer);
    };
  }, [revision, fromYaml]);

  const apply = (yaml: string) => {
    post<SpecGraph>("/api/specs/graph", { yaml }).then(
      (g) => {
        setGraph(g, true);
        setError(null);
      },
      (e: unknown) => setError(errorText(e)),
    );
  };
  const open = (e: ChangeEvent<HTMLInputElement>) => {
    const file = e.target.files?.[0];
    if (!file) return;
    file.text().then((t) => {
      setText(t);
      apply(t);
    });
  };
  return (
    <section className="yaml-panel" aria-label="Spec YAML">
      <div className="row">
        <h3>Spec YAML</h3>
        <label className="file-button">
          Open…
          <input type="file" accept=".yaml,.yml,text/yaml" onChange={open} aria-label="Open a spec YAML file" />
        </label>
        <button type="button" onClick={() => apply(text)} title="Ctrl+Enter">
          Apply YAML
        </button>
      </div>
      <textarea
        aria-label="YAML"
        spellCheck={false}
        value={text}
        placeholder="name: churn&#10;source: customers.csv&#10;target: churned"
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) apply(text);
        }}
      />
      <ErrorLine error={error} />
    </section>
  );
}
