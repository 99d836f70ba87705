// A run's files: checkpoints to download, the merged Hugging Face export (asked of a worker, then downloaded),
// metrics as CSV and the resolved config (every default filled in). Downloads go through fetch + Blob with the
// bearer token (api/artifacts.ts: download), so no token ever appears in a link.

import { useEffect, useState } from "react";
import { artifacts, download, downloads, formatBytes, type ExportState, type RunId } from "../api/artifacts";
import { useLoad } from "../api/hooks";
import { formatTime } from "../lib/format";
import { ErrorBox } from "./ErrorBox";
import "./artifacts.css";

export function Artifacts({ runId, active }: { runId: RunId; active: boolean }) {
  const ckpts = useLoad((s) => artifacts.checkpoints(runId, s), [runId], active ? 10_000 : 0);
  const [busy, setBusy] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const save = async (key: string, d: { path: string; filename: string }) => {
    setError(null);
    setBusy(key);
    try {
      await download(d.path, d.filename);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(null);
    }
  };

  const items = ckpts.data?.items ?? [];
  return (
    <section aria-labelledby="artifacts" className="artifacts" data-testid="artifacts">
      <h2 id="artifacts">Artifacts</h2>
      <ErrorBox error={error ?? ckpts.error} title="That download did not work" />
      <div className="links">
        <button type="button" onClick={() => save("csv", downloads.metricsCsv(runId))} disabled={busy === "csv"}>
          Metrics CSV
        </button>
        <button type="button" onClick={() => save("yaml", downloads.resolvedYaml(runId))} disabled={busy === "yaml"}>
          Resolved config (YAML)
        </button>
      </div>
      <h3>Checkpoints</h3>
      {items.length === 0 ? (
        <p className="muted">{ckpts.loading && !ckpts.data ? "Loading…" : "No checkpoint yet (run.checkpoint_every, and the end of the run)."}</p>
      ) : (
        <ul data-testid="checkpoints">
          {items.map((c) => (
            <li key={c.step} data-step={c.step}>
              <strong>step {c.step}</strong>
              <span className="muted">{formatBytes(c.size)} · {c.files.length} files · {formatTime(c.created_at)}</span>
              <button type="button" onClick={() => save(`ckpt-${c.step}`, downloads.checkpoint(runId, c.step))}
                disabled={busy === `ckpt-${c.step}`} aria-label={`download checkpoint of step ${c.step}`}>
                {busy === `ckpt-${c.step}` ? "Downloading…" : "Download .tar.gz"}
              </button>
            </li>
          ))}
        </ul>
      )}
      <ExportPanel runId={runId} hasCheckpoint={items.length > 0} onDownload={(step) => save("export", downloads.exportArchive(runId, step))} />
      <ResolvedConfig runId={runId} />
    </section>
  );
}

const EXPORT_TEXT: Record<ExportState["status"], string> = {
  none: "Not exported yet.",
  queued: "Queued on a worker of this run's queue…",
  running: "Exporting on a worker…",
  succeeded: "Ready.",
  failed: "Failed.",
};

function ExportPanel({ runId, hasCheckpoint, onDownload }: { runId: RunId; hasCheckpoint: boolean; onDownload: (step: number) => void }) {
  const state = useLoad((s) => artifacts.exportState(runId, s), [runId]);
  const [error, setError] = useState<unknown>(null);
  const status = state.data?.status ?? "none";
  const pending = status === "queued" || status === "running";

  useEffect(() => {
    if (!pending) return;
    const t = window.setInterval(state.reload, 2000);
    return () => window.clearInterval(t);
  }, [pending, state.reload]);

  const ask = async () => {
    setError(null);
    try {
      state.setData(await artifacts.requestExport(runId));
    } catch (e) {
      setError(e);
    }
  };

  return (
    <div data-testid="export" data-status={status}>
      <h3>Hugging Face export</h3>
      <p className="muted">
        The latest checkpoint as a plain model folder (LoRA merged): <code>from_pretrained</code> and vLLM load it.
      </p>
      <ErrorBox error={error} title="Could not start the export" />
      <p>
        {EXPORT_TEXT[status]}
        {state.data?.step !== undefined && state.data?.step !== null && status !== "none" && ` (step ${state.data.step})`}
        {state.data?.error && <span className="muted"> {state.data.error}</span>}
      </p>
      <div className="links">
        <button type="button" onClick={ask} disabled={!hasCheckpoint || pending}>
          {status === "succeeded" || status === "failed" ? "Export again" : "Export"}
        </button>
        {status === "succeeded" && typeof state.data?.step === "number" && (
          <button type="button" onClick={() => onDownload(state.data!.step as number)}>Download export .tar.gz</button>
        )}
      </div>
    </div>
  );
}

function ResolvedConfig({ runId }: { runId: RunId }) {
  const [open, setOpen] = useState(false);
  const resolved = useLoad((s) => (open ? artifacts.resolvedConfig(runId, s) : Promise.resolve(null)), [runId, open]);
  return (
    <details onToggle={(e) => setOpen((e.currentTarget as HTMLDetailsElement).open)} data-testid="resolved-config">
      <summary>Resolved config (every default filled in)</summary>
      <ErrorBox error={resolved.error} title="Could not load the resolved config" />
      {resolved.data ? <pre className="code config-text">{resolved.data.yaml}</pre> : open && <p className="muted">Loading…</p>}
    </details>
  );
}
