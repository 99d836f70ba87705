import { useEffect, useMemo, useRef, useState } from "react";
import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import { openEvents } from "../api/sse";
import { ACTIVE_STATUSES, type LogLine, type MetricPoint, type RunDetail as Run, type StatusChange } from "../api/types";
import { Chart } from "../components/Chart";
import { ChartControls, useChartView } from "../components/ChartControls";
import { ErrorBox } from "../components/ErrorBox";
import { Artifacts } from "../components/Artifacts";
import { EvalCurves } from "../components/EvalCurves";
import { SampleEpisodes } from "../components/SampleEpisodes";
import { RunActions } from "../components/RunActions";
import { RunNotes } from "../components/RunEditor";
import { Progress, StatusBadge } from "../components/StatusBadge";
import { WaitingReason } from "../components/WaitingReason";
import { availableAxes, mergePoints, RUN_CHARTS, seriesOnAxis } from "../lib/chartData";
import { formatNumber, formatTime, runDuration } from "../lib/format";
import { summaryFacts } from "../lib/summaryFacts";
import { withStatusChange } from "../lib/runStatus";
import { canModify, useDocumentTitle, useMe } from "../lib/session";
import { navigate } from "../router";
import { FindingList } from "./NewRun";

const LOG_KEEP = 1000;
const LIVE_TEXT = { connecting: "connecting…", live: "live", ended: "final (run ended)", reconnecting: "reconnecting…" };

declare global {
  interface Window {
    __sse?: Record<string, number>;
  }
}

