// The Queue page: every worker (alive or gone, its current run, heartbeat age) and, per queue, the queued runs in
// the order workers take them, each with why it waits (docs/queue.md). Polls every 3 s.

import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import { heartbeatLabel, servedLabel, type QueueInfo, type QueueList, type Worker, type WorkerList } from "../api/queue";
import { ErrorBox } from "../components/ErrorBox";
import { formatTime } from "../lib/format";
import { Link } from "../router";

const POLL_MS = 3000;

export function Queue() {
  const workers = useLoad((s) => api.get<WorkerList>("/workers", s), [], POLL_MS);
  const queues = useLoad((s) => api.get<QueueList>("/queue", s), [], POLL_MS);
  return (
    <main id="main">
      <h1>Queue</h1>
      <ErrorBox error={workers.error} title="Could not load the workers" />
      <ErrorBox error={queues.error} title="Could not load the queues" />
      <section aria-labelledby="workers-h">
        <h2 id="workers-h">Workers</h2>
        {workers.data && <WorkerTable data={workers.data} />}
      </section>
      {queues.data?.queues.map((q) => <QueueSection key={q.name} queue={q} />)}
    </main>
  );
}

function WorkerTable({ data }: { data: WorkerList }) {
  if (data.items.length === 0) {
    return (
      <p className="empty" data-testid="no-workers">
        No worker has registered. Start one with <code>grpolab worker --queues cpu</code> (or <code>grpolab up</code>).
      </p>
    );
  }
  return (
    <div style={{ overflowX: "auto" }}>
      <table className="runs workers" data-testid="workers">
        <thead>
          <tr>
            <th scope="col">Worker</th>
            <th scope="col">State</th>
            <th scope="col">Queues</th>
            <th scope="col">GPUs</th>
            <th scope="col">Executor</th>
            <th scope="col">Current run</th>
            <th scope="col">Heartbeat</th>
            <th scope="col">Started</th>
          </tr>
        </thead>
        <tbody>
          {data.items.map((w) => <WorkerRow key={w.name} w={w} />)}
        </tbody>
      </table>
      <p className="muted h-small">
        A worker silent for more than {data.heartbeat_timeout_s}s counts as gone; its run is requeued by the reaper.
      </p>
    </div>
  );
}

function WorkerRow({ w }: { w: Worker }) {
  return (
    <tr data-worker={w.name} data-alive={w.alive}>
      <td>
        {w.name}
        <div className="muted h-small">{w.host}</div>
      </td>
      <td>
        <span className={`status ${w.alive ? "status-succeeded" : "status-failed"}`}>{w.alive ? "alive" : "gone"}</span>
      </td>
      <td>{w.queues.join(", ")}</td>
      <td>{w.gpus}</td>
      <td>{w.executor}</td>
      <td>{w.current_run ? <Link to={`/runs/${w.current_run}`}>{w.current_run}</Link> : <span className="muted">idle</span>}</td>
      <td>{heartbeatLabel(w)}</td>
      <td>{formatTime(w.started_at)}</td>
    </tr>
  );
}

function QueueSection({ queue }: { queue: QueueInfo }) {
  const headingId = `queue-${queue.name}-h`;
  return (
    <section aria-labelledby={headingId} data-queue={queue.name}>
      <h2 id={headingId}>
        Queue <code>{queue.name}</code>{" "}
        <span className="muted h-small">
          {queue.depth} queued · {servedLabel(queue)}
        </span>
      </h2>
      {queue.live_workers.length === 0 && queue.depth > 0 && (
        <p className="notice" role="status">
          No live worker consumes this queue: its runs will not start. Start one with{" "}
          <code>grpolab worker --queues {queue.name}</code>.
        </p>
      )}
      {queue.runs.length === 0 ? (
        <p className="empty">Nothing waits on this queue.</p>
      ) : (
        <div style={{ overflowX: "auto" }}>
          <table className="runs" data-testid={`queue-${queue.name}`}>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">Run</th>
                <th scope="col">Owner</th>
                <th scope="col">Project</th>
                <th scope="col">Queued</th>
                <th scope="col">Why it waits</th>
              </tr>
            </thead>
            <tbody>
              {queue.runs.map((r) => (
                <tr key={r.id} data-run-id={r.id}>
                  <td>{r.position}</td>
                  <td><Link to={`/runs/${r.id}`}>{r.name}</Link> <span className="muted h-small">{r.id}</span></td>
                  <td>{r.owner ?? "—"}</td>
                  <td>{r.project}</td>
                  <td>{formatTime(r.enqueued_at ?? r.created_at)}</td>
                  <td className="waiting-reason">{r.waiting_reason}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {queue.depth > queue.runs.length && (
            <p className="muted h-small">and {queue.depth - queue.runs.length} more behind these</p>
          )}
        </div>
      )}
    </section>
  );
}
