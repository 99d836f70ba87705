// Why a queued run has not started, on the run page: the reason the server stored (e.g. no live worker consumes
// its queue) and its place in line, from GET /queue (polled while it stays queued).

import { api } from "../api/client";
import { useLoad } from "../api/hooks";
import { findQueued, positionLabel, type QueueList } from "../api/queue";
import { Link } from "../router";

interface Props {
  run: { id: string | number; status: string; queue?: string | null; waiting_reason?: string | null };
}

export function WaitingReason({ run }: Props) {
  if (run.status !== "queued") return null;
  return <QueuedNotice run={run} />;
}

function QueuedNotice({ run }: Props) {
  const queues = useLoad((s) => api.get<QueueList>("/queue", s), [run.id], 5000);
  const hit = queues.data ? findQueued(queues.data.queues, String(run.id)) : null;
  // the queue page's answer is fresher than the run's stored reason (workers come and go between polls)
  const reason = hit?.run.waiting_reason ?? run.waiting_reason ?? null;
  const noWorker = reason?.startsWith("no live worker") ?? false;
  return (
    <p className={noWorker ? "notice" : "muted"} role="status" data-testid="waiting-reason">
      <strong>Waiting:</strong> {reason ?? `queued on ${run.queue ?? "its queue"}`}
      {hit && <> · {positionLabel(hit.queue, hit.run)}</>} · <Link to="/queue">see the queue</Link>
    </p>
  );
}
