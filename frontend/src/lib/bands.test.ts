import { describe, expect, it } from "vitest";
import { armCount, gridOf, parseValues } from "../api/sweeps";
import { bandSeries, formatStat } from "./bands";

describe("grid rows", () => {
  it("reads numbers, booleans and text from comma-separated values", () => {
    expect(parseValues("grpo, rloo")).toEqual(["grpo", "rloo"]);
    expect(parseValues("0, 1, 2")).toEqual([0, 1, 2]);
    expect(parseValues("1e-3, 3e-4")).toEqual([0.001, 0.0003]);
    expect(parseValues("true,false, null")).toEqual([true, false, null]);
    expect(parseValues('"1", 1')).toEqual(["1", 1]);
    expect(parseValues(' [[1, 2], {"a": 1}] ')).toEqual([[1, 2], { a: 1 }]);
    expect(parseValues("  ")).toEqual([]);
  });

  it("builds the grid, counts its runs and names the first problem", () => {
    const { grid, error } = gridOf([
      { key: "algorithm.estimator", values: "grpo, rloo" },
      { key: " run.seed ", values: "0,1,2" },
      { key: "", values: "ignored" },
    ]);
    expect(error).toBeNull();
    expect(grid).toEqual({ "algorithm.estimator": ["grpo", "rloo"], "run.seed": [0, 1, 2] });
    expect(armCount(grid)).toBe(6);
    expect(armCount({})).toBe(0);
    expect(gridOf([{ key: "run.seed", values: "" }]).error).toBe("run.seed: give at least one value");
    expect(gridOf([{ key: "a", values: "1" }, { key: "a", values: "2" }]).error).toBe("the key a is listed twice");
    expect(gridOf([{ key: "a", values: "[1," }]).error).toMatch(/^a: /);
  });
});

describe("bands", () => {
  const points = [
    { step: 2, n: 3, mean: 0.4, std: 0.2, ci_low: -0.097, ci_high: 0.897 },
    { step: 1, n: 1, mean: 0.1, std: null, ci_low: null, ci_high: null },
  ];

  it("draws mean ± std or the interval, sorted by step; one seed has a zero-width band", () => {
    const std = bandSeries({ label: "grpo", points }, "std");
    expect(std.x).toEqual([1, 2]);
    expect(std.mean).toEqual([0.1, 0.4]);
    expect(std.lo[0]).toBe(0.1);
    expect(std.lo[1]).toBeCloseTo(0.2);
    expect(std.hi[1]).toBeCloseTo(0.6);
    const ci = bandSeries({ label: "grpo", points }, "ci");
    expect(ci.lo).toEqual([0.1, -0.097]);
    expect(ci.hi).toEqual([0.1, 0.897]);
    expect(ci.n).toEqual([1, 3]);
  });

  it("prints a final stat with its interval, or the mean and why there is none", () => {
    const full = formatStat({ n: 3, mean: 0.5, std: 0.1, ci_low: 0.25, ci_high: 0.75, values: [0.4, 0.5, 0.6], note: null });
    expect(full).toEqual({ main: "0.5 ± 0.25", sub: "95% CI [0.25, 0.75], n = 3" });
    const one = formatStat({ n: 1, mean: 0.9, std: null, ci_low: null, ci_high: null, values: [0.9], note: "one seed" });
    expect(one).toEqual({ main: "0.9", sub: "one seed" });
    expect(formatStat(undefined).main).toBe("—");
  });
});
