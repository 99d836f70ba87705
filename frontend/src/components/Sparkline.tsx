import { extent } from "../lib/chartData";

/** A tiny inline SVG line of recent rewards (no chart library needed for 100 points). */
export function Sparkline({ values, width = 120, height = 28, label }: { values: number[]; width?: number; height?: number; label?: string }) {
  const clean = values.filter((v) => Number.isFinite(v));
  const ext = extent(clean);
  if (!ext || clean.length < 2) return <span className="muted" aria-label={label}>—</span>;
  const [lo, hi] = ext;
  const span = hi - lo || 1;
  const pts = clean
    .map((v, i) => `${((i / (clean.length - 1)) * (width - 2) + 1).toFixed(1)},${(height - 1 - ((v - lo) / span) * (height - 2)).toFixed(1)}`)
    .join(" ");
  return (
    <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img"
      aria-label={label ?? `reward from ${lo.toFixed(2)} to ${hi.toFixed(2)}`} data-points={clean.length}>
      <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.5" />
    </svg>
  );
}
