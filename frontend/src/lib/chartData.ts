// Metric points → chart series: merging live updates, windows of the last N steps, downsampling for display,
// and aligning several runs on one x axis (Compare).

import type { MetricPoint } from "../api/types";

/** The curves the run page shows, in order, with readable titles. */
export const RUN_CHARTS: { metric: string; title: string }[] = [
  { metric: "rollout/reward_mean", title: "Reward (mean per episode)" },
  { metric: "rollout/success_rate", title: "Success rate" },
  { metric: "rollout/episode_len", title: "Episode length (turns)" },
  { metric: "adv/std", title: "Advantage std" },
  { metric: "adv/zero_frac", title: "Advantage zero fraction" },
  { metric: "loss/kl", title: "KL to reference" },
  { metric: "entropy", title: "Entropy" },
  { metric: "throughput/tokens_per_s", title: "Throughput (tokens/s)" },
];

/**
 * Merge new points into a step-sorted list. A step seen twice (SSE replay after a reconnect, or a retried run
 * that resumed from a checkpoint) keeps the newest values.
 */
export function mergePoints(existing: MetricPoint[], incoming: MetricPoint[]): MetricPoint[] {
  if (!incoming.length) return existing;
  const last = existing.length ? existing[existing.length - 1].step : -Infinity;
  // Fast path: live updates arrive in order.
  if (incoming.every((p, i) => p.step > (i ? incoming[i - 1].step : last))) return existing.concat(incoming);
  const byStep = new Map<number, MetricPoint>();
  for (const p of existing) byStep.set(p.step, p);
  for (const p of incoming) byStep.set(p.step, { step: p.step, metrics: { ...byStep.get(p.step)?.metrics, ...p.metrics } });
  return [...byStep.values()].sort((a, b) => a.step - b.step);
}

export interface Series {
  x: number[];
  y: (number | null)[];
}

/** One metric's series; steps where it was not logged (or is not finite) are dropped. */
export function seriesFor(points: MetricPoint[], metric: string): Series {
  const x: number[] = [];
  const y: number[] = [];
  for (const p of points) {
    const v = p.metrics[metric];
    if (typeof v === "number" && Number.isFinite(v)) {
      x.push(p.step);
      y.push(v);
    }
  }
  return { x, y };
}

/** Keep only the last `steps` steps (relative to the newest step). `steps <= 0` keeps everything. */
export function lastSteps(s: Series, steps: number): Series {
  if (steps <= 0 || !s.x.length) return s;
  const cutoff = s.x[s.x.length - 1] - steps;
  const i = s.x.findIndex((x) => x > cutoff);
  return { x: s.x.slice(i), y: s.y.slice(i) };
}

/**
 * At most `max` points for drawing: each bucket of consecutive points becomes its mean at the bucket's last
 * step. The first and last points are always kept exactly (so the newest value is what the chart ends on).
 */
export function downsample(s: Series, max: number): Series {
  const n = s.x.length;
  if (n <= max || max < 3) return s;
  const x = [s.x[0]];
  const y = [s.y[0]];
  const inner = n - 2;
  const buckets = max - 2;
  for (let b = 0; b < buckets; b++) {
    const lo = 1 + Math.floor((b * inner) / buckets);
    const hi = 1 + Math.floor(((b + 1) * inner) / buckets);
    let sum = 0;
    let cnt = 0;
    for (let i = lo; i < hi; i++) {
      const v = s.y[i];
      if (v !== null) (sum += v, cnt++);
    }
    x.push(s.x[hi - 1]);
    y.push(cnt ? sum / cnt : null);
  }
  x.push(s.x[n - 1]);
  y.push(s.y[n - 1]);
  return { x, y };
}

/** Several runs' series on one shared, sorted x axis (uPlot's aligned format); gaps are null. */
export function alignSeries(series: Series[]): [number[], ...(number | null)[][]] {
  const xs = [...new Set(series.flatMap((s) => s.x))].sort((a, b) => a - b);
  const index = new Map(xs.map((x, i) => [x, i]));
  const ys = series.map((s) => {
    const col: (number | null)[] = new Array(xs.length).fill(null);
    s.x.forEach((x, i) => (col[index.get(x)!] = s.y[i]));
    return col;
  });
  return [xs, ...ys];
}

/** Min/max of a series' finite values, for a readable summary next to the chart. */
export function extent(values: (number | null)[]): [number, number] | null {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) if (v !== null && Number.isFinite(v)) (lo = Math.min(lo, v), hi = Math.max(hi, v));
  return lo <= hi ? [lo, hi] : null;
}

/** Y range with a 5% margin; a flat series gets a band of ±10% of its value (±0.5 around 0). */
export function paddedRange(lo: number | null, hi: number | null): [number, number] {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (lo === hi) {
    const pad = Math.abs(lo) * 0.1 || 0.5;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}
