import { memo } from "react";
import { Handle, Position, type NodeProps } from "@xyflow/react";
import type { PodiumNode } from "../graph/convert";
import { labelOf } from "../graph/convert";
import { portsOf } from "../graph/ports";
import { useDesigner } from "../store";

/** A pipeline node on the canvas: its kind, name, typed ports and the server's message when it is faulty. */
export const NodeView = memo(function NodeView({ id, type, data, selected }: NodeProps<PodiumNode>) {
  const errors = useDesigner((s) => s.errors[id]);
  const ports = portsOf(type);
  const faulty = errors !== undefined && errors.length > 0;
  return (
    <div className={`node kind-${type}${faulty ? " faulty" : ""}${selected ? " selected" : ""}`} data-testid={`node-${id}`}>
      {ports.in && <Handle type="target" position={Position.Left} title={`takes a ${ports.in}`} />}
      <div className="node-kind">{type}</div>
      <div className="node-name">{labelOf(type, data)}</div>
      {faulty && (
        <div className="node-error" role="alert">
          {errors.join("; ")}
        </div>
      )}
      {ports.out && <Handle type="source" position={Position.Right} title={`gives a ${ports.out}`} />}
    </div>
  );
});
