import { describe, expect, it } from "vitest";
import { evalSeries } from "../components/EvalCurves";
import { mergeSteps } from "../components/SampleEpisodes";
import { downloads, formatBytes } from "./artifacts";
import type { MetricPoint } from "./types";

describe("artifacts helpers", () => {
  it("formats byte counts", () => {
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(1536)).toBe("1.5 KB");
    expect(formatBytes(3 * 1024 ** 3)).toBe("3.0 GB");
  });

  it("names downloads like the server's archives", () => {
    expect(downloads.checkpoint("abc", 40)).toEqual({ path: "/runs/abc/checkpoints/40/archive", filename: "abc-step-000040.tar.gz" });
    expect(downloads.metricsCsv("abc").path).toBe("/runs/abc/metrics.csv");
  });

  it("merges sample pages latest first, each step once", () => {
    const s = (step: number, tag = "") => ({ step, episodes: tag ? [{ prompt: tag } as never] : [] });
    const merged = mergeSteps([s(5, "new"), s(4)], [s(4, "old"), s(3), s(2)]);
    expect(merged.map((x) => x.step)).toEqual([5, 4, 3, 2]);
    expect(merged[1].episodes).toEqual([]); // the latest page's copy of step 4 wins
  });

  it("draws eval points with the start at step 0 and the final evaluation apart", () => {
    const points: MetricPoint[] = [
      { step: 1, metrics: { "rollout/reward_mean": 0.1 } },
      { step: 2, metrics: { "eval/success_rate": 0.25 } },
      { step: 4, metrics: { "eval/success_rate": 0.5 } },
    ];
    const summary = { steps: 4, "eval/success_rate": 0.6, "eval/success_rate_start": 0.1 };
    const [during, final] = evalSeries(points, "eval/success_rate", "eval/success_rate_start", summary);
    expect(during).toEqual({ label: "during training", x: [0, 2, 4], y: [0.1, 0.25, 0.5] });
    expect(final).toEqual({ label: "final", x: [4], y: [0.6] });
    expect(evalSeries(points, "eval/success_rate", "eval/success_rate_start", null)).toHaveLength(1);
  });
});
