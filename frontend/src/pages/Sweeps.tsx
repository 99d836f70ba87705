// Sweeps: the list, and a "New sweep" form — a base config, grid rows of key + comma-separated values, the run
// count as you type, and every arm checked by the server (validation + lint) before Submit is possible.

import { lazy, Suspense, useCallback, useEffect, useMemo, useState } from "react";
import { api, ApiError } from "../api/client";
import { useDebounced, useLoad } from "../api/hooks";
import { armCount, gridOf, showArchived, sweepsPageSearch, sweepsRequest, type AllowItem, type GridRow, type Sweep, type SweepCreate, type SweepDetail, type SweepList, type SweepPreview } from "../api/sweeps";
import type { Finding, LintResponse } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { formatTime } from "../lib/format";
import { canSubmit, useMe } from "../lib/session";
import { propertiesAt, type SchemaNode } from "../lib/schema";
import { Link, navigate, useLocation } from "../router";
import { FindingList } from "./NewRun";

const ConfigEditor = lazy(() => import("../components/ConfigEditor").then((m) => ({ default: m.ConfigEditor })));

const DEFAULT_BASE = "algorithm:\n  group_size: 8\nrun:\n  steps: 50\n";
const DEFAULT_ROWS: GridRow[] = [
  { key: "algorithm.estimator", values: "grpo, rloo" },
  { key: "run.seed", values: "0, 1, 2" },
];
const MAX_RUNS = 100;

export function Sweeps() {
  const [showForm, setShowForm] = useState(false);
  const { pathname, search } = useLocation();
  const archived = showArchived(search);
  const request = sweepsRequest(archived);
  const sweeps = useLoad((s) => api.get<SweepList>(request, s), [request], 5000);
  const me = useMe();
  const mayStart = canSubmit(me);
  const items = sweeps.data?.items ?? [];
  return (
    <main id="main">
      <div className="page-head">
        <h1>Sweeps</h1>
        <div className="actions">
          {me?.role === "viewer" ? (
            <span className="muted">A viewer reads sweeps; a member or an admin starts them.</span>
          ) : mayStart ? (
            <button className="primary" aria-expanded={showForm} onClick={() => setShowForm((v) => !v)}>
              {showForm ? "Close the form" : "New sweep"}
            </button>
          ) : null}
        </div>
      </div>
      {showForm && mayStart && <NewSweep />}
      <div className="filters">
        <label>
          <input type="checkbox" checked={archived}
            onChange={(e) => navigate(`${pathname}${sweepsPageSearch(e.target.checked)}`, { replace: true })} /> Show archived
        </label>
      </div>
      <ErrorBox error={sweeps.error} title="Could not load sweeps" />
      {sweeps.data && items.length === 0 && !showForm && (
        <p className="empty">
          {archived ? "No sweeps, archived or not." : "No sweeps yet (archived ones are hidden). A sweep runs one config over a grid of values, with several seeds per arm."}
        </p>
      )}
      {items.length > 0 && <SweepTable items={items} />}
    </main>
  );
}

