// Cancel (confirmed first) and Retry on the run page. A double-click on Retry must not cancel the run it just
// queued again (B4): the Cancel that appears where Retry was only opens a confirmation, whose "Yes" sits
// elsewhere, and focus goes to "Keep it".

import { useEffect, useRef, useState } from "react";
import { ACTIVE_STATUSES, type RunDetail } from "../api/types";

export function RunActions({ run, allowed, why, onAction }: {
  run: RunDetail;
  allowed: boolean;
  /** Why the buttons are disabled (shown as their title). */
  why?: string;
  onAction: (what: "cancel" | "retry") => Promise<void>;
}) {
  const [confirming, setConfirming] = useState(false);
  const [busy, setBusy] = useState(false);
  const keep = useRef<HTMLButtonElement>(null);
  const active = ACTIVE_STATUSES.includes(run.status);
  useEffect(() => {
    if (confirming) keep.current?.focus();
  }, [confirming]);
  useEffect(() => {
    if (!active) setConfirming(false);
  }, [active]);

  const go = async (what: "cancel" | "retry") => {
    setBusy(true);
    try {
      await onAction(what);
    } finally {
      setBusy(false);
      setConfirming(false);
    }
  };
  const askCancel = () => setConfirming(true);

  if (confirming) {
    return (
      <span className="confirm" role="group" aria-label="confirm cancel">
        <span>Stop this run?</span>{" "}
        <button className="danger" disabled={busy} onClick={() => go("cancel")}>Yes, cancel it</button>{" "}
        <button ref={keep} onClick={() => setConfirming(false)}>Keep it</button>
      </span>
    );
  }
  return (
    <>
      {active && (
        <button onClick={askCancel} disabled={busy || run.cancel_requested || !allowed} title={allowed ? "Stop this run (asks first)" : why}>
          Cancel run…
        </button>
      )}
      {!active && run.status !== "succeeded" && (
        <button onClick={() => go("retry")} disabled={busy || !allowed}
          title={allowed ? "Queue it again; it resumes from its last checkpoint" : why}>
          Retry
        </button>
      )}
    </>
  );
}
