import { describe, expect, it } from "vitest";
import { findQueued, heartbeatLabel, positionLabel, servedLabel, type QueueInfo } from "./queue";

const gpu: QueueInfo = {
  name: "gpu",
  depth: 3,
  live_workers: [],
  idle_workers: [],
  runs: [
    { id: "a", name: "A", owner: "x", project: "default", position: 1, enqueued_at: null, created_at: "", waiting_reason: "no live worker consumes queue 'gpu'" },
    { id: "b", name: "B", owner: "x", project: "default", position: 2, enqueued_at: null, created_at: "", waiting_reason: "no live worker consumes queue 'gpu'" },
  ],
};
const cpu: QueueInfo = { name: "cpu", depth: 0, live_workers: ["w1", "w2"], idle_workers: ["w2"], runs: [] };

describe("queue helpers", () => {
  it("finds a run and says its position out of the whole depth", () => {
    const hit = findQueued([cpu, gpu], "b");
    expect(hit?.queue.name).toBe("gpu");
    expect(positionLabel(hit!.queue, hit!.run)).toBe("position 2 of 3 on queue gpu");
    expect(findQueued([cpu, gpu], "zzz")).toBeNull();
  });

  it("says who serves a queue", () => {
    expect(servedLabel(gpu)).toBe("no live worker");
    expect(servedLabel(cpu)).toBe("2 live workers, 1 idle");
  });

  it("labels heartbeats of live, silent and stopped workers", () => {
    expect(heartbeatLabel({ heartbeat_age_s: 3, alive: true, info: {} })).toBe("3s ago");
    expect(heartbeatLabel({ heartbeat_age_s: 125, alive: false, info: {} })).toBe("silent (last beat 2m 05s ago)");
    expect(heartbeatLabel({ heartbeat_age_s: 1, alive: false, info: { stopped_at: "x" } })).toBe("stopped (last beat 1s ago)");
  });
});
