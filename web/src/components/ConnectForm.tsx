import { useState } from "react";
import { useDesigner } from "../store";
import { connectionError } from "../graph/ports";
import { fromFlow, labelOf } from "../graph/convert";

/** The selected node's outgoing edges by keyboard: connect it to a node that takes its output, or disconnect. */
export function ConnectForm({ id }: { id: string }) {
  const nodes = useDesigner((s) => s.nodes);
  const edges = useDesigner((s) => s.edges);
  const connect = useDesigner((s) => s.connect);
  const onEdgesChange = useDesigner((s) => s.onEdgesChange);
  const [target, setTarget] = useState("");
  const g = fromFlow(nodes, edges);
  const open = nodes.filter((n) => connectionError(g.nodes, g.edges, id, n.id) === null);
  const outgoing = edges.filter((e) => e.source === id);
  const name = (nodeId: string) => {
    const n = nodes.find((x) => x.id === nodeId);
    return n ? `${n.type ?? ""}: ${labelOf(n.type ?? "", n.data)} (${n.id})` : nodeId;
  };
  const chosen = open.some((n) => n.id === target) ? target : (open[0]?.id ?? "");
  return (
    <div className="connect">
      {outgoing.map((e) => (
        <div key={e.id} className="row">
          → {name(e.target)}
          <button type="button" onClick={() => onEdgesChange([{ type: "remove", id: e.id }])} aria-label={`disconnect ${e.target}`}>
            Disconnect
          </button>
        </div>
      ))}
      {open.length > 0 && (
        <div className="row">
          <select aria-label="connect to" value={chosen} onChange={(e) => setTarget(e.target.value)}>
            {open.map((n) => (
              <option key={n.id} value={n.id}>
                {name(n.id)}
              </option>
            ))}
          </select>
          <button type="button" onClick={() => chosen && connect(id, chosen)}>
            Connect
          </button>
        </div>
      )}
    </div>
  );
}
