// Evaluation during training: with run.eval_every set, the trainer evaluates on fresh episodes every N steps and
// logs eval/success_rate and eval/reward_mean at those steps (training/pipeline.py). The start-of-run and final
// evaluations come from the run's summary once it has one. Drawn as step curves beside the training curves.

import { useEffect, useRef, useState } from "react";
import type { RunId } from "../api/artifacts";
import { api } from "../api/client";
import type { MetricPoint } from "../api/types";
import { mergePoints, seriesFor, type Series } from "../lib/chartData";
import { Chart, type ChartSeries } from "./Chart";

const EVAL_METRICS = [
  { metric: "eval/success_rate", title: "Eval success rate (fresh episodes)", start: "eval/success_rate_start" },
  { metric: "eval/reward_mean", title: "Eval reward (mean per episode)", start: "eval/reward_mean_start" },
];

export function EvalCurves({ runId, active, summary }: { runId: RunId; active: boolean; summary?: Record<string, unknown> | null }) {
  const [points, setPoints] = useState<MetricPoint[]>([]);
  const last = useRef(-1);

  useEffect(() => {
    let alive = true;
    setPoints([]);
    last.current = -1;
    const load = async () => {
      const since = last.current >= 0 ? `?since=${last.current}` : "";
      const page = await api.get<{ items: MetricPoint[] }>(`/runs/${runId}/metrics${since}`).catch(() => ({ items: [] as MetricPoint[] }));
      if (!alive || !page.items.length) return;
      last.current = page.items[page.items.length - 1].step;
      setPoints((old) => mergePoints(old, page.items));
    };
    void load();
    const t = active ? window.setInterval(() => void load(), 5000) : undefined;
    return () => {
      alive = false;
      if (t) window.clearInterval(t);
    };
  }, [runId, active]);

  const charts = EVAL_METRICS.map((c) => ({ ...c, series: evalSeries(points, c.metric, c.start, summary ?? null) }));
  if (charts.every((c) => c.series.every((s) => s.x.length === 0))) {
    return (
      <section aria-labelledby="eval-curves" data-testid="eval-curves" data-empty="true">
        <h2 id="eval-curves">Evaluation</h2>
        <p className="muted">No evaluation during training: set <code>run.eval_every</code> (and <code>run.eval_episodes</code>) to draw it here.</p>
      </section>
    );
  }
  return (
    <section aria-labelledby="eval-curves" data-testid="eval-curves">
      <h2 id="eval-curves">Evaluation</h2>
      <div className="chart-grid">
        {charts.map((c) => <Chart key={c.metric} id={`eval:${c.metric}`} title={c.title} series={c.series} />)}
      </div>
    </section>
  );
}

/** The periodic evaluations, with the start-of-run one at step 0 when the summary has it; the final evaluation
 * (more episodes, after the last step) as its own one-point series. */
export function evalSeries(points: MetricPoint[], metric: string, startKey: string, summary: Record<string, unknown> | null): ChartSeries[] {
  const during: Series = seriesFor(points, metric);
  const start = summary?.[startKey];
  if (typeof start === "number" && Number.isFinite(start) && !(during.x[0] === 0)) {
    during.x = [0, ...during.x];
    during.y = [start, ...during.y];
  }
  // without run.eval_every the only point before the end is the start-of-run evaluation: say so
  const onlyStart = during.x.length === 1 && during.x[0] === 0;
  const out: ChartSeries[] = [{ label: onlyStart ? "start" : "during training", ...during }];
  const final = summary?.[metric];
  const steps = summary?.steps;
  if (typeof final === "number" && Number.isFinite(final) && typeof steps === "number") {
    out.push({ label: "final", x: [steps], y: [final] });
  }
  return out;
}
