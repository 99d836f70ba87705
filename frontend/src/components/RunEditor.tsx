// Rename, tags, notes and archive of a run (PATCH /runs/{id}). Shown to whoever may change the run; the server's
// 403 (with its reason) still has the last word.

import { useState } from "react";
import { request } from "../api/client";
import type { RunDetail, RunPatch } from "../api/types";
import { parseTags } from "../lib/runFilters";
import { ErrorBox } from "./ErrorBox";
import { Markdown } from "./Markdown";

export function patchRun(id: string | number, body: RunPatch): Promise<RunDetail> {
  return request<RunDetail>("PATCH", `/runs/${id}`, body);
}

export function RunNotes({ run, allowed, onSaved }: { run: RunDetail; allowed: boolean; onSaved: (r: RunDetail) => void }) {
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(run.name);
  const [tags, setTags] = useState(run.tags.join(", "));
  const [notes, setNotes] = useState(run.notes ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const save = async (body: RunPatch) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await patchRun(run.id, body);
      onSaved(updated);
      setEditing(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const open = () => {
    setName(run.name);
    setTags(run.tags.join(", "));
    setNotes(run.notes ?? "");
    setEditing(true);
  };

  return (
    <section aria-labelledby="notes-title" className="run-notes">
      <div className="section-head">
        <h2 id="notes-title">Notes</h2>
        {allowed && !editing && (
          <span className="actions">
            <button onClick={open}>Edit name, tags, notes…</button>{" "}
            <button onClick={() => save({ archived: !run.archived })} disabled={busy}>{run.archived ? "Unarchive" : "Archive"}</button>
          </span>
        )}
      </div>
      {run.archived && <p className="muted" data-testid="archived">Archived: hidden from the runs list unless “show archived” is on.</p>}
      {!editing && (run.notes ? <Markdown source={run.notes} /> : <p className="muted">No notes.</p>)}
      {editing && (
        <form className="edit-form" onSubmit={(e) => {
          e.preventDefault();
          void save({ name: name.trim(), tags: parseTags(tags), notes });
        }}>
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} /></label>
          <label>Tags <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" /></label>
          <label className="wide">Notes (Markdown)
            <textarea value={notes} onChange={(e) => setNotes(e.target.value)} rows={5} />
          </label>
          <div>
            <button type="submit" className="primary" disabled={busy}>{busy ? "Saving…" : "Save"}</button>{" "}
            <button type="button" onClick={() => setEditing(false)}>Cancel editing</button>
          </div>
        </form>
      )}
      <ErrorBox error={error} title="Could not save" />
    </section>
  );
}
