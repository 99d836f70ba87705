import type { RunStatus } from "../api/types";

const ICON: Record<RunStatus, string> = { queued: "◷", running: "▶", succeeded: "✓", failed: "✗", cancelled: "■" };

export function StatusBadge({ status }: { status: RunStatus }) {
  return (
    <span className={`status status-${status}`} data-status={status}>
      <span aria-hidden="true">{ICON[status] ?? "?"}</span> {status}
    </span>
  );
}

export function Progress({ step, total }: { step: number | null; total: number | null }) {
  const s = step ?? 0;
  const t = total ?? 0;
  const pct = t > 0 ? Math.min(100, (100 * s) / t) : 0;
  return (
    <div className="progress" role="progressbar" aria-valuemin={0} aria-valuemax={t || undefined} aria-valuenow={s}
      aria-label={`step ${s} of ${t || "?"}`}>
      <div className="progress-bar" style={{ width: `${pct}%` }} />
      <span className="progress-label">{t ? `${s} / ${t}` : s ? String(s) : "—"}</span>
    </div>
  );
}
