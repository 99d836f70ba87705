// Config and latest metrics of the runs on screen, for the runs table's config and metric columns. A run's config
// never changes, so each run is fetched once; its metrics again only when its step or status moved.

import { useEffect, useState } from "react";
import { api } from "../api/client";
import type { MetricPoint, RunDetail, RunSummary } from "../api/types";

export interface RunExtras {
  detail: RunDetail;
  /** The newest logged value of every metric (eval metrics are logged only every eval_every steps). */
  last: Record<string, number>;
}

const cache = new Map<string, { version: string; extras: RunExtras }>();

const version = (r: RunSummary) => `${r.status}:${r.step}:${r.attempts}`;

async function fetchExtras(r: RunSummary, withMetrics: boolean): Promise<RunExtras> {
  const id = String(r.id);
  const [detail, metrics] = await Promise.all([
    api.get<RunDetail>(`/runs/${id}`),
    withMetrics ? api.get<{ items: MetricPoint[] }>(`/runs/${id}/metrics?since=${Math.max(-1, (r.step ?? 0) - 200)}`) : Promise.resolve({ items: [] }),
  ]);
  const last: Record<string, number> = {};
  for (const p of metrics.items) for (const [k, v] of Object.entries(p.metrics)) if (typeof v === "number") last[k] = v;
  return { detail, last };
}

export function useRunDetails(runs: RunSummary[], enabled: boolean, withMetrics: boolean): Map<string, RunExtras> {
  const [, bump] = useState(0);
  const key = runs.map((r) => `${r.id}@${version(r)}`).join(",");
  useEffect(() => {
    if (!enabled) return;
    let alive = true;
    const stale = runs.filter((r) => cache.get(String(r.id))?.version !== `${version(r)}/${withMetrics}`);
    // a few at a time: a page of 50 runs must not become 100 simultaneous requests
    const queue = [...stale];
    const worker = async () => {
      for (let r = queue.shift(); r && alive; r = queue.shift()) {
        try {
          cache.set(String(r.id), { version: `${version(r)}/${withMetrics}`, extras: await fetchExtras(r, withMetrics) });
          bump((n) => n + 1);
        } catch {
          // shown as empty cells; the next refresh tries again
        }
      }
    };
    void Promise.all([worker(), worker(), worker(), worker()]);
    return () => {
      alive = false;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, enabled, withMetrics]);
  const out = new Map<string, RunExtras>();
  for (const r of runs) {
    const hit = cache.get(String(r.id));
    if (hit) out.set(String(r.id), hit.extras);
  }
  return out;
}
