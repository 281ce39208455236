import { useState, type DragEvent } from "react";
import type { Catalog, CatalogEntry } from "../types";
import { useDesigner } from "../store";

/** The pipeline's fixed parts, which are not in the catalog's registries. */
const STRUCTURE: CatalogEntry[] = [
  { name: "split", description: "hold out test rows and choose the cross-validation folds" },
  { name: "competition", description: "the models compete on the metric within the budget" },
  { name: "gate", description: "the winner must reach a minimum score" },
  { name: "register", description: "register the winner as a model version under an alias" },
];

export const DRAG_TYPE = "application/x-podium-node";

interface Group {
  title: string;
  kind: string;
  entries: CatalogEntry[];
}

function groups(catalog: Catalog): Group[] {
  return [
    { title: "Sources", kind: "source", entries: catalog.sources },
    { title: "Steps", kind: "step", entries: catalog.steps },
    { title: "Models", kind: "candidate", entries: catalog.candidates },
    { title: "Pipeline", kind: "", entries: STRUCTURE },
    { title: "Notifiers", kind: "notify", entries: catalog.notifiers },
  ];
}

/** Every node one can place, grouped and searchable; drag one onto the canvas, or press it to add it. */
export function Palette({ catalog }: { catalog: Catalog }) {
  const [query, setQuery] = useState("");
  const addNode = useDesigner((s) => s.addNode);
  const q = query.trim().toLowerCase();
  const onDragStart = (e: DragEvent, kind: string, name: string) => {
    e.dataTransfer.setData(DRAG_TYPE, JSON.stringify({ kind, name }));
    e.dataTransfer.effectAllowed = "move";
  };
  return (
    <aside className="palette" aria-label="Palette">
      <input type="search" placeholder="Search the catalog" aria-label="Search the catalog" value={query} onChange={(e) => setQuery(e.target.value)} />
      {groups(catalog).map((g) => {
        const shown = g.entries.filter((e) => !q || e.name.toLowerCase().includes(q) || e.description.toLowerCase().includes(q));
        if (shown.length === 0) return null;
        return (
          <section key={g.title}>
            <h3>{g.title}</h3>
            {shown.map((e) => {
              const kind = g.kind || e.name;
              return (
                <button
                  type="button"
                  key={e.name}
                  className={`item kind-${kind}`}
                  draggable
                  title={e.description}
                  data-testid={`palette-${kind}-${e.name}`}
                  onDragStart={(ev) => onDragStart(ev, kind, e.name)}
                  onClick={() => addNode(kind, e.name)}
                >
                  {e.name}
                </button>
              );
            })}
          </section>
        );
      })}
    </aside>
  );
}
