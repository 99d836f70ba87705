import { describe, expect, it } from "vitest";
import {
  availableAxes,
  INTEGER_INCREMENTS,
  inUnitInterval,
  nearestPoint,
  paddedRange,
  positiveOnly,
  seriesOnAxis,
  smoothEma,
  xValues,
} from "./chartData";

const timed = (steps: number[]) =>
  steps.map((s) => ({
    step: s,
    metrics: { r: s * 10, "time/rollout_s": 1, "time/learn_s": 0.5, "throughput/tokens_per_s": 100 },
  }));

describe("x axes", () => {
  it("step, cumulative train time and sampled tokens", () => {
    const pts = timed([1, 2, 3]);
    expect(xValues(pts, "step")).toEqual([1, 2, 3]);
    expect(xValues(pts, "time")).toEqual([1.5, 3, 4.5]);
    expect(xValues(pts, "tokens")).toEqual([150, 300, 450]);
  });

  it("a gap of k steps counts its logged step k times", () => {
    expect(xValues(timed([1, 4]), "time")).toEqual([1.5, 6]);
  });

  it("points without timing are unknown on the time axis, not zero", () => {
    const pts = [...timed([1]), { step: 2, metrics: { r: 5 } }];
    expect(xValues(pts, "time")).toEqual([1.5, null]);
    expect(seriesOnAxis(pts, "r", "time")).toEqual({ x: [1.5], y: [10] });
  });

  it("offers time and tokens only when the metrics carry them", () => {
    expect(availableAxes(timed([1]))).toEqual(["step", "time", "tokens"]);
    expect(availableAxes([{ step: 1, metrics: { r: 1 } }])).toEqual(["step"]);
  });

  it("a step window keeps the last N steps, time still counted from the start", () => {
    expect(seriesOnAxis(timed([1, 2, 3, 4]), "r", "time", 2)).toEqual({ x: [4.5, 6], y: [30, 40] });
    expect(seriesOnAxis(timed([1, 2, 3, 4]), "r", "step", 0).x).toEqual([1, 2, 3, 4]);
  });
});

describe("smoothing", () => {
  it("is TensorBoard's debiased EMA: a constant stays constant, the first value is itself", () => {
    expect(smoothEma([2, 2, 2], 0.9)).toEqual([2, 2, 2].map((v) => expect.closeTo(v, 10)));
    const s = smoothEma([0, 1, 1, 1], 0.5);
    expect(s[0]).toBe(0);
    // step 2: last = 0.5 * 0 + 0.5 * 1 = 0.5, debiased by 1 - 0.5² = 0.75
    expect(s[1]).toBeCloseTo(0.5 / 0.75);
    expect(s[3]!).toBeGreaterThan(s[2]!);
    expect(s[3]!).toBeLessThan(1);
  });

  it("weight 0 is the raw series; nulls stay null and do not move the average", () => {
    expect(smoothEma([1, 5], 0)).toEqual([1, 5]);
    expect(smoothEma([1, null, 1], 0.9)).toEqual([1, null, expect.closeTo(1, 10)]);
  });
});

describe("y range", () => {
  it("a spread at rounding level (a smoothed constant) is flat, not a 1e-16 wide axis", () => {
    const [lo, hi] = paddedRange(0.3, 0.30000000000000004);
    expect(hi - lo).toBeCloseTo(0.06);
    expect(paddedRange(0, 1e-17)).toEqual([-0.5, 0.5]);
  });
});

describe("log scale and hover", () => {
  it("drops values that are not positive and counts them", () => {
    expect(positiveOnly([1, 0, -2, null, 3])).toEqual({ values: [1, null, null, null, 3], dropped: 2 });
  });

  it("finds the nearest point of a series", () => {
    const s = { x: [0, 10, 20], y: [1, 2, 3] };
    expect(nearestPoint(s, 11)).toEqual({ x: 10, y: 2 });
    expect(nearestPoint(s, 16)).toEqual({ x: 20, y: 3 });
    expect(nearestPoint(s, -5)).toEqual({ x: 0, y: 1 });
    expect(nearestPoint(s, 99)).toEqual({ x: 20, y: 3 });
    expect(nearestPoint({ x: [], y: [] }, 1)).toBeNull();
  });

  it("integer increments have no fractions", () => {
    expect(INTEGER_INCREMENTS.slice(0, 4)).toEqual([1, 2, 5, 10]);
    expect(INTEGER_INCREMENTS.every(Number.isInteger)).toBe(true);
  });

  it("unit interval test for the sparkline scale", () => {
    expect(inUnitInterval([0, 0.5, 1])).toBe(true);
    expect(inUnitInterval([0, 1.5])).toBe(false);
    expect(inUnitInterval([])).toBe(false);
  });
});
