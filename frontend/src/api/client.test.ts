import { describe, expect, it } from "vitest";
import { qs, toErrorDetail } from "./client";
import { tokenFromFragment } from "./auth";
import { parseMarkdown } from "../components/Markdown";

describe("toErrorDetail", () => {
  it("keeps our error shape with its field errors", () => {
    const body = {
      detail: {
        code: "invalid_config",
        message: "the config is not valid",
        errors: [{ pointer: "/algorithm/group_size", field: "algorithm.group_size", message: "must be ≥ 1", line: 3, column: 3 }],
      },
    };
    const d = toErrorDetail(422, body);
    expect(d.code).toBe("invalid_config");
    expect(d.errors?.[0].field).toBe("algorithm.group_size");
  });

  it("turns FastAPI's default list into field messages", () => {
    const d = toErrorDetail(422, { detail: [{ loc: ["body", "config_text"], msg: "Field required" }] });
    expect(d.errors).toEqual([{ field: "config_text", pointer: "/config_text", message: "Field required" }]);
  });

  it("never surfaces raw bodies: non-JSON errors get a readable message", () => {
    expect(toErrorDetail(502, null, "Bad Gateway").message).toMatch(/server had a problem \(502 Bad Gateway\)/);
    expect(toErrorDetail(401, null).message).toMatch(/Sign in again/);
    expect(toErrorDetail(404, { detail: "no run with id 'x'" }).message).toBe("no run with id 'x'");
  });
});

describe("small helpers", () => {
  it("reads the token from the fragment", () => {
    expect(tokenFromFragment("#token=glab_abc")).toBe("glab_abc");
    expect(tokenFromFragment("#x=1&token=t2")).toBe("t2");
    expect(tokenFromFragment("#")).toBeNull();
  });

  it("builds query strings without empty values", () => {
    expect(qs({ status: "running", tag: "", q: undefined, limit: 50 })).toBe("?status=running&limit=50");
    expect(qs({})).toBe("");
  });

  it("parses rule-page markdown blocks", () => {
    const blocks = parseMarkdown("# GL001 x\n\n**bold** text\n\n## Fix\n- a\n- b\n```yaml\nk: v\n```\n");
    expect(blocks.map((b) => b.kind)).toEqual(["h", "p", "h", "ul", "code"]);
    expect(blocks[4]).toEqual({ kind: "code", lang: "yaml", text: "k: v" });
  });
});
