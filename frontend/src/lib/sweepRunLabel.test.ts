import { describe, expect, it } from "vitest";
import { runLinkLabel } from "./bands";

describe("a sweep run's link label", () => {
  it("names the seed where the grid varies run.seed", () => {
    expect(runLinkLabel(0, "a9027ba79e31")).toBe("seed 0");
    expect(runLinkLabel(2, "1932e373eaad")).toBe("seed 2");
  });
  it("names the run where the grid has no seed key, not 'seed –'", () => {
    expect(runLinkLabel(null, "a9027ba79e31")).toBe("run a9027b");
    expect(runLinkLabel(undefined, "1932e373eaad")).toBe("run 1932e3");
  });
});
