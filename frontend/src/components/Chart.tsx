// A line chart (uPlot, canvas) a researcher can read: hover gives the x and every series' value (tooltip and
// legend), smoothing draws an EMA over the faint raw curve, log scale, integer step ticks. It also exposes what it
// draws for tests and assistive tech: `data-series` on the figure, and window.__charts[id].

import { useEffect, useMemo, useRef, useState } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import {
  alignSeries,
  downsample,
  extent,
  INTEGER_INCREMENTS,
  nearestPoint,
  paddedRange,
  pointMarks,
  positiveOnly,
  smoothEma,
  X_AXIS_LABELS,
  type Series,
} from "../lib/chartData";
import { formatNumber } from "../lib/format";
import { DEFAULT_VIEW, type ChartView } from "./ChartControls";

export interface ChartSeries extends Series {
  label: string;
}

interface Hover {
  x: number;
  left: number;
  top: number;
  width: number;
}

interface ChartDebug {
  title: string;
  view: ChartView;
  series: ChartSeries[];
  smoothed: (ChartSeries | null)[];
  hover: { x: number; values: (number | null)[] } | null;
}

declare global {
  interface Window {
    __charts?: Record<string, ChartDebug>;
  }
}

export const PALETTE = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
const MAX_POINTS = 600;

/** One run's curve as drawn: the raw points (and the smoothed ones) for the canvas, the full ones for hover. */
interface Drawn {
  label: string;
  color: string;
  raw: Series;
  smooth: Series | null;
  full: Series;
  fullSmooth: Series | null;
  dropped: number;
}

function prepare(series: ChartSeries[], view: ChartView): Drawn[] {
  return series.map((s, i) => {
    const sy = view.smoothing > 0 ? smoothEma(s.y, view.smoothing) : null;
    const full = view.log ? { x: s.x, y: positiveOnly(s.y).values } : s;
    const fullSmooth = sy ? { x: s.x, y: view.log ? positiveOnly(sy).values : sy } : null;
    return {
      label: s.label,
      color: PALETTE[i % PALETTE.length],
      raw: downsample(full, MAX_POINTS),
      smooth: fullSmooth ? downsample(fullSmooth, MAX_POINTS) : null,
      full,
      fullSmooth,
      dropped: view.log ? positiveOnly(s.y).dropped : 0,
    };
  });
}

function formatX(x: number, axis: ChartView["xAxis"]): string {
  return axis === "time" ? `${formatNumber(x, 1)} s` : axis === "step" ? String(Math.round(x)) : formatNumber(x, 0);
}

function plotOptions(drawn: Drawn[], view: ChartView, width: number, height: number, onHover: (u: uPlot) => void): uPlot.Options {
  const css = getComputedStyle(document.documentElement);
  const fg = css.getPropertyValue("--muted").trim() || "#666";
  const grid = css.getPropertyValue("--grid").trim() || "rgba(128,128,128,.2)";
  const axis = { stroke: fg, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid, width: 1 } };
  const lines: uPlot.Series[] = [];
  drawn.forEach((d, i) => {
    // later series dashed, so identical curves (same seed) stay visible on top of each other
    const dash = i ? [6, 4] : undefined;
    const base = { spanGaps: true, points: { show: false }, dash };
    if (d.smooth) lines.push({ ...base, label: `${d.label} (raw)`, stroke: `${d.color}44`, width: 1 });
    lines.push({ ...base, points: { ...pointMarks(d.raw), fill: d.color }, label: d.label, stroke: d.color, width: 2 });
  });
  const counting = view.xAxis !== "time";
  return {
    width,
    height,
    legend: { show: false },
    cursor: { drag: { x: true, y: false } },
    scales: {
      x: { time: false },
      y: view.log
        ? { distr: 3, log: 10, range: (_u, lo, hi) => (lo === null || hi === null ? [1, 10] : uPlot.rangeLog(lo, hi, 10, true)) }
        : { range: (_u, lo, hi) => paddedRange(lo, hi) },
    },
    axes: [
      {
        ...axis,
        label: X_AXIS_LABELS[view.xAxis],
        labelSize: 18,
        // whole steps and tokens only: no 1.5 early in a run (B15)
        ...(counting ? { incrs: INTEGER_INCREMENTS } : {}),
        values: (_u, vals) => vals.map((v) => formatNumber(v, counting ? 0 : 1)),
      },
      { ...axis, size: 56, values: (_u, vals) => vals.map((v) => formatNumber(v, 3)) },
    ],
    series: [{ label: X_AXIS_LABELS[view.xAxis] }, ...lines],
    hooks: { setCursor: [onHover] },
  };
}

