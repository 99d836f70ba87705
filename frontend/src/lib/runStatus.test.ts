import { describe, expect, it } from "vitest";
import type { RunDetail } from "../api/types";
import { withStatusChange } from "./runStatus";
import { formatDuration, runDuration } from "./format";

const run = {
  status: "cancelled",
  history: [
    { status: "queued", at: "2026-01-01T10:00:00Z", reason: "submitted" },
    { status: "cancelled", at: "2026-01-01T10:00:05Z", reason: "cancelled by me" },
  ],
} as unknown as RunDetail;

describe("withStatusChange", () => {
  it("ignores replayed changes even when the time is formatted differently", () => {
    const r = withStatusChange(run, { status: "queued", at: "2026-01-01T10:00:00+00:00", reason: "submitted" });
    expect(r.history.length).toBe(2);
    expect(r.status).toBe("cancelled");
  });

  it("takes the newest change as the status", () => {
    const r = withStatusChange(run, { status: "queued", at: "2026-01-01T10:01:00", reason: "retried" });
    expect(r.status).toBe("queued");
    expect(r.history.map((h) => h.reason)).toEqual(["submitted", "cancelled by me", "retried"]);
  });
});

describe("durations", () => {
  it("formats run durations", () => {
    expect(runDuration("2026-01-01T10:00:00Z", "2026-01-01T10:01:05Z")).toBe("1m 05s");
    expect(runDuration(null, null)).toBe("—");
    expect(formatDuration(3_725_000)).toBe("1h 02m");
  });
});