export function RunDetail({ id }: { id: string }) {
  const run = useLoad((s) => api.get<Run>(`/runs/${id}`, s), [id]);
  const [points, setPoints] = useState<MetricPoint[]>([]);
  const [logs, setLogs] = useState<LogLine[]>([]);
  const [stepWindow, setStepWindow] = useState(0);
  const [actionError, setActionError] = useState<unknown>(null);
  const [live, setLive] = useState<"connecting" | "live" | "ended" | "reconnecting">("connecting");
  const lastStep = useRef(-1);
  const lastSeq = useRef(-1);
  // Bumped by Retry: the old stream ended with the run, a queued-again run needs a new one.
  const [streamEpoch, setStreamEpoch] = useState(0);
  const [view, setView] = useChartView();
  const me = useMe();
  useDocumentTitle(run.data ? run.data.name || `run ${run.data.id}` : `run ${id}`);

  // Initial history, then the live stream; after a dropped stream we fetch what we missed.
  useEffect(() => {
    let alive = true;
    setLive("connecting");
    setPoints([]);
    setLogs([]);
    lastStep.current = -1;
    lastSeq.current = -1;
    const addPoints = (items: MetricPoint[]) => {
      if (!alive || !items.length) return;
      lastStep.current = Math.max(lastStep.current, ...items.map((p) => p.step));
      setPoints((old) => mergePoints(old, items));
    };
    const addLogs = (items: LogLine[]) => {
      if (!alive || !items.length) return;
      setLogs((old) => {
        const fresh = items.filter((l) => l.seq > lastSeq.current);
        if (!fresh.length) return old;
        lastSeq.current = fresh[fresh.length - 1].seq;
        return old.concat(fresh).slice(-LOG_KEEP);
      });
    };
    const catchUp = async () => {
      const since = lastStep.current >= 0 ? `?since=${lastStep.current}` : "";
      const seqSince = lastSeq.current >= 0 ? `?since=${lastSeq.current}` : "";
      const [m, l] = await Promise.all([
        api.get<{ items: MetricPoint[] }>(`/runs/${id}/metrics${since}`).catch(() => ({ items: [] })),
        api.get<{ items: LogLine[] }>(`/runs/${id}/logs${seqSince}`).catch(() => ({ items: [] })),
      ]);
      addPoints(m.items);
      addLogs(l.items);
    };
    let handle: { close(): void } | null = null;
    void catchUp().then(() => {
      if (!alive) return;
      // Resume the stream after what the catch-up fetched (statuses are few: replay them all).
      handle = openEvents(
        `/runs/${id}/events?since=e0.m${lastStep.current}.l${lastSeq.current}`,
        (event, data) => {
          setLive("live");
          // counts of stream events, for tests (proves the page was fed by SSE, not only by the catch-up fetch)
          const counts = (window.__sse = window.__sse ?? {});
          counts[event] = (counts[event] ?? 0) + 1;
          if (event === "metric") addPoints([data as MetricPoint]);
          else if (event === "log") addLogs([data as LogLine]);
          else if (event === "status") {
            const ch = data as StatusChange;
            run.setData((r) => (r ? withStatusChange(r, ch) : r));
            // every status change: started_at, attempts and the summary change with it (B5, B7)
            run.reload();
          }
        },
        {
          onDrop: () => setLive("reconnecting"),
          onEnd: () => (setLive("ended"), void catchUp(), run.reload()),
        },
      );
    });
    return () => {
      alive = false;
      handle?.close();
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [id, streamEpoch]);

  const r = run.data;
  const act = async (what: "cancel" | "retry") => {
    setActionError(null);
    try {
      const updated = await api.post<Run>(`/runs/${id}/${what}`);
      run.setData(updated);
      if (what === "retry") setStreamEpoch((n) => n + 1);
    } catch (e) {
      setActionError(e);
    }
  };

  const axes = useMemo(() => availableAxes(points), [points]);
  const xAxis = axes.includes(view.xAxis) ? view.xAxis : "step";
  const chartView = useMemo(() => ({ ...view, xAxis }), [view, xAxis]);
  const charts = useMemo(
    () => RUN_CHARTS.map((c) => ({ ...c, series: seriesOnAxis(points, c.metric, xAxis, stepWindow) })),
    [points, stepWindow, xAxis],
  );
  const latest = points[points.length - 1];

  if (run.error && !r) return <main id="main"><ErrorBox error={run.error} title="Could not load this run" /></main>;
  if (!r) return <main id="main"><p>Loading…</p></main>;
  const active = ACTIVE_STATUSES.includes(r.status);
  const allowed = canModify(me, r.owner);
  const notAllowed = me?.role === "viewer" ? "A viewer can read runs but not change them." : `Only ${r.owner ?? "its owner"} or an admin can change this run.`;
  const retried = r.history.filter((h) => h.status === "queued").length > 1;
  return (
    <main id="main" data-run-id={r.id} data-status={r.status}>
      <div className="page-head">
        <h1>
          {r.name || `run ${r.id}`} <StatusBadge status={r.status} />
          {r.cancel_requested && r.status === "running" && <span className="muted h-note">stopping…</span>}
        </h1>
        <div className="actions">
          {me?.role === "viewer" && <span className="muted" data-testid="read-only">A viewer reads runs; a member or an admin changes them.</span>}
          {me && me.role !== "viewer" && <RunActions run={r} allowed={allowed} why={notAllowed} onAction={act} />}
          <button onClick={() => navigate(`/new?from=${r.id}`)}>Clone</button>
          <button onClick={() => navigate(`/compare?ids=${r.id}`)}>Compare…</button>
        </div>
      </div>
      <ErrorBox error={actionError} title="That did not work" />
      {r.error && <div className="error-box" role="status"><strong>Error:</strong> {r.error}</div>}
      <WaitingReason run={r} />
      <dl className="facts">
        <div><dt>ID</dt><dd><code data-testid="run-id">{r.id}</code></dd></div>
        <div><dt>Owner</dt><dd>{r.owner ?? "—"}</dd></div>
        <div><dt>Project</dt><dd>{r.project ?? "default"}</dd></div>
        <div><dt>Progress</dt><dd><Progress step={latest?.step ?? r.step} total={r.total_steps} /></dd></div>
        <div><dt>Last reward</dt><dd>{formatNumber(latest?.metrics["rollout/reward_mean"] ?? r.last_reward)}</dd></div>
        <div><dt>{retried ? "Duration (this attempt)" : "Duration"}</dt><dd>{runDuration(r.started_at, r.finished_at)}</dd></div>
        <div><dt>{retried ? "Attempts (since the retry)" : "Attempts"}</dt><dd>{r.attempts}</dd></div>
        <div><dt>Tags</dt><dd>{r.tags.join(", ") || "—"}</dd></div>
        <div><dt>Queue</dt><dd>{r.queue ?? "cpu"}</dd></div>
        <div><dt>Runs on</dt><dd data-testid="placement">{placement(r)}</dd></div>
        <div><dt>Updates</dt><dd data-live={live}>{LIVE_TEXT[live]}</dd></div>
      </dl>
      <section aria-labelledby="curves">
        <div className="section-head">
          <h2 id="curves">Curves</h2>
          <ChartControls view={chartView} onChange={setView} axes={axes} />
          <label>Window{" "}
            <select value={stepWindow} onChange={(e) => setStepWindow(Number(e.target.value))}>
              <option value={0}>all steps</option>
              <option value={50}>last 50 steps</option>
              <option value={200}>last 200 steps</option>
              <option value={1000}>last 1000 steps</option>
            </select>
          </label>
        </div>
        <div className="chart-grid">
          {charts.map((c) => <Chart key={c.metric} id={c.metric} title={c.title} view={chartView} series={[{ label: r.name || String(r.id), ...c.series }]} />)}
        </div>
      </section>
      <RunNotes run={r} allowed={allowed} onSaved={(updated) => run.setData(updated)} />
      {/* the summary belongs to a finished attempt: a retried run shows it again once it ends (B7) */}
      {!active && r.summary && Object.keys(r.summary).length > 0 && (
        <section aria-labelledby="summary">
          <h2 id="summary">Summary</h2>
          <dl className="facts">
            {summaryFacts(r.summary).map((f) => (
              <div key={f.key} data-key={f.key}><dt title={f.label === f.key ? undefined : f.key}>{f.label}</dt><dd>{f.value}</dd></div>
            ))}
          </dl>
        </section>
      )}
      <EvalCurves runId={r.id} active={active} summary={r.summary} />
      <SampleEpisodes runId={r.id} active={active} />
      <Artifacts runId={r.id} active={active} />
      <div className="two-col">
        <section aria-labelledby="history">
          <h2 id="history">Status history</h2>
          <ol className="history">
            {r.history.map((h, i) => (
              <li key={i}><StatusBadge status={h.status} /> <time>{formatTime(h.at)}</time>{h.reason ? ` — ${h.reason}` : ""}</li>
            ))}
          </ol>
        </section>
        <section aria-labelledby="logs">
          <h2 id="logs">Log</h2>
          <LogTail lines={logs} />
        </section>
      </div>
      <div className="two-col">
        <section aria-labelledby="config">
          <h2 id="config">Config</h2>
          <pre className="code config-text">{r.config_text || "# (empty: every default)"}</pre>
        </section>
        <section aria-labelledby="findings">
          <h2 id="findings">Lint findings</h2>
          {r.findings.length ? <FindingList findings={r.findings} /> : <p className="muted">None.</p>}
        </section>
      </div>
    </main>
  );
}

function LogTail({ lines }: { lines: LogLine[] }) {
  const ref = useRef<HTMLPreElement>(null);
  const stick = useRef(true);
  useEffect(() => {
    const el = ref.current;
    if (el && stick.current) el.scrollTop = el.scrollHeight;
  }, [lines]);
  return (
    <pre className="code log" ref={ref} tabIndex={0} aria-label="log tail" aria-live="off" data-lines={lines.length}
      onScroll={(e) => {
        const el = e.currentTarget;
        stick.current = el.scrollTop + el.clientHeight >= el.scrollHeight - 8;
      }}>
      {lines.length ? lines.map((l) => l.line).join("\n") : "No log lines yet."}
    </pre>
  );
}

/** Where the run executes: "local", "local · 4 ranks", "ray · 2 nodes · 16 ranks". */
function placement(r: { executor?: string; nodes?: number; ranks?: number }): string {
  const parts = [r.executor ?? "local"];
  if ((r.nodes ?? 1) > 1) parts.push(`${r.nodes} nodes`);
  if ((r.ranks ?? 1) > 1) parts.push(`${r.ranks} ranks`);
  return parts.join(" · ");
}
