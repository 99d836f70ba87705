import { describe, expect, it } from "vitest";
import { ApiError } from "../api/client";
import { isNotFound, pollEvery } from "./polling";

const error = (status: number) => new ApiError(status, { code: `http_${status}`, message: "x" });

describe("pollEvery", () => {
  it("stops polling once the server answered 404", () => {
    expect(pollEvery(3000, error(404))).toBe(0);
    expect(isNotFound(error(404))).toBe(true);
  });

  it("keeps polling through other errors (a restart, a lost connection) and without one", () => {
    expect(pollEvery(3000, error(502))).toBe(3000);
    expect(pollEvery(3000, error(0))).toBe(3000);
    expect(pollEvery(3000, new Error("network"))).toBe(3000);
    expect(pollEvery(3000, null)).toBe(3000);
  });

  it("stops polling once the thing is finished, and polls while it is not", () => {
    expect(pollEvery(3000, null, true)).toBe(0);
    expect(pollEvery(3000, null, false)).toBe(3000);
    expect(pollEvery(3000, error(502), true)).toBe(0);
  });
});
