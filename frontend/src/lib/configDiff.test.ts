import { describe, expect, it } from "vitest";
import { diffConfigs, differingRows, flatten, formatValue } from "./configDiff";

const a = { algorithm: { estimator: "grpo", norm_return: false, group_size: 8 }, rollout: { stop: [";"] } };
const b = { algorithm: { estimator: "grpo", norm_return: true, group_size: 8 }, rollout: { stop: [";"] } };

describe("flatten", () => {
  it("uses dotted paths and keeps scalar lists whole", () => {
    expect([...flatten(a).entries()]).toEqual([
      ["algorithm.estimator", "grpo"],
      ["algorithm.norm_return", false],
      ["algorithm.group_size", 8],
      ["rollout.stop", [";"]],
    ]);
  });

  it("indexes lists of objects", () => {
    const f = flatten({ lint: { allow: [{ rule: "GL001", reason: "x" }] } });
    expect(f.get("lint.allow[0].rule")).toBe("GL001");
  });
});

describe("diffConfigs", () => {
  it("marks only differing keys", () => {
    expect(differingRows([a, b]).map((r) => [r.path, r.values])).toEqual([["algorithm.norm_return", [false, true]]]);
  });

  it("shows keys missing in one config as differing", () => {
    const rows = differingRows([a, { ...b, lint: { allow: [{ rule: "GL001", reason: "r" }] } }]);
    expect(rows.map((r) => r.path)).toEqual(["algorithm.norm_return", "lint.allow[0].rule", "lint.allow[0].reason"]);
    expect(formatValue(rows[1].values[0])).toBe("—");
  });

  it("shows an allow entry added to an empty list as its keys only", () => {
    const rows = differingRows([{ lint: { allow: [] } }, { lint: { allow: [{ rule: "GL001", reason: "r" }] } }]);
    expect(rows.map((r) => [r.path, r.values])).toEqual([
      ["lint.allow[0].rule", [undefined, "GL001"]],
      ["lint.allow[0].reason", [undefined, "r"]],
    ]);
  });

  it("compares three configs", () => {
    const c = { ...a, algorithm: { ...a.algorithm, estimator: "rloo" } };
    const rows = diffConfigs([a, b, c]);
    expect(rows.filter((r) => r.differs).map((r) => r.path)).toEqual(["algorithm.estimator", "algorithm.norm_return"]);
    expect(rows.length).toBe(4);
  });
});
