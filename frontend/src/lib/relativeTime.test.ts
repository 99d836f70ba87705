import { describe, expect, it } from "vitest";
import { relativeTime } from "./relativeTime";

const now = Date.parse("2026-11-30T13:00:00Z");
const at = (iso: string | null) => relativeTime(iso, now, { locale: "en-US", timeZone: "UTC" });

describe("relativeTime", () => {
  it("says how long ago in one short phrase", () => {
    expect(at("2026-11-30T12:59:30Z")).toBe("just now");
    expect(at("2026-11-30T12:48:00Z")).toBe("12 min ago");
    expect(at("2026-11-30T09:30:00Z")).toBe("3 h ago");
    expect(at("2026-11-28T12:00:00Z")).toBe("2 d ago");
  });

  it("gives the date from a week back, with the year only when it is another year's", () => {
    expect(at("2026-11-12T10:00:00Z")).toBe("Nov 12");
    expect(at("2025-11-12T10:00:00Z")).toBe("Nov 12, 2025");
  });

  it("reads a naive timestamp as UTC and a missing one as a dash", () => {
    expect(at("2026-11-30T12:48:00")).toBe("12 min ago");
    expect(at(null)).toBe("—");
    expect(at("not a time")).toBe("—");
  });

  it("does not call a time ahead of the clock 'ago'", () => {
    expect(at("2026-11-30T13:00:20Z")).toBe("just now");
    expect(at("2026-12-02T10:00:00Z")).toBe("Dec 2");
  });
});
