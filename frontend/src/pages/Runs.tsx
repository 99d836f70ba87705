import { useState } from "react";
import { api, qs } from "../api/client";
import { useLoad, useDebounced } from "../api/hooks";
import { RUN_STATUSES, type RunList } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { Sparkline } from "../components/Sparkline";
import { Progress, StatusBadge } from "../components/StatusBadge";
import { formatNumber, formatTime, runDuration } from "../lib/format";
import { Link, navigate, useLocation } from "../router";

const PAGE = 50;

export function Runs() {
  const { search } = useLocation();
  const [status, setStatus] = useState(search.get("status") ?? "");
  const [tag, setTag] = useState(search.get("tag") ?? "");
  const [q, setQ] = useState(search.get("q") ?? "");
  const [offset, setOffset] = useState(0);
  const [selected, setSelected] = useState<string[]>([]);
  const dq = useDebounced(q, 300);
  const dtag = useDebounced(tag, 300);
  const query = qs({ status, tag: dtag, q: dq, limit: PAGE, offset });
  // Live: the list refreshes every 3 s while the tab is visible.
  const runs = useLoad((signal) => api.get<RunList>(`/runs${query}`, signal), [query], 3000);

  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const items = runs.data?.items ?? [];
  const total = runs.data?.total ?? 0;

  return (
    <main id="main">
      <div className="page-head">
        <h1>Runs</h1>
        <div className="actions">
          <button disabled={selected.length < 2} onClick={() => navigate(`/compare?ids=${selected.join(",")}`)}
            title={selected.length < 2 ? "Select two or more runs to compare" : undefined}>
            Compare selected ({selected.length})
          </button>
          <Link to="/new" className="button primary">New run</Link>
        </div>
      </div>
      <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
        <label>Status{" "}
          <select value={status} onChange={(e) => (setStatus(e.target.value), setOffset(0))}>
            <option value="">any</option>
            {RUN_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </label>
        <label>Tag <input value={tag} onChange={(e) => (setTag(e.target.value), setOffset(0))} placeholder="e.g. ablation" /></label>
        <label>Search <input type="search" value={q} onChange={(e) => (setQ(e.target.value), setOffset(0))} placeholder="name or id" /></label>
      </form>
      <ErrorBox error={runs.error} title="Could not load runs" />
      {runs.data && items.length === 0 && (
        <p className="empty">{status || dq || dtag ? "No run matches these filters." : <>No runs yet. <Link to="/new">Start one</Link>.</>}</p>
      )}
      {items.length > 0 && (
        <table className="runs">
          <thead>
            <tr>
              <th scope="col"><span className="sr-only">Select</span></th>
              <th scope="col">Name</th>
              <th scope="col">Status</th>
              <th scope="col">Progress</th>
              <th scope="col">Reward</th>
              <th scope="col">Duration</th>
              <th scope="col">Tags</th>
              <th scope="col">Created</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => {
              const id = String(r.id);
              return (
                <tr key={id} data-run-id={id} data-status={r.status}>
                  <td><input type="checkbox" aria-label={`select ${r.name || id} for compare`} checked={selected.includes(id)} onChange={() => toggle(id)} /></td>
                  <td><Link to={`/runs/${id}`}>{r.name || `run ${id}`}</Link>{r.error && <div className="run-error" title={r.error}>{r.error}</div>}</td>
                  <td><StatusBadge status={r.status} />{r.cancel_requested && r.status === "running" && <span className="muted"> stopping…</span>}{r.attempts > 1 && <span className="muted"> ×{r.attempts}</span>}</td>
                  <td><Progress step={r.step} total={r.total_steps} /></td>
                  <td className="reward"><Sparkline values={r.reward_sparkline ?? []} label={`reward of ${r.name || id}`} /> <span>{formatNumber(r.last_reward)}</span></td>
                  <td>{runDuration(r.started_at, r.finished_at)}</td>
                  <td>{r.tags.map((t) => <button key={t} className="tag" onClick={() => setTag(t)} title={`show runs tagged ${t}`}>{t}</button>)}</td>
                  <td>{formatTime(r.created_at)}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      {total > PAGE && (
        <nav className="pager" aria-label="pages">
          <button disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>Previous</button>
          <span>{offset + 1}–{Math.min(total, offset + PAGE)} of {total}</span>
          <button disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>Next</button>
        </nav>
      )}
    </main>
  );
}
