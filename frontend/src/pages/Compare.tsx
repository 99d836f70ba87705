import { useState } from "react";
import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import type { MetricPoint, RunDetail, RunList } from "../api/types";
import { Chart } from "../components/Chart";
import { ChartControls, useChartView } from "../components/ChartControls";
import { ErrorBox } from "../components/ErrorBox";
import { StatusBadge } from "../components/StatusBadge";
import { availableAxes, RUN_CHARTS, seriesOnAxis } from "../lib/chartData";
import { diffConfigs, formatValue } from "../lib/configDiff";
import { formatNumber, formatTime } from "../lib/format";
import { useDocumentTitle } from "../lib/session";
import { Link, navigate, useLocation } from "../router";

interface Loaded {
  run: RunDetail;
  points: MetricPoint[];
}

export function Compare() {
  const { search } = useLocation();
  const ids = (search.get("ids") ?? "").split(",").map((s) => s.trim()).filter(Boolean);
  if (ids.length < 2) return <Picker initial={ids} />;
  return <Comparison ids={ids} />;
}

function Picker({ initial }: { initial: string[] }) {
  const [selected, setSelected] = useState<string[]>(initial);
  const runs = useLoad((s) => api.get<RunList>("/runs?limit=100", s), []);
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  useDocumentTitle("Compare runs");
  return (
    <main id="main">
      <div className="page-head">
        <h1>Compare runs</h1>
        <button className="primary" disabled={selected.length < 2} onClick={() => navigate(`/compare?ids=${selected.join(",")}`)}>
          {selected.length < 2 ? "Compare (pick two or more)" : `Compare ${selected.length} runs`}
        </button>
      </div>
      <p className="muted">Pick two or more runs: their curves are overlaid and their configs diffed.</p>
      <ErrorBox error={runs.error} title="Could not load runs" />
      <fieldset className="picker">
        <legend className="sr-only">Runs</legend>
        {(runs.data?.items ?? []).map((r) => {
          const id = String(r.id);
          return (
            <label key={id} className="pick" data-run-id={id}>
              <input type="checkbox" checked={selected.includes(id)} onChange={() => toggle(id)} />
              <span>{r.name || `run ${id}`}</span> <StatusBadge status={r.status} /> <span className="muted">{formatTime(r.created_at)}</span>
            </label>
          );
        })}
        {runs.data && !runs.data.items.length && <p>No runs yet. <Link to="/new">Start one</Link>.</p>}
      </fieldset>
    </main>
  );
}

function Comparison({ ids }: { ids: string[] }) {
  const [allKeys, setAllKeys] = useState(false);
  const [view, setView] = useChartView();
  const data = useLoad(
    async (signal) =>
      Promise.all(
        ids.map(async (id): Promise<Loaded> => {
          const [run, m] = await Promise.all([
            api.get<RunDetail>(`/runs/${id}`, signal),
            api.get<{ items: MetricPoint[] }>(`/runs/${id}/metrics`, signal),
          ]);
          return { run, points: m.items };
        }),
      ),
    [ids.join(",")],
    5000,
  );
  const loaded = data.data ?? [];
  const label = (r: RunDetail) => r.name || `run ${r.id}`;
  const rows = diffConfigs(loaded.map((l) => l.run.config));
  const shownRows = allKeys ? rows : rows.filter((r) => r.differs);
  // an axis every run can be drawn on (a run without timing metrics keeps the chart on steps)
  const axes = loaded.length ? availableAxes(loaded[0].points).filter((a) => loaded.every((l) => availableAxes(l.points).includes(a))) : ["step" as const];
  const chartView = { ...view, xAxis: axes.includes(view.xAxis) ? view.xAxis : "step" as const };
  useDocumentTitle(`Compare ${loaded.map((l) => label(l.run)).join(", ") || `${ids.length} runs`}`);
  return (
    <main id="main">
      <div className="page-head">
        <h1>Compare {ids.length} run{ids.length === 1 ? "" : "s"}</h1>
        <Link to={`/compare?ids=`} className="button">Change selection</Link>
      </div>
      <ErrorBox error={data.error} title="Could not load these runs" />
      {!data.data && !data.error && <p>Loading…</p>}
      {loaded.length > 0 && (
        <>
          <ul className="legend">
            {loaded.map((l) => (
              <li key={String(l.run.id)}><Link to={`/runs/${l.run.id}`}>{label(l.run)}</Link> <StatusBadge status={l.run.status} /></li>
            ))}
          </ul>
          <ChartControls view={chartView} onChange={setView} axes={axes} />
          <div className="chart-grid">
            {RUN_CHARTS.map((c) => (
              <Chart key={c.metric} id={`compare:${c.metric}`} title={c.title} view={chartView}
                series={loaded.map((l) => ({ label: label(l.run), ...seriesOnAxis(l.points, c.metric, chartView.xAxis) }))} />
            ))}
          </div>
          <FinalTable loaded={loaded} label={label} />
          <section aria-labelledby="diff">
            <div className="section-head">
              <h2 id="diff">Config differences</h2>
              <label><input type="checkbox" checked={allKeys} onChange={(e) => setAllKeys(e.target.checked)} /> show every key</label>
            </div>
            {!rows.some((r) => r.differs) && <p>The configs are identical.</p>}
            <div className="table-scroll">
            <table className="diff">
              <thead>
                <tr><th scope="col">Key</th>{loaded.map((l) => <th scope="col" key={String(l.run.id)}>{label(l.run)}</th>)}</tr>
              </thead>
              <tbody>
                {shownRows.map((row) => (
                  <tr key={row.path} className={row.differs ? "differs" : undefined} data-key={row.path} data-differs={row.differs}>
                    <th scope="row"><code>{row.path}</code></th>
                    {row.values.map((v, i) => <td key={i}><code>{formatValue(v)}</code></td>)}
                  </tr>
                ))}
              </tbody>
            </table>
            </div>
          </section>
        </>
      )}
    </main>
  );
}

const FINAL_KEYS = ["rollout/reward_mean", "rollout/success_rate", "eval/success_rate", "eval/reward_mean", "adv/std", "loss/kl"];

/** Last logged value of each key metric, and the final evaluation from the summary, side by side. */
function FinalTable({ loaded, label }: { loaded: Loaded[]; label: (r: RunDetail) => string }) {
  const final = (l: Loaded, key: string): number | undefined => {
    const s = l.run.summary ?? {};
    if (typeof s[key] === "number") return s[key] as number;
    for (let i = l.points.length - 1; i >= 0; i--) {
      const v = l.points[i].metrics[key];
      if (typeof v === "number" && Number.isFinite(v)) return v;
    }
    return undefined;
  };
  const keys = FINAL_KEYS.filter((k) => loaded.some((l) => final(l, k) !== undefined));
  if (!keys.length) return null;
  return (
    <section aria-labelledby="finals">
      <h2 id="finals">Final values</h2>
      <div className="table-scroll">
        <table className="finals">
          <thead><tr><th scope="col">Metric</th>{loaded.map((l) => <th scope="col" key={String(l.run.id)}>{label(l.run)}</th>)}</tr></thead>
          <tbody>
            {keys.map((k) => (
              <tr key={k} data-key={k}><th scope="row"><code>{k}</code></th>{loaded.map((l) => <td key={String(l.run.id)}>{formatNumber(final(l, k))}</td>)}</tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}
