// One sweep: curves grouped by arm (mean with a band over seeds), a table of final metrics with 95% confidence
// intervals, and every run linked; its owner (or an admin) renames it, writes notes and archives it. Refreshes
// every 3 s until each run has finished.

import { useEffect, useRef, useState } from "react";
import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import { patchSweep, type SweepDetail as SweepDetailData, type SweepGroup, type SweepSummary } from "../api/sweeps";
import type { RunStatus } from "../api/types";
import { BandChart } from "../components/BandChart";
import { ErrorBox } from "../components/ErrorBox";
import { NotesEditor } from "../components/RunEditor";
import { StatusBadge } from "../components/StatusBadge";
import { formatStat, runLinkLabel, type BandMode } from "../lib/bands";
import { RUN_CHARTS } from "../lib/chartData";
import { formatTime } from "../lib/format";
import { pollEvery } from "../lib/polling";
import { canModify, useDocumentTitle, useMe } from "../lib/session";
import { Link } from "../router";

const DEFAULT_METRICS = ["rollout/reward_mean", "rollout/success_rate"];
const MAX_METRICS = 8;

export function SweepDetail({ id }: { id: string }) {
  const [metrics, setMetrics] = useState<string[]>(DEFAULT_METRICS);
  const [mode, setMode] = useState<BandMode>("std");
  const [cancelError, setCancelError] = useState<unknown>(null);
  // a missing sweep (404) is not asked for again every 3 s; another id, or a later success, polls again
  const [lastError, setLastError] = useState<unknown>(null);
  // a sweep whose runs have all finished changes no more: polling stops (the summary is asked once more then)
  const [finished, setFinished] = useState(false);
  const sweep = useLoad(
    (s) => api.get<SweepDetailData>(`/sweeps/${id}`, s),
    [id],
    pollEvery(3000, lastError, finished),
  );
  useEffect(() => setLastError(sweep.error), [sweep.error]);
  useEffect(() => setFinished(sweep.data?.status === "finished"), [sweep.data?.status]);
  const me = useMe();
  const query = metrics.length ? "?" + metrics.map((m) => `metric=${encodeURIComponent(m)}`).join("&") : "";
  // the summary is asked once more after the sweep is seen finished (the last poll may have been a moment early)
  const summaryAtFinish = useRef<SweepSummary | null | undefined>(undefined);
  const [summaryFinal, setSummaryFinal] = useState(false);
  const summary = useLoad(
    (s) => api.get<SweepSummary>(`/sweeps/${id}/summary${query}`, s),
    [id, query],
    pollEvery(3000, sweep.error, summaryFinal),
  );
  useEffect(() => {
    if (!finished) {
      summaryAtFinish.current = undefined;
      setSummaryFinal(false);
    } else if (summaryAtFinish.current === undefined) {
      summaryAtFinish.current = summary.data;
    } else if (summary.data !== summaryAtFinish.current) {
      setSummaryFinal(true);
    }
  }, [finished, summary.data]);
  const data = sweep.data;
  const toggle = (m: string) =>
    setMetrics((ms) => (ms.includes(m) ? ms.filter((x) => x !== m) : ms.length < MAX_METRICS ? [...ms, m] : ms));
  const cancel = async () => {
    setCancelError(null);
    try {
      sweep.setData(await api.post<SweepDetailData>(`/sweeps/${id}/cancel`));
    } catch (e) {
      setCancelError(e);
    }
  };

  // the server's rule (ensure_can_modify) decides; this only hides what would be refused
  const allowed = canModify(me, data?.owner);
  useDocumentTitle(data ? data.name : `sweep ${id}`);

  if (sweep.error && !data) {
    // a wrong or deleted id: the error and the way back, not chart controls and a second error for the summary
    return (
      <main id="main">
        <h1>Sweep <code>{id}</code></h1>
        <ErrorBox error={sweep.error} title="Could not load the sweep" />
        <p><Link to="/sweeps">All sweeps</Link></p>
      </main>
    );
  }
  return (
    <main id="main">
      <div className="page-head">
        <h1>
          {data ? data.name : <>Sweep <code>{id}</code></>}
          {data?.archived && <span className="muted h-note">archived</span>}
        </h1>
        {data && data.status !== "finished" && allowed && (
          <div className="actions"><button onClick={cancel}>Cancel unfinished runs</button></div>
        )}
      </div>
      <ErrorBox error={sweep.error} title="Could not load the sweep" />
      <ErrorBox error={cancelError} title="Could not cancel" />
      {data && (
        <p className="muted" data-testid="sweep-status" data-status={data.status}>
          {data.status} · {data.runs} runs ({Object.entries(data.counts).map(([k, v]) => `${v} ${k}`).join(", ")}) · by {data.owner ?? "—"} · project {data.project} · {formatTime(data.created_at)} · id <code>{data.id}</code>
        </p>
      )}
      {data && (
        <NotesEditor item={data} what="sweep" allowed={allowed} patch={(body) => patchSweep(data.id, body)}
          onSaved={(updated) => sweep.setData(updated)} />
      )}
      <div className="filters" role="group" aria-label="Chart options">
        <fieldset>
          <legend>Metrics</legend>
          {RUN_CHARTS.map((c) => (
            <label key={c.metric} style={{ marginRight: 12 }}>
              <input type="checkbox" checked={metrics.includes(c.metric)} onChange={() => toggle(c.metric)} /> {c.title}
            </label>
          ))}
        </fieldset>
        <fieldset>
          <legend>Band</legend>
          <label><input type="radio" name="band" checked={mode === "std"} onChange={() => setMode("std")} /> mean ± std</label>{" "}
          <label><input type="radio" name="band" checked={mode === "ci"} onChange={() => setMode("ci")} /> 95% interval of the mean</label>
        </fieldset>
      </div>
      <ErrorBox error={summary.error} title="Could not load the summary" />
      {summary.data && <Curves summary={summary.data} mode={mode} />}
      {summary.data && <FinalTable summary={summary.data} />}
      {data && (
        <details>
          <summary>Base config and grid</summary>
          <pre>{data.config_text}</pre>
          <pre>{JSON.stringify(data.grid, null, 2)}</pre>
        </details>
      )}
    </main>
  );
}

