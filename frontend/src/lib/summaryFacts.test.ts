import { describe, expect, it } from "vitest";
import { readableNumber, summaryFacts } from "./summaryFacts";

// the summary of the 500-step demo run a newcomer looked at (training/pipeline.py finish())
const demo = {
  steps: 500,
  stopped: false,
  env: "grpolab:GuessNumber-v0-n8",
  parameters: 134208,
  final: { "rollout/reward_mean": 1 },
  "eval/reward_mean_start": -0.09765625,
  "eval/success_rate": 0.994140625,
  "eval/episodes": 512,
  "eval/seconds": 1.4573,
  wall_s: 1264.8051,
};

const asText = (s: Record<string, unknown>) => Object.fromEntries(summaryFacts(s).map((f) => [f.label, f.value]));

describe("summaryFacts", () => {
  it("reads as a researcher would write it", () => {
    expect(asText(demo)).toEqual({
      steps: "500",
      env: "grpolab:GuessNumber-v0-n8",
      parameters: "134,208",
      "eval/reward_mean_start": "-0.098",
      "eval/success_rate": "0.994",
      "eval/episodes": "512",
      "eval time": "1.5 s",
      "wall time": "21m 05s",
    });
  });

  it("shows the stopped flag only when the run was stopped, and other booleans as yes/no", () => {
    expect(asText({ stopped: true, lora: false })).toEqual({ stopped: "yes", lora: "no" });
    expect(summaryFacts({ stopped: false })).toEqual([]);
  });

  it("rounds large fractions to fewer decimals", () => {
    expect(readableNumber(1264.805)).toBe("1,265");
    expect(readableNumber(123.456)).toBe("123.5");
    expect(readableNumber(0.00001234)).toBe("1.23e-5");
  });
});
