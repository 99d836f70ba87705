// Sweep summaries → what the band chart draws and the final table prints.

import type { BandPoint, FinalStat } from "../api/sweeps";
import { formatNumber } from "./format";

export type BandMode = "std" | "ci";

export interface BandGroup {
  label: string;
  points: BandPoint[];
}

export interface BandSeries {
  label: string;
  x: number[];
  mean: number[];
  lo: number[];
  hi: number[];
  n: number[];
}

/** Mean, lower and upper edge per step; a step with one seed has no spread, so its band is the mean itself. */
export function bandSeries(group: BandGroup, mode: BandMode): BandSeries {
  const pts = [...group.points].sort((a, b) => a.step - b.step);
  const edge = (p: BandPoint, sign: 1 | -1): number => {
    if (mode === "std") return p.std === null ? p.mean : p.mean + sign * p.std;
    const end = sign > 0 ? p.ci_high : p.ci_low;
    return end ?? p.mean;
  };
  return {
    label: group.label,
    x: pts.map((p) => p.step),
    mean: pts.map((p) => p.mean),
    lo: pts.map((p) => edge(p, -1)),
    hi: pts.map((p) => edge(p, 1)),
    n: pts.map((p) => p.n),
  };
}

/** `0.512 ± 0.083` with the interval under it, or the mean and why there is no interval. */
export function formatStat(s: FinalStat | undefined): { main: string; sub: string } {
  if (!s || s.mean === null) return { main: "—", sub: s?.note ?? "" };
  if (s.ci_low === null || s.ci_high === null) return { main: formatNumber(s.mean), sub: s.note ?? "" };
  const half = (s.ci_high - s.ci_low) / 2;
  return {
    main: `${formatNumber(s.mean)} ± ${formatNumber(half)}`,
    sub: `95% CI [${formatNumber(s.ci_low)}, ${formatNumber(s.ci_high)}], n = ${s.n}`,
  };
}

/** A sweep run's link in the final table: its seed where the grid varies `run.seed`, else its short id (a grid
 * without a seed key has no seed per run to name, and "seed –" read as a missing value). */
export function runLinkLabel(seed: unknown, runId: string): string {
  return seed === null || seed === undefined ? `run ${runId.slice(0, 6)}` : `seed ${String(seed)}`;
}
