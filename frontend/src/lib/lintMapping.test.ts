import { describe, expect, it } from "vitest";
import type { Finding } from "../api/types";
import { blockingFindings, findingRange, findingsToDiags } from "./lintMapping";

const SEED = `# title: seed
algorithm:
  estimator: grpo
  group_size: 8
  norm_return: true      # the bug
rollout:
  batch_size: 128
`;

function finding(over: Partial<Finding>): Finding {
  return {
    rule: "GL001", name: "double-normalization", severity: "error", message: "m", why: "w", fix: "f",
    pointer: "/algorithm/norm_return", line: 5, column: 3, from_default: false, allowed: false,
    allow_reason: null, doc: "", ...over,
  };
}

describe("findingRange", () => {
  it("underlines key and value on the finding's line, not the trailing comment", () => {
    const r = findingRange(SEED, finding({}));
    expect(SEED.slice(r.from, r.to)).toBe("norm_return: true");
  });

  it("locates the pointer when the finding has no line", () => {
    const r = findingRange(SEED, finding({ line: null, column: null, pointer: "/rollout/batch_size" }));
    expect(SEED.slice(r.from, r.to)).toBe("batch_size: 128");
  });

  it("falls back to the nearest existing parent for a default-triggered finding", () => {
    // estimator is absent: a finding about it points at the `algorithm:` section that would hold it.
    const text = "algorithm:\n  norm_return: true\n";
    const r = findingRange(text, finding({ line: null, column: null, pointer: "/algorithm/estimator" }));
    expect(text.slice(r.from, r.to)).toBe("algorithm:");
  });

  it("clamps positions past the end of the text", () => {
    const r = findingRange("a: 1", finding({ line: 40, column: 99 }));
    expect(r.from).toBeGreaterThanOrEqual(0);
    expect(r.to).toBeLessThanOrEqual(4);
    expect(r.to).toBeGreaterThan(r.from);
  });

  it("gives a visible one-character range on an empty text", () => {
    const r = findingRange("", finding({ line: 1, column: 1 }));
    expect(r).toEqual({ from: 0, to: 0 });
  });
});

describe("findingsToDiags / blocking", () => {
  it("maps an allowed error to info and sorts by position", () => {
    const ds = findingsToDiags(SEED, [
      finding({ rule: "GL005", severity: "warning", line: 3, column: 3, pointer: "/algorithm/estimator" }),
      finding({ allowed: true, allow_reason: "ablation" }),
    ]);
    expect(ds.map((d) => [d.finding.rule, d.severity])).toEqual([
      ["GL005", "warning"],
      ["GL001", "info"],
    ]);
  });

  it("blocks on errors that are not allowed, only", () => {
    expect(blockingFindings([finding({})]).length).toBe(1);
    expect(blockingFindings([finding({ allowed: true })]).length).toBe(0);
    expect(blockingFindings([finding({ severity: "warning" })]).length).toBe(0);
  });
});
