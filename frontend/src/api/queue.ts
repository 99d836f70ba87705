// Shapes of GET /api/v1/workers and GET /api/v1/queue (api/routers/workers.py), and the small pure helpers the
// queue page and the run page's waiting notice share.

import { formatDuration } from "../lib/format";
import type { components } from "./schema.gen";

type Schemas = components["schemas"];

export type Worker = Schemas["WorkerOut"];
export type WorkerList = Schemas["WorkerList"];
export type QueuedRun = Schemas["QueuedRunOut"];
export type QueueInfo = Schemas["QueueOut"];
export type QueueList = Schemas["QueueList"];

/** "4s ago", "2m 05s ago"; a stopped worker says so instead of an age. */
export function heartbeatLabel(w: Pick<Worker, "heartbeat_age_s" | "alive" | "info">): string {
  const age = `${formatDuration(w.heartbeat_age_s * 1000)} ago`;
  if (w.info.stopped_at) return `stopped (last beat ${age})`;
  return w.alive ? age : `silent (last beat ${age})`;
}

/** Where a queued run stands: its queue entry, or null when the run is not in the listed part of any queue. */
export function findQueued(queues: QueueInfo[], runId: string): { queue: QueueInfo; run: QueuedRun } | null {
  for (const queue of queues) {
    const run = queue.runs.find((r) => r.id === runId);
    if (run) return { queue, run };
  }
  return null;
}

/** "position 2 of 5 on queue cpu" */
export function positionLabel(queue: QueueInfo, run: QueuedRun): string {
  return `position ${run.position} of ${queue.depth} on queue ${queue.name}`;
}

/** A one-line summary of who serves a queue. */
export function servedLabel(queue: QueueInfo): string {
  const live = queue.live_workers.length;
  if (!live) return "no live worker";
  return `${live} live worker${live === 1 ? "" : "s"}, ${queue.idle_workers.length} idle`;
}
