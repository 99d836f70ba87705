// Curves pooled over seeds: one mean line per group with a shaded band (mean ± std, or the 95% t-interval of
// the mean). Like Chart, the drawn numbers are exposed for tests and assistive tech: `data-series` on the figure
// and window.__bandCharts[id]; hovering shows each group's mean and band edges in the legend.

import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import { bandSeries, type BandGroup, type BandMode, type BandSeries } from "../lib/bands";
import { alignSeries, extent, paddedRange, type Series } from "../lib/chartData";
import { formatNumber } from "../lib/format";

declare global {
  interface Window {
    __bandCharts?: Record<string, { title: string; mode: BandMode; series: BandSeries[] }>;
  }
}

const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];

// whole steps only on the x axis (no "1.5")
const STEP_INCREMENTS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100000];
// the legend lists each group's mean (its read-out gives the band's edges); the edge series' rows are hidden
const LEGEND_CSS = ".band-chart .u-legend .band-edge { display: none; }";

function withAlpha(hex: string, alpha: number): string {
  const v = parseInt(hex.slice(1), 16);
  return `rgba(${(v >> 16) & 255}, ${(v >> 8) & 255}, ${v & 255}, ${alpha})`;
}

export function BandChart({ id, title, groups, mode, height = 220 }: { id: string; title: string; groups: BandGroup[]; mode: BandMode; height?: number }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shown = groups.map((g) => bandSeries(g, mode));
  // three series per group on one x axis: mean, lower edge, upper edge
  const flat: Series[] = shown.flatMap((s) => [
    { x: s.x, y: s.mean },
    { x: s.x, y: s.lo },
    { x: s.x, y: s.hi },
  ]);
  const data = alignSeries(flat) as uPlot.AlignedData;
  const key = `${mode}|${shown.map((s) => s.label).join("|")}`;
  const empty = shown.every((s) => s.x.length === 0);

  useEffect(() => {
    window.__bandCharts = window.__bandCharts ?? {};
    window.__bandCharts[id] = { title, mode, series: shown };
  });

  useEffect(() => {
    const el = host.current;
    if (!el || empty) return;
    const css = getComputedStyle(el);
    const fg = css.getPropertyValue("--muted").trim() || "#666";
    const grid = css.getPropertyValue("--grid").trim() || "rgba(128,128,128,.2)";
    const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
    const series: uPlot.Series[] = [{ label: "step" }];
    const bands: uPlot.Band[] = [];
    shown.forEach((s, i) => {
      const color = PALETTE[i % PALETTE.length];
      const base = 1 + i * 3;
      series.push(
        {
          label: s.label,
          stroke: color,
          width: 2,
          spanGaps: true,
          points: { show: false },
          // the hover read-out of a group: its mean and the band's edges at that step (the edge rows are hidden)
          value: (u, v, _si, idx) =>
            v === null || v === undefined || idx === null
              ? "–"
              : `${formatNumber(v)} [${formatNumber(u.data[base + 1][idx] as number | null)}, ${formatNumber(u.data[base + 2][idx] as number | null)}]`,
        },
        { label: `${s.label} lower`, class: "band-edge", stroke: withAlpha(color, 0.35), width: 1, spanGaps: true, points: { show: false } },
        { label: `${s.label} upper`, class: "band-edge", stroke: withAlpha(color, 0.35), width: 1, spanGaps: true, points: { show: false } },
      );
      bands.push({ series: [base + 2, base + 1], fill: withAlpha(color, 0.15) });
    });
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true, live: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false }, y: { range: (_u, lo, hi) => paddedRange(lo, hi) } },
      axes: [{ ...axis, label: "step", labelSize: 18, incrs: STEP_INCREMENTS }, { ...axis, size: 56, values: (_u, vals) => vals.map((v) => formatNumber(v, 3)) }],
      series,
      bands,
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
    // re-create only when the groups or the band kind change; data updates go through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, empty, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const ext = extent(shown.flatMap((s) => [...s.lo, ...s.hi]));
  const points = shown.reduce((n, s) => n + s.x.length, 0);
  const bandName = mode === "std" ? "mean ± std over seeds" : "mean and 95% interval over seeds";
  return (
    <figure className="chart band-chart" data-chart={id} data-band={mode} data-points={points} data-series={JSON.stringify(shown)}>
      <figcaption>
        <span className="chart-title">{title}</span>
        <span className="chart-last">{bandName}</span>
        {ext && <span className="sr-only">range {formatNumber(ext[0])} to {formatNumber(ext[1])}, {points} points</span>}
      </figcaption>
      <style>{LEGEND_CSS}</style>
      {empty ? <div className="chart-empty" style={{ height }}>no data yet</div> : <div ref={host} className="chart-canvas" />}
    </figure>
  );
}
