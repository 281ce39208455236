import { useState } from "react";

interface Props {
  label: string;
  question: string;
  onConfirm: () => void;
}

/** A button that asks before acting (promote, roll back). */
export function Confirm({ label, question, onConfirm }: Props) {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" onClick={() => setAsking(true)}>
        {label}
      </button>
    );
  return (
    <span className="confirm" role="group" aria-label={question}>
      {question}{" "}
      <button
        type="button"
        className="primary"
        autoFocus
        onClick={() => {
          setAsking(false);
          onConfirm();
        }}
      >
        Confirm
      </button>{" "}
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}
