import { useEffect, useState } from "react";
import { api, qs } from "../api/client";
import { useDebounced, useLoad } from "../api/hooks";
import { RUN_STATUSES, type RunList, type RunStatus, type RunSummary } from "../api/types";
import { ErrorBox } from "../components/ErrorBox";
import { Sparkline } from "../components/Sparkline";
import { Progress, StatusBadge } from "../components/StatusBadge";
import { formatValue, type Json } from "../lib/configDiff";
import { formatNumber, formatTime, runDuration } from "../lib/format";
import { relativeTime } from "../lib/relativeTime";
import {
  apiQuery,
  columnLabel,
  columnValue,
  compareValues,
  isColumn,
  isServerSort,
  nextSort,
  readQuery,
  SUGGESTED_COLUMNS,
  writeQuery,
  type Column,
  type RunsQuery,
  type ServerSort,
} from "../lib/runFilters";
import { canSubmit, useDocumentTitle, useMe } from "../lib/session";
import { useRunDetails, type RunExtras } from "../lib/useRunDetails";
import { Link, navigate, useLocation } from "../router";

const PAGE = 50;
// a config or metric column sorts in the browser: load more runs so the sort covers more than one page
const CLIENT_SORT_PAGE = 200;

export function Runs() {
  const { pathname, search } = useLocation();
  const query = readQuery(search);
  // the view changes in place (Back leaves the list, as before filters were in the URL); the URL is shareable
  const setQuery = (change: Partial<RunsQuery>) =>
    navigate(`${pathname}${writeQuery({ ...query, offset: 0, ...change })}`, { replace: true });
  const [selected, setSelected] = useState<string[]>([]);
  useDocumentTitle("Runs");
  const me = useMe();

  const clientSort = isColumn(query.sort);
  const limit = clientSort ? CLIENT_SORT_PAGE : PAGE;
  const request = qs(apiQuery(query, limit));
  // Live: the list refreshes every 3 s while the tab is visible.
  const runs = useLoad((signal) => api.get<RunList>(`/runs${request}`, signal), [request], 3000);
  const items = runs.data?.items ?? [];
  const total = runs.data?.total ?? 0;
  const columns = query.columns;
  const extras = useRunDetails(items, columns.length > 0 || clientSort, [...columns, query.sort].some((c) => c.startsWith("metric:")));
  const rows = clientSort ? sortByColumn(items, query.sort as Column, query.order, extras) : items;
  const toggle = (id: string) => setSelected((s) => (s.includes(id) ? s.filter((x) => x !== id) : [...s, id]));
  const filtered = query.status || query.q || query.tag || query.tagPrefix || query.owner || query.archived;

  return (
    <main id="main">
      <div className="page-head">
        <h1>Runs</h1>
        <div className="actions">
          <button disabled={selected.length < 2} onClick={() => navigate(`/compare?ids=${selected.join(",")}`)}
            title={selected.length < 2 ? "Select two or more runs to compare" : undefined}>
            Compare selected ({selected.length})
          </button>
          {canSubmit(me) && <Link to="/new" className="button primary">New run</Link>}
        </div>
      </div>
      <Filters query={query} setQuery={setQuery} seen={items} />
      <ColumnPicker columns={columns} onChange={(cols) => setQuery({ columns: cols })} />
      <ErrorBox error={runs.error} title="Could not load runs" />
      {runs.data && items.length === 0 && (
        <p className="empty">{filtered ? "No run matches these filters." : <>No runs yet. <Link to="/new">Start one</Link>.</>}</p>
      )}
      {clientSort && items.length > 0 && (
        <p className="muted">Sorted by {columnLabel(query.sort as Column)} in the browser, over the {items.length} newest matching runs.</p>
      )}
      {items.length > 0 && (
        <div className="table-scroll">
          <table className="runs">
            <thead>
              <tr>
                <th scope="col"><span className="sr-only">Select</span></th>
                <SortHeader query={query} sort="name" setQuery={setQuery}>Name</SortHeader>
                <th scope="col">ID</th>
                <SortHeader query={query} sort="status" setQuery={setQuery}>Status</SortHeader>
                <SortHeader query={query} sort="step" setQuery={setQuery}>Progress</SortHeader>
                <SortHeader query={query} sort="last_reward" setQuery={setQuery}>Reward</SortHeader>
                <th scope="col">Owner</th>
                {columns.map((c) => <SortHeader key={c} query={query} sort={c} setQuery={setQuery}>{columnLabel(c)}</SortHeader>)}
                <th scope="col">Duration</th>
                <th scope="col">Tags</th>
                <SortHeader query={query} sort="created_at" setQuery={setQuery}>Created</SortHeader>
                <SortHeader query={query} sort="finished_at" setQuery={setQuery}>Finished</SortHeader>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <RunRow key={String(r.id)} run={r} columns={columns} extras={extras.get(String(r.id))}
                  selected={selected.includes(String(r.id))} onSelect={() => toggle(String(r.id))}
                  onTag={(t) => setQuery({ tag: t, tagPrefix: "" })} />
              ))}
            </tbody>
          </table>
        </div>
      )}
      {total > limit && (
        <nav className="pager" aria-label="pages">
          <button disabled={query.offset === 0} onClick={() => setQuery({ offset: Math.max(0, query.offset - limit) })}>Previous</button>
          <span>{query.offset + 1}–{Math.min(total, query.offset + limit)} of {total}</span>
          <button disabled={query.offset + limit >= total} onClick={() => setQuery({ offset: query.offset + limit })}>Next</button>
        </nav>
      )}
    </main>
  );
}

