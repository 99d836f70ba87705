import { describe, expect, it } from "vitest";
import { canModify, canSubmit } from "./session";

describe("what the UI shows before and after /me answers", () => {
  it("shows nothing that changes a run until /me has answered", () => {
    expect(canModify(null, "ada")).toBe(false);
    expect(canSubmit(null)).toBe(false);
  });
  it("a viewer changes nothing and submits nothing", () => {
    expect(canModify({ name: "v", role: "viewer" }, "v")).toBe(false);
    expect(canSubmit({ name: "v", role: "viewer" })).toBe(false);
  });
  it("a member changes own and owner-less runs only; an admin any", () => {
    const m = { name: "ada", role: "member" as const };
    expect(canModify(m, "ada")).toBe(true);
    expect(canModify(m, null)).toBe(true);
    expect(canModify(m, "bob")).toBe(false);
    expect(canModify({ name: "root", role: "admin" }, "bob")).toBe(true);
    expect(canSubmit(m)).toBe(true);
  });
  it("a server that sends no role (or whose /me failed) hides nothing: its 403 decides", () => {
    expect(canModify({ name: "" }, "bob")).toBe(true);
    expect(canSubmit({ name: "" })).toBe(true);
  });
});
