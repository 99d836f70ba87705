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
/** Drawn points are dots only where a line cannot carry the series: a line needs two points, so an eval curve of
 * the start and final evaluations (or a run's first step) drew nothing at all. A sparse series, up to
 * MARKED_POINTS values, gets dots on its line; a dense one stays a plain line. */
export const MARKED_POINTS = 30;
export function pointMarks(s: Series): { show: boolean; size: number } {
  const drawn = s.y.filter((v) => v !== null && Number.isFinite(v)).length;
  return { show: drawn > 0 && drawn <= MARKED_POINTS, size: 6 };
}

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

/**
 * Y range with a 5% margin; a flat series gets a band of ±10% of its value (±0.5 around 0). "Flat" includes a
 * spread at rounding level (a smoothed constant differs from it by ~1e-16): uPlot cannot tick such a range.
 */
export function paddedRange(lo: number | null, hi: number | null): [number, number] {
  if (lo === null || hi === null || !Number.isFinite(lo) || !Number.isFinite(hi)) return [0, 1];
  if (hi - lo <= Math.max(Math.abs(lo), Math.abs(hi)) * 1e-9 || hi - lo < 1e-12) {
    const mid = (lo + hi) / 2;
    lo = hi = Math.abs(mid) < 1e-12 ? 0 : mid;
    const pad = Math.abs(lo) * 0.1 || 0.5;
    return [lo - pad, hi + pad];
  }
  const pad = (hi - lo) * 0.05;
  return [lo - pad, hi + pad];
}

// -- what a researcher reads off a curve: x axis choice, smoothing, log scale, hover values ----------------------

/** What the x axis counts. `time` and `tokens` are derived from the trainer's per-step metrics (see xValues). */
export type XAxis = "step" | "time" | "tokens";

export const X_AXIS_LABELS: Record<XAxis, string> = {
  step: "step",
  time: "train time (s)",
  tokens: "sampled tokens",
};

const ROLLOUT_S = "time/rollout_s";
const LEARN_S = "time/learn_s";
const TOKENS_PER_S = "throughput/tokens_per_s";

/**
 * The x value of every point on the chosen axis. The trainer logs every step with its rollout and learn seconds
 * and tokens/s, so `time` is the running sum of rollout + learn seconds (checkpoint and eval time left out) and
 * `tokens` the running sum of tokens/s × those seconds. A gap of k steps counts its next logged step k times
 * (the missing steps are assumed alike). A point without the timing metrics gets null: unknown, not zero.
 */
export function xValues(points: MetricPoint[], axis: XAxis): (number | null)[] {
  if (axis === "step") return points.map((p) => p.step);
  let total = 0;
  let prevStep: number | null = null;
  return points.map((p) => {
    const roll = p.metrics[ROLLOUT_S];
    const learn = p.metrics[LEARN_S];
    const gap = prevStep === null ? 1 : Math.max(1, p.step - prevStep);
    prevStep = p.step;
    if (roll == null || learn == null || !Number.isFinite(roll) || !Number.isFinite(learn)) return null;
    const seconds = roll + learn;
    if (axis === "time") total += seconds * gap;
    else {
      const rate = p.metrics[TOKENS_PER_S];
      if (rate == null || !Number.isFinite(rate)) return null;
      total += rate * seconds * gap;
    }
    return total;
  });
}

/** Which axes these points can be drawn against (step always; the others when the timing metrics are logged). */
export function availableAxes(points: MetricPoint[]): XAxis[] {
  const has = (m: string) => points.some((p) => Number.isFinite(p.metrics[m]));
  const axes: XAxis[] = ["step"];
  if (has(ROLLOUT_S) && has(LEARN_S)) axes.push("time");
  if (has(ROLLOUT_S) && has(LEARN_S) && has(TOKENS_PER_S)) axes.push("tokens");
  return axes;
}

/**
 * One metric's series against the chosen x axis; points with an unknown x or a non-finite value are dropped.
 * `lastStepsOnly` > 0 keeps the last that many steps (time and tokens still count from the run's start).
 */
export function seriesOnAxis(points: MetricPoint[], metric: string, axis: XAxis, lastStepsOnly = 0): Series {
  const xs = xValues(points, axis);
  const cutoff = lastStepsOnly > 0 && points.length ? points[points.length - 1].step - lastStepsOnly : -Infinity;
  const x: number[] = [];
  const y: number[] = [];
  points.forEach((p, i) => {
    const v = p.metrics[metric];
    const xv = xs[i];
    if (p.step > cutoff && xv !== null && typeof v === "number" && Number.isFinite(v)) (x.push(xv), y.push(v));
  });
  return { x, y };
}

/**
 * Exponential moving average as TensorBoard draws it: weight in [0, 1) on the previous value, debiased so the
 * first points are not pulled towards 0. Nulls stay null and do not advance the average.
 */
export function smoothEma(values: (number | null)[], weight: number): (number | null)[] {
  const w = Math.min(Math.max(weight, 0), 0.999);
  if (w === 0) return values.slice();
  let last = 0;
  let n = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v)) return null;
    last = last * w + (1 - w) * v;
    n++;
    return last / (1 - w ** n);
  });
}

/** For a log axis: values that are not > 0 cannot be drawn; they become null and are counted. */
export function positiveOnly(values: (number | null)[]): { values: (number | null)[]; dropped: number } {
  let dropped = 0;
  const out = values.map((v) => {
    if (v !== null && v <= 0) {
      dropped++;
      return null;
    }
    return v;
  });
  return { values: out, dropped };
}

/**
 * The point of a series nearest to `x` (its own points, not the shared axis: in Compare the runs' x values
 * differ, and a hover must still give every run's value). Null for an empty series. Binary search: x sorted.
 */
export function nearestPoint(s: Series, x: number): { x: number; y: number | null } | null {
  const n = s.x.length;
  if (!n) return null;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (s.x[mid] < x) lo = mid + 1;
    else hi = mid;
  }
  const i = lo > 0 && Math.abs(s.x[lo - 1] - x) <= Math.abs(s.x[lo] - x) ? lo - 1 : lo;
  return { x: s.x[i], y: s.y[i] };
}

/**
 * Tick increments for an axis that counts whole things (steps, tokens): no 1.5 or 2.5 early in a run (B15).
 * uPlot picks the smallest increment that leaves enough room between ticks.
 */
export const INTEGER_INCREMENTS: number[] = (() => {
  const out: number[] = [];
  for (let mag = 1; mag <= 1e12; mag *= 10) out.push(mag, 2 * mag, 5 * mag);
  return out;
})();

/** Is every value in [0, 1]? Then a reward sparkline draws on the fixed 0…1 scale (an honest picture). */
export function inUnitInterval(values: number[]): boolean {
  return values.length > 0 && values.every((v) => v >= 0 && v <= 1);
}
