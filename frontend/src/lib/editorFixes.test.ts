import { describe, expect, it } from "vitest";
import type { Finding } from "../api/types";
import { formatNumber } from "./format";
import { submitHint } from "./lintMapping";
import { rangeText } from "./schema";

const finding = (rule: string): Finding => ({
  rule, name: "", severity: "error", message: "", why: "", fix: "", pointer: "", line: null, column: null,
  from_default: false, allowed: false, allow_reason: null, doc: "",
});

describe("the editor's small fixes", () => {
  it("B10: an invalid config (GL000) must be fixed; it cannot be allowed", () => {
    expect(submitHint([finding("GL000")])).toBe("1 error finding must be fixed (an invalid config cannot be allowed)");
    expect(submitHint([finding("GL001"), finding("GL002")])).toBe("2 error findings must be fixed or allowed with a reason");
    expect(submitHint([finding("GL000"), finding("GL001")])).toContain("1 must be fixed");
    expect(submitHint([])).toBe("");
  });

  it("B11: an exclusive bound is written as one", () => {
    expect(rangeText({ exclusiveMinimum: 0, maximum: 1 })).toBe("range 0 < x ≤ 1");
    expect(rangeText({ minimum: 1 })).toBe("range 1 ≤ x");
    expect(rangeText({})).toBe("");
  });

  it("whole numbers are written out, others rounded", () => {
    expect(formatNumber(134000)).toBe("134,000");
    expect(formatNumber(0.123456)).toBe("0.123");
    expect(formatNumber(2.5e-5)).toBe("2.50e-5");
    expect(formatNumber(null)).toBe("—");
  });
});
