import { describe, expect, it } from "vitest";
import { SseParser } from "./sse";

describe("SseParser", () => {
  it("parses events split across chunks, with ids, comments and CRLF", () => {
    const p = new SseParser();
    expect(p.feed(": stream open\n\nid: e1.m-1.l-1\nevent: sta")).toEqual([]);
    const evs = p.feed('tus\ndata: {"status":"running"}\n\nevent: metric\r\ndata: {"step":0}\r\n\r\nevent: end\ndata: {}\n\n');
    expect(evs).toEqual([
      { event: "status", data: '{"status":"running"}', id: "e1.m-1.l-1" },
      { event: "metric", data: '{"step":0}', id: "e1.m-1.l-1" },
      { event: "end", data: "{}", id: "e1.m-1.l-1" },
    ]);
  });

  it("joins multi-line data", () => {
    expect(new SseParser().feed("data: a\ndata: b\n\n")).toEqual([{ event: "message", data: "a\nb", id: undefined }]);
  });
});
