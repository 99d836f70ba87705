// Diff of two or more run configs, key by key (flattened dotted paths), for the Compare page.

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/**
 * Flatten nested objects to `section.key` → leaf value. Lists of scalars stay one value; lists of objects get
 * indices. Empty lists and mappings are left out, so `lint.allow: []` next to `lint.allow: [{rule, …}]` shows
 * as the added entry's keys, not as an extra `lint.allow` row.
 */
export function flatten(value: unknown, prefix = "", out: Map<string, Json> = new Map()): Map<string, Json> {
  if (Array.isArray(value) && !value.length) return out;
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => v !== null && typeof v === "object")) {
    value.forEach((v, i) => flatten(v, `${prefix}[${i}]`, out));
  } else {
    out.set(prefix, value as Json);
  }
  return out;
}

export function formatValue(v: Json | undefined): string {
  if (v === undefined) return "—";
  if (typeof v === "string") return v;
  return JSON.stringify(v);
}

export interface DiffRow {
  path: string;
  values: (Json | undefined)[];
  differs: boolean;
}

/** One row per key present in any config, in first-seen order; `differs` when any two values differ. */
export function diffConfigs(configs: unknown[]): DiffRow[] {
  const flats = configs.map((c) => flatten(c));
  const keys: string[] = [];
  const seen = new Set<string>();
  for (const f of flats) for (const k of f.keys()) if (!seen.has(k)) (seen.add(k), keys.push(k));
  return keys.map((path) => {
    const values = flats.map((f) => (f.has(path) ? f.get(path) : undefined));
    const first = JSON.stringify(values[0]);
    return { path, values, differs: values.some((v) => JSON.stringify(v) !== first) };
  });
}

export function differingRows(configs: unknown[]): DiffRow[] {
  return diffConfigs(configs).filter((r) => r.differs);
}
