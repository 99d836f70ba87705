// Shapes of the sweeps endpoints (/api/v1/sweeps, api/sweep_schemas.py) and the grid helpers of the form.

import type { FieldErrorItem, Finding, RunSummary } from "./types";

export interface AllowItem {
  rule: string;
  reason: string;
}

/** POST /sweeps and /sweeps/preview. */
export interface SweepCreate {
  name: string;
  config_text: string;
  grid: Record<string, unknown[]>;
  project?: string;
  tags?: string[];
  allow?: AllowItem[];
}

export interface ArmCheck {
  index: number;
  overrides: Record<string, unknown>;
  label: string;
  ok: boolean;
  code: string | null;
  message: string | null;
  errors: FieldErrorItem[];
  findings: Finding[];
}

export interface SweepPreview {
  count: number;
  ok: boolean;
  arms: ArmCheck[];
}

export interface Sweep {
  id: string;
  name: string;
  project: string;
  owner: string | null;
  created_at: string;
  archived: boolean;
  grid: Record<string, unknown[]>;
  runs: number;
  counts: Record<string, number>;
  status: "queued" | "running" | "finished";
}

export interface SweepList {
  items: Sweep[];
  total: number;
}

export interface SweepRun extends RunSummary {
  sweep_arm: Record<string, unknown> | null;
}

export interface SweepDetail extends Sweep {
  config_text: string;
  items: SweepRun[];
}

export interface BandPoint {
  step: number;
  n: number;
  mean: number;
  std: number | null;
  ci_low: number | null;
  ci_high: number | null;
}

export interface FinalStat {
  n: number;
  mean: number | null;
  std: number | null;
  ci_low: number | null;
  ci_high: number | null;
  values: number[];
  note: string | null;
}

export interface SweepGroup {
  key: string;
  label: string;
  overrides: Record<string, unknown>;
  run_ids: string[];
  seeds: unknown[];
  statuses: string[];
  bands: Record<string, BandPoint[]>;
  final: Record<string, FinalStat>;
}

export interface SweepSummary {
  sweep_id: string;
  metrics: string[];
  confidence: number;
  groups: SweepGroup[];
}

/**
 * One grid row's text as values: `grpo, rloo` → ["grpo", "rloo"]; numbers, true/false and null are read as
 * such (`0, 1e-3`), anything else stays text; a row starting with `[` is a JSON list (values with commas).
 */
export function parseValues(text: string): unknown[] {
  const t = text.trim();
  if (!t) return [];
  if (t.startsWith("[")) {
    const parsed: unknown = JSON.parse(t);
    if (!Array.isArray(parsed)) throw new Error("a value list starting with [ must be a JSON list");
    return parsed;
  }
  return t
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s !== "")
    .map((s) => {
      try {
        return JSON.parse(s) as unknown;
      } catch {
        return s;
      }
    });
}

export interface GridRow {
  key: string;
  values: string;
}

/** The grid of the form's rows (rows without a key are ignored), or the first row's problem. */
export function gridOf(rows: GridRow[]): { grid: Record<string, unknown[]>; error: string | null } {
  const grid: Record<string, unknown[]> = {};
  for (const row of rows) {
    const key = row.key.trim();
    if (!key) continue;
    if (key in grid) return { grid, error: `the key ${key} is listed twice` };
    try {
      grid[key] = parseValues(row.values);
    } catch (e) {
      return { grid, error: `${key}: ${(e as Error).message}` };
    }
    if (!grid[key].length) return { grid, error: `${key}: give at least one value` };
  }
  return { grid, error: null };
}

/** How many runs the grid makes (the product of its value counts; 0 for an empty grid). */
export function armCount(grid: Record<string, unknown[]>): number {
  const sizes = Object.values(grid).map((v) => v.length);
  return sizes.length ? sizes.reduce((a, b) => a * b, 1) : 0;
}
