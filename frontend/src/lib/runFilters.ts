// The runs table's state as a URL (shareable, bookmarkable): filters, sort, extra columns. Core columns are sorted
// by the server (GET /runs?sort=&order=); config and metric columns by the browser, on the loaded page.

import type { RunDetail, RunStatus } from "../api/types";
import { inUnitInterval } from "./chartData";

export const SERVER_SORTS = ["created_at", "name", "status", "step", "last_reward", "finished_at"] as const;
export type ServerSort = (typeof SERVER_SORTS)[number];
export type Order = "asc" | "desc";

/** An extra column: `config:<dotted.key>` (a config value) or `metric:<name>` (the run's latest value). */
export type Column = `config:${string}` | `metric:${string}`;

export interface RunsQuery {
  status: RunStatus | "";
  /** Exact tag (a clicked chip). */
  tag: string;
  /** Tag prefix (typed): "dem" finds "demo". */
  tagPrefix: string;
  q: string;
  owner: string;
  /** A core column or an extra column. */
  sort: ServerSort | Column;
  order: Order;
  offset: number;
  archived: boolean;
  columns: Column[];
}

export const DEFAULT_QUERY: RunsQuery = {
  status: "",
  tag: "",
  tagPrefix: "",
  q: "",
  owner: "",
  sort: "created_at",
  order: "desc",
  offset: 0,
  archived: false,
  columns: [],
};

export function isColumn(s: string): s is Column {
  return /^(config|metric):[\w./-]{1,120}$/.test(s);
}

export function isServerSort(s: string): s is ServerSort {
  return (SERVER_SORTS as readonly string[]).includes(s);
}

export function readQuery(search: URLSearchParams): RunsQuery {
  const sort = search.get("sort") ?? "";
  const offset = Number(search.get("offset") ?? 0);
  return {
    status: (search.get("status") ?? "") as RunStatus | "",
    tag: search.get("tag") ?? "",
    tagPrefix: search.get("tag_prefix") ?? "",
    q: search.get("q") ?? "",
    owner: search.get("owner") ?? "",
    sort: isServerSort(sort) || isColumn(sort) ? sort : DEFAULT_QUERY.sort,
    order: search.get("order") === "asc" ? "asc" : "desc",
    offset: Number.isInteger(offset) && offset > 0 ? offset : 0,
    archived: search.get("archived") === "1",
    columns: (search.get("cols") ?? "").split(",").filter(isColumn),
  };
}

/** The page's URL search for a query (defaults left out, so a plain list is plain `/`). */
export function writeQuery(q: RunsQuery): string {
  const p = new URLSearchParams();
  if (q.status) p.set("status", q.status);
  if (q.tag) p.set("tag", q.tag);
  if (q.tagPrefix) p.set("tag_prefix", q.tagPrefix);
  if (q.q) p.set("q", q.q);
  if (q.owner) p.set("owner", q.owner);
  if (q.sort !== DEFAULT_QUERY.sort) p.set("sort", q.sort);
  if (q.order !== DEFAULT_QUERY.order) p.set("order", q.order);
  if (q.offset) p.set("offset", String(q.offset));
  if (q.archived) p.set("archived", "1");
  if (q.columns.length) p.set("cols", q.columns.join(","));
  const s = p.toString();
  return s ? `?${s}` : "";
}

/** The API request for a query: server sort only for core columns (extra columns sort the loaded page). */
export function apiQuery(q: RunsQuery, limit: number): Record<string, string | number | undefined> {
  const server = isServerSort(q.sort);
  return {
    status: q.status || undefined,
    tag: q.tag || undefined,
    tag_prefix: q.tagPrefix || undefined,
    q: q.q || undefined,
    owner: q.owner || undefined,
    archived: q.archived ? "true" : undefined,
    sort: server && q.sort !== "created_at" ? q.sort : undefined,
    order: server && q.order !== "desc" ? q.order : undefined,
    limit,
    offset: q.offset,
  };
}

/** Clicking a header: a new column sorts descending (numbers: biggest first), the same one flips. */
export function nextSort(q: RunsQuery, sort: ServerSort | Column): Pick<RunsQuery, "sort" | "order" | "offset"> {
  if (q.sort === sort) return { sort, order: q.order === "asc" ? "desc" : "asc", offset: 0 };
  return { sort, order: sort === "name" ? "asc" : "desc", offset: 0 };
}

export function parseTags(text: string): string[] {
  return [...new Set(text.split(",").map((t) => t.trim()).filter(Boolean))];
}

/** A dotted path into a config (`algorithm.estimator`, `lint.allow.0.rule`); undefined when absent. */
export function valueAt(obj: unknown, dotted: string): unknown {
  let cur: unknown = obj;
  for (const part of dotted.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[part];
  }
  return cur;
}

/** What a run shows in an extra column. Metrics: the last logged value, or the summary's final/eval value. */
export function columnValue(col: Column, run: RunDetail | undefined, lastMetrics: Record<string, number> | undefined): unknown {
  if (!run) return undefined;
  const [kind, key] = [col.slice(0, col.indexOf(":")), col.slice(col.indexOf(":") + 1)];
  if (kind === "config") return valueAt(run.config, key);
  const summary = run.summary ?? {};
  const final = (summary.final ?? {}) as Record<string, unknown>;
  for (const v of [summary[key], lastMetrics?.[key], final[key]]) if (typeof v === "number") return v;
  return undefined;
}

/** Compare two column values: numbers numerically, then text; missing values last in either order. */
export function compareValues(a: unknown, b: unknown, order: Order): number {
  const missingA = a === undefined || a === null;
  const missingB = b === undefined || b === null;
  if (missingA || missingB) return missingA === missingB ? 0 : missingA ? 1 : -1;
  const sign = order === "asc" ? 1 : -1;
  if (typeof a === "number" && typeof b === "number") return sign * (a - b);
  return sign * String(a).localeCompare(String(b), undefined, { numeric: true });
}

export function columnLabel(col: Column): string {
  return col.slice(col.indexOf(":") + 1);
}

/** Offered in the column picker (any other key can be typed). */
export const SUGGESTED_COLUMNS: Column[] = [
  "config:algorithm.estimator",
  "config:algorithm.norm_return",
  "config:algorithm.group_size",
  "config:optim.lr",
  "config:run.seed",
  "config:run.steps",
  "config:model.path",
  "config:env.id",
  "config:rollout.batch_size",
  "metric:rollout/success_rate",
  "metric:eval/success_rate",
  "metric:adv/std",
  "metric:loss/kl",
  "metric:entropy",
];

/**
 * The sparkline's scale: a reward that stays in [0, 1] is drawn on the fixed 0…1 scale, so a converged run at
 * 0.97–1.0 looks flat and 0 → 1 learning shows; any other reward on its own min…max, labelled with them.
 */
export function sparkScale(values: number[]): { lo: number; hi: number; fixed: boolean } {
  const finite = values.filter(Number.isFinite);
  if (inUnitInterval(finite)) return { lo: 0, hi: 1, fixed: true };
  const lo = finite.length ? Math.min(...finite) : 0;
  const hi = finite.length ? Math.max(...finite) : 1;
  // a flat line sits in the middle of a band around its value
  return hi > lo ? { lo, hi, fixed: false } : { lo: lo - (Math.abs(lo) || 1), hi: hi + (Math.abs(hi) || 1), fixed: false };
}
