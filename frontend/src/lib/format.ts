export function parseTime(s: string | null | undefined): number | null {
  if (!s) return null;
  // The API sends ISO 8601; a naive timestamp is UTC.
  const t = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(s) ? s : `${s}Z`);
  return Number.isNaN(t) ? null : t;
}

export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "—";
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, "0")}m`;
}

/** Duration of a run: from start to finish, or to `now` while it runs. */
export function runDuration(started: string | null, finished: string | null, now = Date.now()): string {
  const a = parseTime(started);
  if (a === null) return "—";
  const b = parseTime(finished) ?? now;
  return formatDuration(b - a);
}

export function formatTime(s: string | null | undefined): string {
  const t = parseTime(s);
  return t === null ? "—" : new Date(t).toLocaleString();
}

export function formatNumber(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  // whole numbers (parameters, tokens) stay readable: 134,000 rather than 1.34e+5
  if (Number.isInteger(v) && Math.abs(v) < 1e15) return v.toLocaleString("en-US");
  if (v !== 0 && (Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3)) return v.toExponential(2);
  return Number(v.toFixed(digits)).toString();
}
