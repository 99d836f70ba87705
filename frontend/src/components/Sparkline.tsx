import { formatNumber } from "../lib/format";
import { sparkScale } from "../lib/runFilters";

const fmt = (v: number) => formatNumber(v, 2);

/**
 * A tiny inline SVG line of recent rewards. A reward in [0, 1] is drawn on the fixed 0…1 scale (a converged run
 * looks flat, learning shows as a rise); any other range on its own min…max, which is then written beside it.
 */
export function Sparkline({ values, width = 120, height = 28, label }: { values: number[]; width?: number; height?: number; label?: string }) {
  const clean = values.filter((v) => Number.isFinite(v));
  if (clean.length < 2) return null;
  const { lo, hi, fixed } = sparkScale(clean);
  // the label gives the values' own min and max (the scale of a flat line is padded around it)
  const [min, max] = [Math.min(...clean), Math.max(...clean)];
  const span = hi - lo;
  const pts = clean
    .map((v, i) => `${((i / (clean.length - 1)) * (width - 2) + 1).toFixed(1)},${(height - 1 - ((v - lo) / span) * (height - 2)).toFixed(1)}`)
    .join(" ");
  const scale = fixed ? "scale 0 to 1" : `values from ${fmt(min)} to ${fmt(max)}`;
  return (
    <span className="sparkline-wrap" data-scale={fixed ? "fixed" : "auto"}>
      <svg className="sparkline" width={width} height={height} viewBox={`0 0 ${width} ${height}`} role="img"
        aria-label={`${label ?? "reward"}: last ${clean.length} values, ${scale}`} data-points={clean.length}>
        <title>{`${label ?? "reward"} (${scale})`}</title>
        {fixed && <line x1={0} x2={width} y1={height - 1} y2={height - 1} className="spark-axis" />}
        <polyline points={pts} fill="none" stroke="currentColor" strokeWidth="1.5" />
      </svg>
      {!fixed && <span className="spark-range muted" aria-hidden="true">{min === max ? `= ${fmt(min)}` : `${fmt(min)}…${fmt(max)}`}</span>}
    </span>
  );
}
