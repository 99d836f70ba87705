import { describe, expect, it } from "vitest";
import { alignSeries, downsample, extent, lastSteps, mergePoints, paddedRange, seriesFor } from "./chartData";

const pts = (steps: number[], f = (s: number) => s / 10) => steps.map((s) => ({ step: s, metrics: { r: f(s) } }));

describe("mergePoints", () => {
  it("appends in-order live points", () => {
    expect(mergePoints(pts([0, 1]), pts([2, 3])).map((p) => p.step)).toEqual([0, 1, 2, 3]);
  });

  it("dedupes replayed steps, newest values win and other metrics are kept", () => {
    const merged = mergePoints(
      [{ step: 1, metrics: { r: 1, kl: 5 } }, { step: 2, metrics: { r: 2 } }],
      [{ step: 1, metrics: { r: 9 } }, { step: 3, metrics: { r: 3 } }],
    );
    expect(merged).toEqual([
      { step: 1, metrics: { r: 9, kl: 5 } },
      { step: 2, metrics: { r: 2 } },
      { step: 3, metrics: { r: 3 } },
    ]);
  });
});

describe("series windows", () => {
  it("drops steps without the metric and non-finite values", () => {
    const s = seriesFor([{ step: 0, metrics: { r: 1 } }, { step: 1, metrics: {} }, { step: 2, metrics: { r: NaN } }, { step: 3, metrics: { r: 2 } }], "r");
    expect(s).toEqual({ x: [0, 3], y: [1, 2] });
  });

  it("keeps the last N steps", () => {
    const s = seriesFor(pts([0, 5, 10, 15, 20]), "r");
    expect(lastSteps(s, 10).x).toEqual([15, 20]);
    expect(lastSteps(s, 0).x.length).toBe(5);
  });

  it("downsamples to at most max points, keeping the exact ends and bucket means", () => {
    const s = seriesFor(pts(Array.from({ length: 1000 }, (_, i) => i)), "r");
    const d = downsample(s, 100);
    expect(d.x.length).toBe(100);
    expect(d.x[0]).toBe(0);
    expect(d.x[99]).toBe(999);
    expect(d.y[99]).toBeCloseTo(99.9);
    // a linear ramp's bucket mean lies inside the bucket
    expect(d.y[50]!).toBeGreaterThan(d.y[49]!);
    expect(downsample(s, 5000)).toBe(s);
  });
});

describe("alignSeries", () => {
  it("puts runs on a shared x axis with nulls for gaps", () => {
    const [xs, y1, y2] = alignSeries([
      { x: [0, 2], y: [1, 3] },
      { x: [1, 2, 4], y: [5, 6, 7] },
    ]);
    expect(xs).toEqual([0, 1, 2, 4]);
    expect(y1).toEqual([1, null, 3, null]);
    expect(y2).toEqual([null, 5, 6, 7]);
  });

  it("extent ignores nulls", () => {
    expect(extent([null, 2, -1, null])).toEqual([-1, 2]);
    expect(extent([null])).toBeNull();
  });
});

describe("paddedRange", () => {
  it("gives flat series a visible band and others a 5% margin", () => {
    expect(paddedRange(0, 0)).toEqual([-0.5, 0.5]);
    expect(paddedRange(-0.1, -0.1)[0]).toBeCloseTo(-0.11);
    expect(paddedRange(0, 10)).toEqual([-0.5, 10.5]);
    expect(paddedRange(null, null)).toEqual([0, 1]);
  });
});
