import { describe, expect, it } from "vitest";
import { showArchived, sweepsPageSearch, sweepsRequest } from "./sweeps";

describe("the sweeps list's show-archived toggle", () => {
  it("round-trips through the page URL and asks the API for both kinds when on", () => {
    expect(showArchived(new URLSearchParams(sweepsPageSearch(true)))).toBe(true);
    expect(showArchived(new URLSearchParams(sweepsPageSearch(false)))).toBe(false);
    expect(sweepsPageSearch(false)).toBe("");
    expect(showArchived(new URLSearchParams("?archived=true"))).toBe(false); // only the page's own spelling
    expect(sweepsRequest(true)).toBe("/sweeps?limit=100&archived=any");
    expect(sweepsRequest(false)).toBe("/sweeps?limit=100"); // the server hides archived sweeps by default
  });
});
