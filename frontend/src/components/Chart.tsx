// A line chart (uPlot, canvas) that also exposes its data for tests and assistive tech: `data-series` on the
// figure holds the drawn points as JSON, and window.__charts[id] the same object.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { alignSeries, downsample, extent, paddedRange, type Series } from "../lib/chartData";
import { formatNumber } from "../lib/format";

export interface ChartSeries extends Series {
  label: string;
}

declare global {
  interface Window {
    __charts?: Record<string, { title: string; series: ChartSeries[] }>;
  }
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
const MAX_POINTS = 600;

export function Chart({ id, title, series, height = 180 }: { id: string; title: string; series: ChartSeries[]; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shown = series.map((s) => ({ ...downsample(s, MAX_POINTS), label: s.label }));
  const data = alignSeries(shown) as uPlot.AlignedData;
  const key = shown.map((s) => s.label).join("|");
  const empty = shown.every((s) => s.x.length === 0);

  useEffect(() => {
    window.__charts = window.__charts ?? {};
    window.__charts[id] = { title, series: shown };
  });

  useEffect(() => {
    const el = host.current;
    if (!el || empty) return;
    const css = getComputedStyle(el);
    const fg = css.getPropertyValue("--muted").trim() || "#666";
    const grid = css.getPropertyValue("--grid").trim() || "rgba(128,128,128,.2)";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: shown.length > 1, live: false },
      cursor: { drag: { x: true, y: false } },
      // a flat series (e.g. KL = 0 with kl_coef 0) gets a small band around its value, not uPlot's 0…100
      scales: { x: { time: false }, y: { range: (_u, lo, hi) => paddedRange(lo, hi) } },
      axes: [{ ...axis, label: "step", labelSize: 18 }, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => formatNumber(v, 3)) }],
      series: [
        { label: "step" },
        // later series dashed, so identical curves (same seed) stay visible on top of each other
        ...shown.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          dash: i ? [6, 4] : undefined,
          spanGaps: true,
          points: { show: false },
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // re-create only when the set of series changes; data updates go through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, empty, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const last = shown[0]?.y[shown[0].y.length - 1];
  const ext = extent(shown.flatMap((s) => s.y));
  const points = shown.reduce((n, s) => n + s.x.length, 0);
  return (
    <figure className="chart" data-chart={id} data-points={points} data-series={JSON.stringify(shown)}>
      <figcaption>
        <span className="chart-title">{title}</span>
        {shown.length === 1 && last !== undefined && <span className="chart-last">last {formatNumber(last)}</span>}
        {ext && <span className="sr-only">range {formatNumber(ext[0])} to {formatNumber(ext[1])}, {points} points</span>}
      </figcaption>
      {empty ? <div className="chart-empty" style={{ height }}>no data yet</div> : <div ref={host} className="chart-canvas" />}
    </figure>
  );
}
