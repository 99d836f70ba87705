import { describe, expect, it } from "vitest";
import { cursorAt, locatePointer } from "./yamlPath";

const T = `algorithm:
  estimator: grpo
  norm_return: true
lint:
  allow:
    - rule: GL001
      reason: x
rollout:
  subsample:
    unit: none
`;

describe("cursorAt", () => {
  it("finds parents, key and value position", () => {
    const pos = T.indexOf("grpo") + 2;
    expect(cursorAt(T, pos)).toMatchObject({ parents: ["algorithm"], key: "estimator", inValue: true, word: "gr" });
  });

  it("handles keys inside a list item", () => {
    expect(cursorAt(T, T.indexOf("reason") + 3)).toMatchObject({ parents: ["lint", "allow"], key: "reason", inValue: false });
    expect(cursorAt(T, T.indexOf("rule") + 2)).toMatchObject({ parents: ["lint", "allow"], key: "rule" });
  });

  it("completes a new key on an indented blank line", () => {
    const text = "algorithm:\n  gro";
    expect(cursorAt(text, text.length)).toMatchObject({ parents: ["algorithm"], key: null, word: "gro" });
  });
});

describe("locatePointer", () => {
  it("returns the 1-based line and column of a key", () => {
    expect(locatePointer(T, "/algorithm/norm_return")).toEqual({ line: 3, column: 3 });
    expect(locatePointer(T, "/rollout/subsample/unit")).toEqual({ line: 10, column: 5 });
  });

  it("returns null when nothing of the path exists", () => {
    expect(locatePointer(T, "/optim/lr")).toBeNull();
  });
});