export function Chart({ id, title, series, height = 180, view = DEFAULT_VIEW }: { id: string; title: string; series: ChartSeries[]; height?: number; view?: ChartView }) {
  const host = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const [hover, setHover] = useState<Hover | null>(null);
  const [hidden, setHidden] = useState<string[]>([]);
  const drawn = useMemo(() => prepare(series, view), [series, view]);
  const data = alignSeries(drawn.flatMap((d) => (d.smooth ? [d.raw, d.smooth] : [d.raw]))) as uPlot.AlignedData;
  const key = `${drawn.map((d) => d.label).join("|")}/${view.smoothing > 0}/${view.log}/${view.xAxis}`;
  const empty = drawn.every((d) => d.raw.x.length === 0);
  const drawnSignature = useRef("");

  const hoverValues = hover ? drawn.map((d) => nearestPoint(d.fullSmooth ?? d.full, hover.x)) : null;
  useEffect(() => {
    window.__charts = window.__charts ?? {};
    window.__charts[id] = {
      title,
      view,
      series: drawn.map((d) => ({ label: d.label, ...d.raw })),
      smoothed: drawn.map((d) => (d.smooth ? { label: d.label, ...d.smooth } : null)),
      hover: hover && hoverValues ? { x: hover.x, values: hoverValues.map((p) => p?.y ?? null) } : null,
    };
  });

  useEffect(() => {
    const el = host.current;
    if (!el || empty) return;
    const onHover = (u: uPlot) => {
      const idx = u.cursor.idx;
      const left = u.cursor.left ?? -1;
      if (idx === null || idx === undefined || left < 0) return setHover(null);
      const over = u.over.getBoundingClientRect();
      const box = el.getBoundingClientRect();
      setHover({ x: u.data[0][idx], left: over.left - box.left + left, top: over.top - box.top + (u.cursor.top ?? 0), width: box.width });
    };
    plot.current = new uPlot(plotOptions(drawn, view, Math.max(200, el.clientWidth), height, onHover), data, el);
    const ro = new ResizeObserver(() => plot.current?.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
      drawnSignature.current = "";
      setHover(null);
    };
    // re-create only when the set of series or the view changes; data updates go through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key, empty, height]);

  // new data only: a hover re-renders too, and setData would reset a drag-zoom and move the cursor
  const signature = `${key}:${drawn.map((d) => `${d.raw.x.length},${d.raw.x.at(-1)},${d.raw.y.at(-1)}`).join(";")}`;
  useEffect(() => {
    const u = plot.current;
    if (!u) return;
    if (drawnSignature.current !== signature) {
      drawnSignature.current = signature;
      u.setData(data);
    }
    // legend toggles: each run is one or two uPlot series (raw + smoothed)
    let k = 1;
    for (const d of drawn) {
      const show = !hidden.includes(d.label);
      for (let j = 0; j < (d.smooth ? 2 : 1); j++, k++) if (u.series[k]?.show !== show) u.setSeries(k, { show });
    }
  });

  const ext = extent(drawn.flatMap((d) => d.raw.y));
  const points = drawn.reduce((n, d) => n + d.raw.x.length, 0);
  const dropped = drawn.reduce((n, d) => n + d.dropped, 0);
  const values = hoverValues ?? drawn.map((d) => {
    const s = d.fullSmooth ?? d.full;
    return s.x.length ? { x: s.x[s.x.length - 1], y: s.y[s.y.length - 1] } : null;
  });
  const toggle = (label: string) => setHidden((h) => (h.includes(label) ? h.filter((l) => l !== label) : [...h, label]));
  return (
    <figure className="chart" data-chart={id} data-points={points} data-series={JSON.stringify(drawn.map((d) => ({ label: d.label, ...d.raw })))}>
      <figcaption>
        <span className="chart-title">{title}</span>
        {ext && <span className="sr-only">range {formatNumber(ext[0])} to {formatNumber(ext[1])}, {points} points</span>}
        {dropped > 0 && <span className="muted chart-note">{dropped} value{dropped > 1 ? "s" : ""} ≤ 0 not drawn (log scale)</span>}
      </figcaption>
      {empty ? <div className="chart-empty" style={{ height }}>no data yet</div> : (
        <div className="chart-canvas-wrap">
          <div ref={host} className="chart-canvas" />
          {hover && hoverValues && <ChartTooltip hover={hover} values={hoverValues} drawn={drawn} hidden={hidden} xAxis={view.xAxis} />}
        </div>
      )}
      <ChartLegend title={title} drawn={drawn} values={values} hovering={!!hover} hidden={hidden} onToggle={toggle} />
    </figure>
  );
}

/** At the cursor: the x value and each shown run's value there (smoothed, with the raw value beside it). */
function ChartTooltip({ hover, values, drawn, hidden, xAxis }: {
  hover: Hover;
  values: ({ x: number; y: number | null } | null)[];
  drawn: Drawn[];
  hidden: string[];
  xAxis: ChartView["xAxis"];
}) {
  const flip = hover.left > hover.width / 2;
  const style = flip ? { right: hover.width - hover.left + 12, top: hover.top + 8 } : { left: hover.left + 12, top: hover.top + 8 };
  // aria-hidden: the legend below carries the same values for assistive tech, without a live region per move
  return (
    <div className="chart-tooltip" data-testid="chart-tooltip" aria-hidden="true" style={style}>
      <div className="tt-x">{X_AXIS_LABELS[xAxis]} {formatX(hover.x, xAxis)}</div>
      {drawn.map((d, i) => {
        if (hidden.includes(d.label)) return null;
        const raw = d.fullSmooth ? nearestPoint(d.full, hover.x)?.y ?? null : undefined;
        return (
          <div key={d.label} className="tt-row">
            <span className="swatch" style={{ background: d.color }} /> {d.label}: <strong>{formatNumber(values[i]?.y)}</strong>
            {raw !== undefined && <span className="muted"> (raw {formatNumber(raw)})</span>}
            {xAxis !== "step" && values[i] && <span className="muted"> @ {formatX(values[i]!.x, xAxis)}</span>}
          </div>
        );
      })}
    </div>
  );
}

/** Under the chart: each run's value at the cursor (or its last value); a click hides or shows a run. */
function ChartLegend({ title, drawn, values, hovering, hidden, onToggle }: {
  title: string;
  drawn: Drawn[];
  values: ({ x: number; y: number | null } | null)[];
  hovering: boolean;
  hidden: string[];
  onToggle: (label: string) => void;
}) {
  return (
    <ul className="chart-legend" aria-label={`${title}: ${hovering ? "values at the cursor" : "last values"}`} data-hovering={hovering ? "true" : "false"}>
      {drawn.map((d, i) => (
        <li key={d.label} data-label={d.label} data-value={values[i]?.y ?? ""}>
          <button type="button" className={`legend-item${hidden.includes(d.label) ? " off" : ""}`} aria-pressed={!hidden.includes(d.label)}
            onClick={() => onToggle(d.label)} title={`show or hide ${d.label}`} disabled={drawn.length < 2}>
            <span className="swatch" style={{ background: d.color }} /> {drawn.length > 1 && <span className="legend-label">{d.label}</span>}
          </button>{" "}
          <span className="legend-value">{hovering ? "" : "last "}{formatNumber(values[i]?.y)}</span>
        </li>
      ))}
    </ul>
  );
}
