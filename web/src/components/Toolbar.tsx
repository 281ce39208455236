import { useReactFlow } from "@xyflow/react";
import { useDesigner } from "../store";

interface Props {
  busy: boolean;
  onValidate: () => void;
  onPreflight: () => void;
  onRun: () => void;
  onSave: () => void;
}

/** The designer's actions: tidy, undo, redo, fit, validate, pre-flight, save, run. */
export function Toolbar({ busy, onValidate, onPreflight, onRun, onSave }: Props) {
  const { fitView } = useReactFlow();
  const tidy = useDesigner((s) => s.tidy);
  const undo = useDesigner((s) => s.undo);
  const redo = useDesigner((s) => s.redo);
  const canUndo = useDesigner((s) => s.past.length > 0);
  const canRedo = useDesigner((s) => s.future.length > 0);
  const empty = useDesigner((s) => s.nodes.length === 0);
  return (
    <div className="toolbar" role="toolbar" aria-label="Designer">
      <button type="button" onClick={tidy} disabled={empty}>
        Tidy up
      </button>
      <button type="button" onClick={undo} disabled={!canUndo} title="Ctrl+Z">
        Undo
      </button>
      <button type="button" onClick={redo} disabled={!canRedo} title="Ctrl+Shift+Z">
        Redo
      </button>
      <button type="button" onClick={() => fitView()} disabled={empty}>
        Zoom to fit
      </button>
      <span className="spacer" />
      <button type="button" onClick={onValidate} disabled={empty || busy}>
        Validate
      </button>
      <button type="button" onClick={onPreflight} disabled={empty || busy} title="a dry run on a sample of the data">
        Pre-flight
      </button>
      <button type="button" onClick={onSave} disabled={empty || busy} title="keep it as the pipeline's next version">
        Save
      </button>
      <button type="button" className="primary" onClick={onRun} disabled={empty || busy}>
        Run
      </button>
    </div>
  );
}
