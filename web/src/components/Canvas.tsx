import { useCallback, useEffect, useRef, type DragEvent } from "react";
import { Background, Controls, MiniMap, ReactFlow, useNodesInitialized, useReactFlow, type Connection, type Edge, type NodeTypes } from "@xyflow/react";
import { useDesigner } from "../store";
import { connectionError, PORTS } from "../graph/ports";
import { fromFlow } from "../graph/convert";
import { NodeView } from "./NodeView";
import { DRAG_TYPE } from "./Palette";

const nodeTypes: NodeTypes = Object.fromEntries(Object.keys(PORTS).map((kind) => [kind, NodeView]));

/** The designer's canvas: drop nodes from the palette, connect typed ports (wrong types and cycles refused). */
export function Canvas({ onRefused }: { onRefused: (reason: string) => void }) {
  const nodes = useDesigner((s) => s.nodes);
  const edges = useDesigner((s) => s.edges);
  const onNodesChange = useDesigner((s) => s.onNodesChange);
  const onEdgesChange = useDesigner((s) => s.onEdgesChange);
  const connect = useDesigner((s) => s.connect);
  const addNode = useDesigner((s) => s.addNode);
  const select = useDesigner((s) => s.select);
  const loaded = useDesigner((s) => s.loaded);
  const { screenToFlowPosition, fitView } = useReactFlow();

  const measured = useNodesInitialized();
  const fitted = useRef(0);
  useEffect(() => {
    // A loaded graph is shown whole once its nodes are measured.
    if (measured && loaded > fitted.current) {
      fitted.current = loaded;
      void fitView({ maxZoom: 1, padding: 0.05 });
    }
  }, [loaded, measured, fitView]);

  const isValidConnection = useCallback((c: Connection | Edge) => {
    const s = useDesigner.getState();
    const g = fromFlow(s.nodes, s.edges);
    return connectionError(g.nodes, g.edges, c.source, c.target) === null;
  }, []);
  const onConnect = useCallback(
    (c: Connection) => {
      const refused = connect(c.source, c.target);
      if (refused) onRefused(refused);
    },
    [connect, onRefused],
  );
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    const raw = e.dataTransfer.getData(DRAG_TYPE);
    if (!raw) return;
    const { kind, name } = JSON.parse(raw) as { kind: string; name: string };
    addNode(kind, name, screenToFlowPosition({ x: e.clientX, y: e.clientY }));
  };
  return (
    <div className="canvas" onDrop={onDrop} onDragOver={(e) => e.preventDefault()} data-testid="canvas">
      <ReactFlow
        nodes={nodes}
        edges={edges}
        nodeTypes={nodeTypes}
        onNodesChange={onNodesChange}
        onEdgesChange={onEdgesChange}
        onConnect={onConnect}
        isValidConnection={isValidConnection}
        minZoom={0.1}
        onSelectionChange={({ nodes: sel }) => select(sel[0]?.id ?? null)}
        deleteKeyCode={["Backspace", "Delete"]}
      >
        <Background />
        <Controls />
        <MiniMap pannable zoomable />
      </ReactFlow>
      {nodes.length === 0 && <p className="empty canvas-empty">Drag a source from the palette, or open a spec YAML on the right.</p>}
    </div>
  );
}
