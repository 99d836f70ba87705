import { describe, expect, it } from "vitest";
import { evalSeries } from "../components/EvalCurves";
import { MARKED_POINTS, pointMarks } from "./chartData";

describe("point marks", () => {
  it("a run's start and final evaluations (one point per series) are drawn as dots", () => {
    // a finished run without run.eval_every: the summary's start value at step 0 and the final one at step 500
    const summary = { steps: 500, "eval/success_rate_start": 0.002, "eval/success_rate": 0.994 };
    const [during, final] = evalSeries([], "eval/success_rate", "eval/success_rate_start", summary);
    expect([during.x, during.y, final.x, final.y]).toEqual([[0], [0.002], [500], [0.994]]);
    expect([during.label, final.label]).toEqual(["start", "final"]); // not "during training": none ran
    expect(pointMarks(during).show).toBe(true);
    expect(pointMarks(final).show).toBe(true);
  });

  it("a dense curve stays a plain line; nulls (log scale drops) are not counted", () => {
    const steps = Array.from({ length: MARKED_POINTS + 1 }, (_, i) => i + 1);
    expect(pointMarks({ x: steps, y: steps }).show).toBe(false);
    expect(pointMarks({ x: steps, y: steps.map((v, i) => (i === 0 ? null : v)) }).show).toBe(true);
    expect(pointMarks({ x: [1, 2], y: [null, null] }).show).toBe(false);
  });
});
