import { describe, expect, it } from "vitest";
import type { RunDetail } from "../api/types";
import { apiQuery, columnValue, compareValues, DEFAULT_QUERY, nextSort, parseTags, readQuery, sparkScale, writeQuery } from "./runFilters";

describe("runs table state in the URL", () => {
  it("round-trips filters, sort and columns; defaults are left out", () => {
    const q = { ...DEFAULT_QUERY, status: "failed" as const, tagPrefix: "dem", sort: "config:optim.lr" as const, order: "asc" as const, columns: ["config:optim.lr" as const, "metric:eval/success_rate" as const] };
    const url = writeQuery(q);
    expect(url).toBe("?status=failed&tag_prefix=dem&sort=config%3Aoptim.lr&order=asc&cols=config%3Aoptim.lr%2Cmetric%3Aeval%2Fsuccess_rate");
    expect(readQuery(new URLSearchParams(url))).toEqual(q);
    expect(writeQuery(DEFAULT_QUERY)).toBe("");
  });

  it("ignores junk in a hand-edited URL", () => {
    const q = readQuery(new URLSearchParams("sort=drop%20table&order=up&offset=-5&cols=config:a,,evil"));
    expect([q.sort, q.order, q.offset, q.columns]).toEqual(["created_at", "desc", 0, ["config:a"]]);
  });

  it("asks the server to sort core columns only", () => {
    expect(apiQuery({ ...DEFAULT_QUERY, sort: "last_reward", order: "asc" }, 50)).toMatchObject({ sort: "last_reward", order: "asc", limit: 50 });
    const client = apiQuery({ ...DEFAULT_QUERY, sort: "metric:adv/std" }, 200);
    expect(client.sort).toBeUndefined();
    expect(client.order).toBeUndefined();
  });

  it("a header click sorts a new column (names A→Z, numbers high first), the same one flips", () => {
    expect(nextSort(DEFAULT_QUERY, "name")).toEqual({ sort: "name", order: "asc", offset: 0 });
    expect(nextSort(DEFAULT_QUERY, "last_reward").order).toBe("desc");
    expect(nextSort({ ...DEFAULT_QUERY, sort: "name", order: "asc" }, "name").order).toBe("desc");
  });

  it("parses tags", () => {
    expect(parseTags(" a, b ,a,, c")).toEqual(["a", "b", "c"]);
  });
});

describe("config and metric columns", () => {
  const run = {
    config: { optim: { lr: 0.001 }, algorithm: { estimator: "rloo" } },
    summary: { "eval/success_rate": 0.75, final: { "adv/std": 0.4 } },
  } as unknown as RunDetail;

  it("reads config paths and the newest metric values", () => {
    expect(columnValue("config:optim.lr", run, undefined)).toBe(0.001);
    expect(columnValue("config:optim.missing", run, undefined)).toBeUndefined();
    expect(columnValue("metric:eval/success_rate", run, { "eval/success_rate": 0.5 })).toBe(0.75);
    expect(columnValue("metric:adv/std", run, undefined)).toBe(0.4);
    expect(columnValue("metric:adv/std", run, { "adv/std": 0.9 })).toBe(0.9);
  });

  it("sorts numbers numerically, text naturally, missing values last both ways", () => {
    const vals = [10, undefined, 9, 100];
    expect([...vals].sort((a, b) => compareValues(a, b, "asc"))).toEqual([9, 10, 100, undefined]);
    expect([...vals].sort((a, b) => compareValues(a, b, "desc"))).toEqual([100, 10, 9, undefined]);
    expect(["run10", "run9"].sort((a, b) => compareValues(a, b, "asc"))).toEqual(["run9", "run10"]);
  });
});

describe("sparkline scale", () => {
  it("a reward in [0, 1] is drawn on 0…1, whatever its own spread", () => {
    expect(sparkScale([0.97, 1, 0.98])).toEqual({ lo: 0, hi: 1, fixed: true });
  });

  it("other rewards on their own range; a flat one in the middle of a band", () => {
    expect(sparkScale([-1, 3])).toEqual({ lo: -1, hi: 3, fixed: false });
    const flat = sparkScale([-0.1, -0.1]);
    expect(flat.fixed).toBe(false);
    expect((flat.lo + flat.hi) / 2).toBeCloseTo(-0.1);
  });
});
