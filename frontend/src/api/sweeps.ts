// Shapes of the sweeps endpoints (/api/v1/sweeps, api/sweep_schemas.py) and the grid helpers of the form.

import { request } from "./client";
import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type AllowItem = Schemas["AllowItem"];
/** POST /sweeps and /sweeps/preview. */
export type SweepCreate = Schemas["SweepCreate"];
export type ArmCheck = Schemas["ArmCheck"];
export type SweepPreview = Schemas["SweepPreview"];
export type Sweep = Schemas["SweepOut"];
export type SweepList = Schemas["SweepList"];
export type SweepRun = Schemas["SweepRun"];
export type SweepDetail = Schemas["SweepDetailOut"];
/** PATCH /sweeps/{id}: rename, notes, archive (the owner or an admin). */
export type SweepPatch = Schemas["SweepPatch"];
export type BandPoint = Schemas["BandPoint"];
export type FinalStat = Schemas["FinalStat"];
export type SweepGroup = Schemas["SweepGroup"];
export type SweepSummary = Schemas["SweepSummary"];

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

export function patchSweep(id: string, body: SweepPatch): Promise<SweepDetail> {
  return request<SweepDetail>("PATCH", `/sweeps/${encodeURIComponent(id)}`, body);
}

/**
 * The sweeps list's "show archived" toggle lives in the URL (`/sweeps?archived=1`, shareable like the runs
 * filters); shown, archived sweeps are listed with the others (`archived=any`), not instead of them.
 */
export function showArchived(search: URLSearchParams): boolean {
  return search.get("archived") === "1";
}

export function sweepsPageSearch(show: boolean): string {
  return show ? "?archived=1" : "";
}

export function sweepsRequest(show: boolean, limit = 100): string {
  return `/sweeps?limit=${limit}${show ? "&archived=any" : ""}`;
}
