import { describe, expect, it } from "vitest";
import { createBody, scopeLabel, WEBHOOK_EVENTS, type WebhookEvent } from "./webhooks";

describe("webhook helpers", () => {
  it("offers every event the API accepts, in its order", () => {
    expect(WEBHOOK_EVENTS).toEqual(["run.succeeded", "run.failed", "run.cancelled", "sweep.finished"]);
  });

  it("says whose runs a webhook hears", () => {
    expect(scopeLabel({ project: "reasoning", user: null }, "ana")).toBe("project reasoning");
    expect(scopeLabel({ project: null, user: "ana" }, "ana")).toBe("mine");
    expect(scopeLabel({ project: null, user: "bo" }, "ana")).toBe("runs of bo");
    expect(scopeLabel({ project: null, user: null }, "ana")).toBe("runs of a removed user");
  });

  it("builds the body in the server's event order, or says what is missing", () => {
    const ticked = new Set<WebhookEvent>(["sweep.finished", "run.failed"]);
    expect(createBody("  https://hooks.example.org/x ", ticked, "")).toEqual({
      body: { url: "https://hooks.example.org/x", events: ["run.failed", "sweep.finished"] },
      why: null,
    });
    expect(createBody("https://h.example.org/x", ticked, "reasoning").body?.project).toBe("reasoning");
    expect(createBody(" ", ticked, "").why).toMatch(/^Enter the URL/);
    expect(createBody("https://h.example.org/x", new Set(), "")).toEqual({ body: null, why: "Tick at least one event." });
  });
});
