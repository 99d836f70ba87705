// Rename, tags, notes and archive of a run (PATCH /runs/{id}), and rename, notes and archive of a sweep (PATCH
// /sweeps/{id}). Shown to whoever may change it; the server's 403 (with its reason) still has the last word.

import { useState } from "react";
import { request } from "../api/client";
import type { RunDetail, RunPatch } from "../api/types";
import { parseTags } from "../lib/runFilters";
import { ErrorBox } from "./ErrorBox";
import { Markdown } from "./Markdown";

export function patchRun(id: string | number, body: RunPatch): Promise<RunDetail> {
  return request<RunDetail>("PATCH", `/runs/${id}`, body);
}

/** What the editor changes: a run has tags, a sweep has none (its tags are its runs'). */
export interface Editable {
  name: string;
  notes?: string | null;
  archived?: boolean;
  tags?: string[];
}

export interface EditableChange {
  name?: string;
  tags?: string[];
  notes?: string;
  archived?: boolean;
}

export function RunNotes({ run, allowed, onSaved }: { run: RunDetail; allowed: boolean; onSaved: (r: RunDetail) => void }) {
  return <NotesEditor item={run} what="run" allowed={allowed} patch={(body) => patchRun(run.id, body)} onSaved={onSaved} />;
}

export function NotesEditor<T extends Editable>({ item, what, allowed, patch, onSaved }: {
  item: T;
  /** Names the list an archived item is hidden from ("runs", "sweeps"). */
  what: "run" | "sweep";
  allowed: boolean;
  patch: (body: EditableChange) => Promise<T>;
  onSaved: (updated: T) => void;
}) {
  const hasTags = item.tags !== undefined;
  const [editing, setEditing] = useState(false);
  const [name, setName] = useState(item.name);
  const [tags, setTags] = useState((item.tags ?? []).join(", "));
  const [notes, setNotes] = useState(item.notes ?? "");
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const save = async (body: EditableChange) => {
    setBusy(true);
    setError(null);
    try {
      const updated = await patch(body);
      onSaved(updated);
      setEditing(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const open = () => {
    setName(item.name);
    setTags((item.tags ?? []).join(", "));
    setNotes(item.notes ?? "");
    setEditing(true);
  };

  return (
    <section aria-labelledby="notes-title" className="run-notes">
      <div className="section-head">
        <h2 id="notes-title">Notes</h2>
        {allowed && !editing && (
          <span className="actions">
            <button onClick={open}>{hasTags ? "Edit name, tags, notes…" : "Edit name, notes…"}</button>{" "}
            <button onClick={() => save({ archived: !item.archived })} disabled={busy}>{item.archived ? "Unarchive" : "Archive"}</button>
          </span>
        )}
      </div>
      {item.archived && <p className="muted" data-testid="archived">Archived: hidden from the {what}s list unless “show archived” is on.</p>}
      {!editing && (item.notes ? <Markdown source={item.notes} /> : <p className="muted">No notes.</p>)}
      {editing && (
        <form className="edit-form" onSubmit={(e) => {
          e.preventDefault();
          void save({ name: name.trim(), ...(hasTags ? { tags: parseTags(tags) } : {}), notes });
        }}>
          <label>Name <input value={name} onChange={(e) => setName(e.target.value)} maxLength={200} /></label>
          {hasTags && <label>Tags <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" /></label>}
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