function Curves({ summary, mode }: { summary: SweepSummary; mode: BandMode }) {
  const title = (m: string) => RUN_CHARTS.find((c) => c.metric === m)?.title ?? m;
  return (
    <section aria-labelledby="curves-title">
      <h2 id="curves-title">Curves by arm (pooled over seeds)</h2>
      <div className="chart-grid">
        {summary.metrics.map((m) => (
          <BandChart key={m} id={`sweep-${m}`} title={title(m)} mode={mode}
            groups={summary.groups.map((g) => ({ label: `${g.label} (${g.run_ids.length} seed${g.run_ids.length > 1 ? "s" : ""})`, points: g.bands[m] ?? [] }))} />
        ))}
      </div>
    </section>
  );
}

function FinalTable({ summary }: { summary: SweepSummary }) {
  return (
    <section aria-labelledby="final-title">
      <h2 id="final-title">Final metrics</h2>
      <p className="muted">
        Each succeeded run's last logged value; mean ± half-width of the {Math.round(summary.confidence * 100)}% Student-t
        interval over seeds. One seed gives a mean without an interval.
      </p>
      <div style={{ overflowX: "auto" }}>
        <table className="final-metrics" data-testid="final-table">
          <thead>
            <tr>
              <th scope="col">Arm</th>
              {summary.metrics.map((m) => <th key={m} scope="col">{m}</th>)}
              <th scope="col">Runs (status)</th>
            </tr>
          </thead>
          <tbody>
            {summary.groups.map((g) => <FinalRow key={g.key} group={g} metrics={summary.metrics} />)}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function FinalRow({ group, metrics }: { group: SweepGroup; metrics: string[] }) {
  return (
    <tr data-group={group.label}>
      <th scope="row"><code>{group.label}</code></th>
      {metrics.map((m) => {
        const f = formatStat(group.final[m]);
        return (
          <td key={m} data-metric={m} data-n={group.final[m]?.n ?? 0} data-mean={group.final[m]?.mean ?? ""} data-ci-low={group.final[m]?.ci_low ?? ""} data-ci-high={group.final[m]?.ci_high ?? ""}>
            <div>{f.main}</div>
            {f.sub && <div className="muted" style={{ fontSize: 12 }}>{f.sub}</div>}
          </td>
        );
      })}
      <td>
        {group.run_ids.map((rid, i) => (
          <span key={rid} style={{ marginRight: 8, whiteSpace: "nowrap" }}>
            <Link to={`/runs/${rid}`} data-run-link={rid}>{runLinkLabel(group.seeds[i], rid)}</Link>{" "}
            <StatusBadge status={group.statuses[i] as RunStatus} />
          </span>
        ))}
      </td>
    </tr>
  );
}