function sortByColumn(items: RunSummary[], col: Column, order: "asc" | "desc", extras: Map<string, RunExtras>): RunSummary[] {
  const value = (r: RunSummary) => {
    const e = extras.get(String(r.id));
    return columnValue(col, e?.detail, e?.last);
  };
  return [...items].sort((a, b) => compareValues(value(a), value(b), order));
}

function SortHeader({ query, sort, setQuery, children }: { query: RunsQuery; sort: ServerSort | Column; setQuery: (c: Partial<RunsQuery>) => void; children: React.ReactNode }) {
  const active = query.sort === sort;
  const dir = active ? (query.order === "asc" ? "ascending" : "descending") : "none";
  return (
    <th scope="col" aria-sort={dir} data-sort={sort}>
      <button type="button" className="sort-button" onClick={() => setQuery(nextSort(query, sort))}
        title={`Sort by ${typeof children === "string" ? children : sort}${isServerSort(sort) ? "" : " (in the browser)"}`}>
        {children}<span aria-hidden="true" className="sort-mark">{active ? (query.order === "asc" ? " ▲" : " ▼") : ""}</span>
      </button>
    </th>
  );
}

function RunRow({ run: r, columns, extras, selected, onSelect, onTag }: {
  run: RunSummary;
  columns: Column[];
  extras: RunExtras | undefined;
  selected: boolean;
  onSelect: () => void;
  onTag: (tag: string) => void;
}) {
  const id = String(r.id);
  const spark = r.reward_sparkline ?? [];
  return (
    <tr data-run-id={id} data-status={r.status}>
      <td><input type="checkbox" aria-label={`select ${r.name || id} for compare`} checked={selected} onChange={onSelect} /></td>
      <td className="run-name"><Link to={`/runs/${id}`}>{r.name || `run ${id}`}</Link>{r.archived && <span className="muted"> (archived)</span>}{r.error && <div className="run-error" title={r.error}>{r.error}</div>}</td>
      <td><code className="run-id">{id}</code></td>
      <td><StatusBadge status={r.status} />{r.cancel_requested && r.status === "running" && <span className="muted"> stopping…</span>}{r.attempts > 1 && <span className="muted"> ×{r.attempts}</span>}</td>
      <td><Progress step={r.step} total={r.total_steps} /></td>
      <td className="reward">
        {spark.length < 2 && r.last_reward === null ? <span className="muted" aria-label="no reward yet">—</span> : (
          <><Sparkline values={spark} width={64} label={`reward of ${r.name || id}`} /> <span>{formatNumber(r.last_reward)}</span></>
        )}
      </td>
      <td className="nowrap">{r.owner ?? <span className="muted">—</span>}</td>
      {columns.map((c) => {
        const v = columnValue(c, extras?.detail, extras?.last);
        return <td key={c} data-col={c}>{v === undefined ? <span className="muted">—</span> : typeof v === "number" ? formatNumber(v) : formatValue(v as Json)}</td>;
      })}
      <td className="nowrap">{runDuration(r.started_at, r.finished_at)}</td>
      <td>{r.tags.map((t) => <button key={t} className="tag" onClick={() => onTag(t)} title={`show runs tagged ${t}`}>{t}</button>)}</td>
      <td className="nowrap" data-col="created"><When iso={r.created_at} /></td>
      <td className="nowrap" data-col="finished"><When iso={r.finished_at} /></td>
    </tr>
  );
}

