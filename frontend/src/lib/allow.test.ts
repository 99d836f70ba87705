import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { addLintAllow } from "./allow";

describe("addLintAllow", () => {
  it("appends a lint block and keeps the rest of the text as it was", () => {
    const text = "algorithm:\n  norm_return: true   # keep me\n";
    const out = addLintAllow(text, "GL001", "ablation: the seed's bug");
    expect(out.startsWith(text)).toBe(true);
    expect(parse(out).lint.allow).toEqual([{ rule: "GL001", reason: "ablation: the seed's bug" }]);
  });

  it("adds to an existing allow list and keeps comments", () => {
    const text = "# top\nlint:\n  allow:\n    - rule: GL005\n      reason: on purpose\nalgorithm:\n  gamma: 0.9 # why\n";
    const out = addLintAllow(text, "GL001", "double-norm ablation");
    const cfg = parse(out);
    expect(cfg.lint.allow.map((a: { rule: string }) => a.rule)).toEqual(["GL005", "GL001"]);
    expect(out).toContain("# why");
    expect(cfg.algorithm.gamma).toBe(0.9);
  });

  it("replaces the reason of a rule already allowed", () => {
    const text = "lint:\n  allow:\n    - rule: GL001\n      reason: old\n";
    const cfg = parse(addLintAllow(text, "GL001", "new reason"));
    expect(cfg.lint.allow).toEqual([{ rule: "GL001", reason: "new reason" }]);
  });

  it("creates allow inside an existing empty lint section", () => {
    const cfg = parse(addLintAllow("lint: {}\n", "GL003", "greedy on purpose"));
    expect(cfg.lint.allow).toEqual([{ rule: "GL003", reason: "greedy on purpose" }]);
  });

  it("quotes reasons that would otherwise be YAML syntax", () => {
    const out = addLintAllow("", "GL001", "a: b # not a comment");
    expect(parse(out).lint.allow[0].reason).toBe("a: b # not a comment");
  });
});