function SweepTable({ items }: { items: Sweep[] }) {
  return (
    <div style={{ overflowX: "auto" }}>
      <table className="runs sweeps">
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Runs</th>
            <th scope="col">Grid</th>
            <th scope="col">Owner</th>
            <th scope="col">Created</th>
          </tr>
        </thead>
        <tbody>
          {items.map((s) => (
            <tr key={s.id} data-sweep-id={s.id} data-status={s.status} data-archived={s.archived}>
              <td><Link to={`/sweeps/${s.id}`}>{s.name}</Link>{s.archived && <span className="muted"> (archived)</span>}</td>
              <td>{s.status}</td>
              <td>{s.runs} <span className="muted">({Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(", ")})</span></td>
              <td className="muted">{Object.entries(s.grid).map(([k, v]) => `${k} × ${v.length}`).join(", ")}</td>
              <td>{s.owner ?? "—"}</td>
              <td>{formatTime(s.created_at)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** Every dotted key of the run config (sections and values, three levels deep) for the key inputs' suggestions. */
export function schemaKeys(root: SchemaNode, path: string[] = []): string[] {
  const out: string[] = [];
  for (const key of Object.keys(propertiesAt(root, path))) {
    const next = [...path, key];
    out.push(next.join("."));
    if (next.length < 3) out.push(...schemaKeys(root, next));
  }
  return out;
}

type Checked = { body: string; preview: SweepPreview } | { body: string; error: unknown };

function NewSweep() {
  const [name, setName] = useState("");
  const [text, setText] = useState(DEFAULT_BASE);
  const [rows, setRows] = useState<GridRow[]>(DEFAULT_ROWS);
  const [tags, setTags] = useState("");
  const [allow, setAllow] = useState<AllowItem[]>([]);
  const [checked, setChecked] = useState<Checked | null>(null);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const schema = useLoad((s) => api.get<SchemaNode>("/schema/run-config", s), []);
  const keys = useMemo(() => (schema.data ? schemaKeys(schema.data) : []), [schema.data]);

  const { grid, error: gridError } = gridOf(rows);
  const count = armCount(grid);
  const body: SweepCreate = {
    name: name.trim() || "sweep",
    config_text: text,
    grid,
    tags: tags.split(",").map((t) => t.trim()).filter(Boolean),
    allow,
  };
  const bodyKey = JSON.stringify(body);
  const debounced = useDebounced(bodyKey, 500);

  useEffect(() => {
    if (gridError || count === 0 || count > MAX_RUNS || debounced !== bodyKey) return;
    const ctrl = new AbortController();
    api
      .post<SweepPreview>("/sweeps/preview", JSON.parse(debounced), ctrl.signal)
      .then((preview) => setChecked({ body: debounced, preview }))
      .catch((e) => (e as Error).name !== "AbortError" && setChecked({ body: debounced, error: e }));
    return () => ctrl.abort();
    // the body's text is the dependency: one preview per settled edit
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced, gridError, count]);

  const lintBase = useCallback(async (t: string) => (await api.post<LintResponse>("/lint", { config_text: t })).findings, []);
  const current = checked && checked.body === bodyKey ? checked : null;
  const preview = current && "preview" in current ? current.preview : null;
  const refused = preview ? preview.arms.filter((a) => !a.ok).length : 0;
  const why = gridError
    ? gridError
    : count === 0
      ? "Add a grid key with values"
      : count > MAX_RUNS
        ? `${count} runs: a sweep may have at most ${MAX_RUNS}`
        : !current
          ? "Checking every arm…"
          : "error" in current
            ? "The server refused the grid (see above)"
            : refused
              ? `${refused} arm${refused > 1 ? "s" : ""} refused: fix the config or allow the rule with a reason`
              : "";

  const submit = async () => {
    setBusy(true);
    setSubmitError(null);
    try {
      const sweep = await api.post<SweepDetail>("/sweeps", body);
      navigate(`/sweeps/${sweep.id}`);
    } catch (e) {
      setSubmitError(e);
    } finally {
      setBusy(false);
    }
  };
  const addAllow = (rule: string, reason: string) => setAllow((a) => [...a.filter((x) => x.rule !== rule), { rule, reason }]);
  const setRow = (i: number, patch: Partial<GridRow>) => setRows((rs) => rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));

  return (
    <section aria-labelledby="new-sweep-title" className="new-sweep">
      <h2 id="new-sweep-title">New sweep</h2>
      <div className="form-row">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="e.g. estimator x seed" /></label>
        <label>Tags <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" /></label>
      </div>
      <label className="editor-label">Base config (YAML) — every arm starts from it</label>
      <Suspense fallback={<div className="editor editor-loading">Loading the editor…</div>}>
        <ConfigEditor value={text} onChange={setText} lint={lintBase} schema={schema.data} label="Base config (YAML)" />
      </Suspense>
      <fieldset className="grid-rows" style={{ margin: "12px 0" }}>
        <legend>Grid: each key takes each of its values; every combination is one run</legend>
        <datalist id="config-keys">{keys.map((k) => <option key={k} value={k} />)}</datalist>
        {rows.map((row, i) => (
          <div key={i} className="form-row grid-row" data-row={i} style={{ margin: "4px 0" }}>
            <label>Key <input list="config-keys" value={row.key} onChange={(e) => setRow(i, { key: e.target.value })} placeholder="e.g. optim.lr" aria-label={`grid key ${i + 1}`} /></label>
            <label>Values <input value={row.values} onChange={(e) => setRow(i, { values: e.target.value })} placeholder="comma, separated" aria-label={`grid values ${i + 1}`} /></label>
            <button type="button" onClick={() => setRows((rs) => rs.filter((_, j) => j !== i))} aria-label={`remove grid row ${i + 1}`}>Remove</button>
          </div>
        ))}
        <button type="button" onClick={() => setRows((rs) => [...rs, { key: "", values: "" }])}>Add a grid key</button>
        <p data-testid="arm-count" data-count={count}>
          {Object.values(grid).length ? `${Object.values(grid).map((v) => v.length).join(" × ")} = ${count} run${count === 1 ? "" : "s"}` : "No grid yet"}
          {grid["run.seed"] ? <span className="muted"> ({grid["run.seed"].length} seeds per arm, pooled into one band)</span> : <span className="muted"> (add run.seed values for bands over seeds)</span>}
        </p>
      </fieldset>
      {allow.length > 0 && (
        <ul className="allow-list">
          {allow.map((a) => (
            <li key={a.rule}>Allowed for every arm: <strong>{a.rule}</strong> — {a.reason}{" "}
              <button type="button" className="link-button" onClick={() => setAllow((xs) => xs.filter((x) => x.rule !== a.rule))}>remove</button>
            </li>
          ))}
        </ul>
      )}
      {current && "error" in current && <ErrorBox error={current.error} title="The grid was not accepted" />}
      {preview && <ArmList preview={preview} onAllow={addAllow} />}
      <div className="submit-row">
        <button className="primary" data-testid="submit-sweep" disabled={!preview?.ok || busy || !!why} onClick={submit} aria-describedby="sweep-why">
          {busy ? "Submitting…" : `Submit ${count} run${count === 1 ? "" : "s"}`}
        </button>
        <span id="sweep-why" className="muted">{why}</span>
      </div>
      <ErrorBox error={submitError} title={submitError instanceof ApiError && submitError.status === 422 ? "The server refused this sweep" : "Could not submit"} />
    </section>
  );
}

function ArmList({ preview, onAllow }: { preview: SweepPreview; onAllow: (rule: string, reason: string) => void }) {
  const refused = preview.arms.filter((a) => !a.ok);
  // one list entry per refused rule is enough to allow it; the arms show where it fires
  const seen = new Set<string>();
  const allowable: Finding[] = [];
  for (const a of refused) for (const f of a.findings) if (f.severity === "error" && !f.allowed && !seen.has(f.rule)) (seen.add(f.rule), allowable.push(f));
  return (
    <div className="arm-check" aria-live="polite">
      <p className="lint-status" data-testid="arm-status" data-refused={refused.length}>
        {refused.length ? `${refused.length} of ${preview.count} arms refused` : `✓ All ${preview.count} arms pass validation and lint`}
      </p>
      <ol className="arms" start={0}>
        {preview.arms.map((a) => (
          <li key={a.index} data-arm={a.index} data-ok={a.ok} className={a.ok ? "arm-ok" : "arm-refused"}>
            <code>{a.label}</code> {a.ok ? <span className="muted">ok{a.findings.length ? ` (${a.findings.length} note${a.findings.length > 1 ? "s" : ""})` : ""}</span> : <strong className="error-text">refused</strong>}
            {!a.ok && (
              <ul>
                {a.errors.map((e, i) => <li key={`e${i}`}>{e.field ? <code>{e.field}</code> : null} {e.message}</li>)}
                {a.findings.filter((f) => f.severity === "error" && !f.allowed).map((f, i) => (
                  <li key={`f${i}`} data-rule={f.rule}><Link to={`/rules/${f.rule}`}>{f.rule}</Link> {f.message}</li>
                ))}
              </ul>
            )}
          </li>
        ))}
      </ol>
      {allowable.length > 0 && (
        <div className="findings-panel">
          <p className="muted">Acknowledge a rule for every arm of this sweep (recorded with each run), or change the grid:</p>
          <FindingList findings={allowable} onAllow={onAllow} />
        </div>
      )}
    </div>
  );
}