/** A compact time ("12 min ago", "Nov 12") with the exact local time in its title; the list re-renders every 3 s. */
function When({ iso }: { iso: string | null }) {
  if (!iso) return <span className="muted">—</span>;
  return <time dateTime={iso} title={formatTime(iso)}>{relativeTime(iso)}</time>;
}

function Filters({ query, setQuery, seen }: { query: RunsQuery; setQuery: (c: Partial<RunsQuery>) => void; seen: RunSummary[] }) {
  // typed filters go to the URL once typing pauses (replacing the entry: no history step per key)
  const [q, setQ] = useState(query.q);
  const [tagPrefix, setTagPrefix] = useState(query.tagPrefix);
  const [owner, setOwner] = useState(query.owner);
  const dq = useDebounced(q, 300);
  const dtag = useDebounced(tagPrefix, 300);
  const downer = useDebounced(owner, 300);
  useEffect(() => {
    if (dq !== query.q || dtag !== query.tagPrefix || downer !== query.owner) setQuery({ q: dq, tagPrefix: dtag, owner: downer });
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [dq, dtag, downer]);
  // back/forward or a clicked link changed the URL: show its values
  useEffect(() => setQ(query.q), [query.q]);
  useEffect(() => setTagPrefix(query.tagPrefix), [query.tagPrefix]);
  useEffect(() => setOwner(query.owner), [query.owner]);
  const tags = [...new Set(seen.flatMap((r) => r.tags))].sort();
  const owners = [...new Set(seen.map((r) => r.owner).filter((o): o is string => !!o))].sort();
  return (
    <form className="filters" role="search" onSubmit={(e) => e.preventDefault()}>
      <label>Status{" "}
        <select value={query.status} onChange={(e) => setQuery({ status: e.target.value as RunStatus | "" })}>
          <option value="">any</option>
          {RUN_STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
        </select>
      </label>
      <label>Tag <input value={tagPrefix} onChange={(e) => setTagPrefix(e.target.value)} placeholder="starts with…" list="known-tags" /></label>
      <datalist id="known-tags">{tags.map((t) => <option key={t} value={t} />)}</datalist>
      {query.tag && (
        <span className="chip" data-testid="tag-chip">tag = {query.tag}{" "}
          <button type="button" className="link-button" aria-label={`remove the tag filter ${query.tag}`} onClick={() => setQuery({ tag: "" })}>×</button>
        </span>
      )}
      <label>Owner <input value={owner} onChange={(e) => setOwner(e.target.value)} placeholder="user name" list="known-owners" size={10} /></label>
      <datalist id="known-owners">{owners.map((o) => <option key={o} value={o} />)}</datalist>
      <label>Search <input type="search" value={q} onChange={(e) => setQ(e.target.value)} placeholder="name or id" /></label>
      <label><input type="checkbox" checked={query.archived} onChange={(e) => setQuery({ archived: e.target.checked })} /> Archived only</label>
    </form>
  );
}

function ColumnPicker({ columns, onChange }: { columns: Column[]; onChange: (cols: Column[]) => void }) {
  const [custom, setCustom] = useState("");
  const [err, setErr] = useState("");
  const options = [...new Set([...SUGGESTED_COLUMNS, ...columns])];
  const flip = (c: Column) => onChange(columns.includes(c) ? columns.filter((x) => x !== c) : [...columns, c]);
  return (
    <details className="column-picker">
      <summary>Columns{columns.length ? ` (${columns.length} extra)` : ""}…</summary>
      <fieldset>
        <legend className="sr-only">Extra columns</legend>
        {options.map((c) => (
          <label key={c}><input type="checkbox" checked={columns.includes(c)} onChange={() => flip(c)} /> {c.startsWith("config:") ? "config" : "metric"} <code>{columnLabel(c)}</code></label>
        ))}
      </fieldset>
      <form onSubmit={(e) => {
        e.preventDefault();
        const c = custom.trim();
        const col = c.includes(":") ? c : c.includes("/") ? `metric:${c}` : `config:${c}`;
        if (!isColumn(col)) return setErr("Write a config key like optim.lr, or a metric like eval/success_rate.");
        setErr("");
        setCustom("");
        if (!columns.includes(col)) onChange([...columns, col]);
      }}>
        <label>Add a column <input value={custom} onChange={(e) => setCustom(e.target.value)} placeholder="optim.lr or eval/reward_mean" /></label>{" "}
        <button type="submit">Add</button>
        {err && <p className="error-text" role="alert">{err}</p>}
      </form>
    </details>
  );
}
