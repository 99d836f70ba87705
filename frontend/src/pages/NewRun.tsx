import { lazy, Suspense, useCallback, useEffect, useRef, useState } from "react";
import { api, ApiError } from "../api/client";
import { useLoad } from "../api/hooks";
import type { Finding, LintResponse, RunDetail, Template } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { inline } from "../components/Markdown";
import { addLintAllow } from "../lib/allow";
import { blockingFindings, submitHint } from "../lib/lintMapping";
import type { SchemaNode } from "../lib/schema";
import { canSubmit, useDocumentTitle, useMe } from "../lib/session";
import { Link, navigate, useLocation } from "../router";

const DRAFT = "grpolab.draft";
// CodeMirror is most of the bundle: load it only on this page.
const ConfigEditor = lazy(() => import("../components/ConfigEditor").then((m) => ({ default: m.ConfigEditor })));

type LintState = { text: string; findings: Finding[]; format: string } | { text: string; error: unknown };

export function NewRun() {
  const { search } = useLocation();
  const from = search.get("from");
  const [text, setText] = useState(() => (from ? "" : sessionStorage.getItem(DRAFT) ?? ""));
  const [name, setName] = useState("");
  const [tags, setTags] = useState("");
  const [lint, setLint] = useState<LintState | null>(null);
  const [submitError, setSubmitError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const templates = useLoad((s) => api.get<Template[]>("/templates", s), []);
  const schema = useLoad((s) => api.get<SchemaNode>("/schema/run-config", s), []);
  const source = useLoad((s) => (from ? api.get<RunDetail>(`/runs/${from}`, s) : Promise.resolve(null)), [from]);
  const me = useMe();
  useDocumentTitle("New run");

  useEffect(() => {
    if (source.data) {
      setText(source.data.config_text);
      setName(`${source.data.name || `run ${source.data.id}`} (copy)`);
      setTags(source.data.tags.join(", "));
    }
  }, [source.data]);

  useEffect(() => {
    sessionStorage.setItem(DRAFT, text);
  }, [text]);

  const lintText = useCallback(async (t: string) => {
    try {
      // exactly what Submit accepts: a GRPO Lab run config. Auto-detection would lint a verl or TRL file as
      // such ("no problems") while POST /runs refuses it (B1).
      const res = await api.post<LintResponse>("/lint", { config_text: t, input_format: "grpolab" });
      setLint({ text: t, findings: res.findings, format: res.format });
      return res.findings;
    } catch (e) {
      setLint({ text: t, error: e });
      throw e;
    }
  }, []);

  const current = lint && lint.text === text ? lint : null;
  const findings = current && "findings" in current ? current.findings : [];
  const blocking = blockingFindings(findings);
  const pending = !current;
  const mayAct = canSubmit(me);
  const submittable = !pending && blocking.length === 0 && !busy && mayAct;
  const why = !me ? "Checking who you are…" : !mayAct ? "A viewer can read runs but not submit them." : pending ? "Checking the config…" : submitHint(blocking);

  const submit = async () => {
    setBusy(true);
    setSubmitError(null);
    try {
      const body = { config_text: text, name: name.trim() || undefined, tags: tags.split(",").map((t) => t.trim()).filter(Boolean) };
      const run = await api.post<RunDetail>("/runs", body);
      sessionStorage.removeItem(DRAFT);
      navigate(`/runs/${run.id}`);
    } catch (e) {
      setSubmitError(e);
    } finally {
      setBusy(false);
    }
  };

  const loadTemplate = (t: Template) => {
    setText(t.config_text);
    if (!name) setName(t.name);
  };

  return (
    <main id="main">
      <div className="page-head">
        <h1>New run</h1>
      </div>
      <ErrorBox error={source.error} title="Could not load the run to clone" />
      <section aria-labelledby="tpl-title" className="templates">
        <h2 id="tpl-title" className="h-small">Start from a template</h2>
        <ErrorBox error={templates.error} title="Could not load templates" />
        <div className="template-list">
          {(templates.data ?? []).map((t) => (
            <button key={t.name} className="template" data-template={t.name} onClick={() => loadTemplate(t)} title={t.description}>
              <strong>{t.title}</strong>
              <span className="muted">{t.description}</span>
            </button>
          ))}
        </div>
      </section>
      <div className="form-row">
        <label>Name <input value={name} onChange={(e) => setName(e.target.value)} placeholder="optional" /></label>
        <label>Tags <input value={tags} onChange={(e) => setTags(e.target.value)} placeholder="comma, separated" /></label>
      </div>
      <div className="editor-layout">
        <div>
          <label className="editor-label" id="editor-label">Config (YAML) — Ctrl-Space completes keys; hover a key for its docs</label>
          <Suspense fallback={<div className="editor editor-loading">Loading the editor…</div>}>
            <ConfigEditor value={text} onChange={setText} lint={lintText} schema={schema.data} label="Run config (YAML)" />
          </Suspense>
        </div>
        <aside aria-label="Lint findings" className="findings-panel">
          <LintSummary state={current} />
          <FindingList findings={findings} onAllow={(rule, reason) => setText(addLintAllow(text, rule, reason))} />
        </aside>
      </div>
      <div className="submit-row">
        <button className="primary" data-testid="submit" disabled={!submittable} onClick={submit} aria-describedby="submit-why">
          {busy ? "Submitting…" : "Submit run"}
        </button>
        <span id="submit-why" className="muted">{why}</span>
      </div>
      <ErrorBox error={submitError} title={submitError instanceof ApiError && submitError.status === 422 ? "The server refused this config" : "Could not submit"} />
    </main>
  );
}

function LintSummary({ state }: { state: LintState | null }) {
  if (!state) return <p className="lint-status" aria-live="polite" tabIndex={-1}>Checking…</p>;
  if ("error" in state) return <div aria-live="polite"><ErrorBox error={state.error} title="Could not check the config" /></div>;
  const n = (s: string) => state.findings.filter((f) => f.severity === s && !f.allowed).length;
  const [e, w, i] = [n("error"), n("warning"), n("info")];
  const allowed = state.findings.filter((f) => f.allowed).length;
  return (
    <p className="lint-status" aria-live="polite" data-lint-errors={e} data-format={state.format} tabIndex={-1}
      title="Checked as a GRPO Lab run config: what Submit accepts">
      {e + w + i === 0 ? "✓ No problems found" : [e && `${e} error${e > 1 ? "s" : ""}`, w && `${w} warning${w > 1 ? "s" : ""}`, i && `${i} note${i > 1 ? "s" : ""}`].filter(Boolean).join(", ")}
      {allowed ? ` (${allowed} allowed)` : ""}
    </p>
  );
}

export function FindingList({ findings, onAllow }: { findings: Finding[]; onAllow?: (rule: string, reason: string) => void }) {
  if (!findings.length) return null;
  return (
    <ul className="findings">
      {findings.map((f, i) => (
        <li key={`${f.rule}-${i}`} className={`finding finding-${f.allowed ? "allowed" : f.severity}`} data-rule={f.rule} data-line={f.line ?? ""}>
          <div className="finding-head">
            <span className={`sev sev-${f.allowed ? "allowed" : f.severity}`}>{f.allowed ? "allowed" : f.severity}</span>{" "}
            <Link to={`/rules/${f.rule}`}>{f.rule} {f.name}</Link>
            {f.line ? <span className="muted"> · line {f.line}</span> : null}
            {f.from_default ? <span className="muted"> · from a default</span> : null}
          </div>
          <p>{f.message}</p>
          {f.allowed && f.allow_reason && <p className="muted">Allowed: {f.allow_reason}</p>}
          <details>
            <summary>Why and how to fix</summary>
            <p><strong>Why:</strong> {inline(f.why)}</p>
            <p><strong>Fix:</strong> {inline(f.fix)}</p>
          </details>
          {onAllow && f.severity === "error" && !f.allowed && f.rule !== "GL000" && <AllowForm rule={f.rule} onAllow={onAllow} />}
        </li>
      ))}
    </ul>
  );
}

function AllowForm({ rule, onAllow }: { rule: string; onAllow: (rule: string, reason: string) => void }) {
  const [open, setOpen] = useState(false);
  const [reason, setReason] = useState("");
  const [err, setErr] = useState<string | null>(null);
  const ref = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (open) ref.current?.focus();
  }, [open]);
  if (!open) return <button className="link-button" onClick={() => setOpen(true)}>Allow with a reason…</button>;
  return (
    <form className="allow-form" onSubmit={(e) => {
      e.preventDefault();
      if (reason.trim().length < 3) return setErr("Give a reason of a few words (it is recorded with the run).");
      try {
        onAllow(rule, reason);
        setOpen(false);
        // the form goes away with the finding's error: keep focus in the panel, on the new lint summary (B12)
        window.setTimeout(() => document.querySelector<HTMLElement>(".lint-status")?.focus(), 0);
      } catch (x) {
        setErr((x as Error).message);
      }
    }}>
      <label>Why does this run break {rule} on purpose?{" "}
        <input ref={ref} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="e.g. ablation of the seed's double normalization" />
      </label>
      <button type="submit">Allow</button> <button type="button" onClick={() => setOpen(false)}>Cancel</button>
      {err && <p className="error-text" role="alert">{err}</p>}
    </form>
  );
}
