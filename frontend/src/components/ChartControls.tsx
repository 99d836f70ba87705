// The view settings every chart on a page shares: smoothing, log scale and the x axis. Kept in localStorage so a
// researcher's choice survives reloads and is the same on the run page and in Compare.

import { useCallback, useState } from "react";
import { X_AXIS_LABELS, type XAxis } from "../lib/chartData";

export interface ChartView {
  /** EMA weight on the previous value, 0 (raw) … 0.99. */
  smoothing: number;
  log: boolean;
  xAxis: XAxis;
}

export const DEFAULT_VIEW: ChartView = { smoothing: 0, log: false, xAxis: "step" };
const KEY = "grpolab.chartView";

function stored(): ChartView {
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "{}") as Partial<ChartView>;
    return {
      smoothing: typeof v.smoothing === "number" && v.smoothing >= 0 && v.smoothing < 1 ? v.smoothing : 0,
      log: v.log === true,
      xAxis: v.xAxis === "time" || v.xAxis === "tokens" ? v.xAxis : "step",
    };
  } catch {
    return DEFAULT_VIEW;
  }
}

export function useChartView(): [ChartView, (change: Partial<ChartView>) => void] {
  const [view, setView] = useState<ChartView>(stored);
  const update = useCallback((change: Partial<ChartView>) => {
    setView((old) => {
      const next = { ...old, ...change };
      localStorage.setItem(KEY, JSON.stringify(next));
      return next;
    });
  }, []);
  return [view, update];
}

/** The toolbar above a page's charts. `axes` lists the x axes the runs' metrics can give. */
export function ChartControls({ view, onChange, axes }: { view: ChartView; onChange: (c: Partial<ChartView>) => void; axes: XAxis[] }) {
  const xAxis = axes.includes(view.xAxis) ? view.xAxis : "step";
  return (
    <div className="chart-controls" role="group" aria-label="chart settings">
      <label>
        Smoothing{" "}
        <input type="range" min={0} max={0.99} step={0.01} value={view.smoothing} aria-label="smoothing"
          aria-valuetext={view.smoothing ? `EMA weight ${view.smoothing}` : "off"}
          onChange={(e) => onChange({ smoothing: Number(e.target.value) })} />{" "}
        <output data-testid="smoothing-value">{view.smoothing ? view.smoothing.toFixed(2) : "off"}</output>
      </label>
      <label><input type="checkbox" checked={view.log} onChange={(e) => onChange({ log: e.target.checked })} /> Log scale</label>
      <label>
        X axis{" "}
        <select value={xAxis} onChange={(e) => onChange({ xAxis: e.target.value as XAxis })}>
          {axes.map((a) => <option key={a} value={a}>{X_AXIS_LABELS[a]}</option>)}
        </select>
      </label>
      <span className="muted hint">Hover a chart for values; drag to zoom, double-click to reset.</span>
    </div>
  );
}
