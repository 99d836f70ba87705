// Server-sent events over fetch (EventSource cannot send an Authorization header).

import { API } from "./client";
import { getToken } from "./auth";

export interface SseEvent {
  event: string;
  data: string;
  id?: string;
}

/** Incremental parser of the text/event-stream format: feed chunks, get complete events. */
export class SseParser {
  private buf = "";
  private event = "";
  private data: string[] = [];
  private id: string | undefined;

  feed(chunk: string): SseEvent[] {
    this.buf += chunk;
    const out: SseEvent[] = [];
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\n|\r/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const sepLen = this.buf.startsWith("\r\n", nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + sepLen);
      if (line === "") {
        if (this.data.length) out.push({ event: this.event || "message", data: this.data.join("\n"), id: this.id });
        this.event = "";
        this.data = [];
        continue;
      }
      if (line.startsWith(":")) continue; // comment / keep-alive
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "event") this.event = value;
      else if (field === "data") this.data.push(value);
      else if (field === "id") this.id = value;
    }
    return out;
  }
}

export interface SseHandle {
  close(): void;
}

/**
 * Open an SSE stream. `onEvent` gets each event with its JSON data parsed. When the stream drops without an
 * `end` event, `onDrop` is called and we reconnect after a pause, resuming after the last event received.
 */
export function openEvents(
  path: string,
  onEvent: (event: string, data: unknown) => void,
  opts: { onDrop?: () => void; onEnd?: () => void; retryMs?: number } = {},
): SseHandle {
  const ctrl = new AbortController();
  let closed = false;
  let ended = false;
  // The server's event ids are resume cursors: reconnecting with Last-Event-ID gets exactly what was missed.
  let lastId: string | undefined;
  const run = async () => {
    while (!closed && !ended) {
      try {
        const headers: Record<string, string> = { Accept: "text/event-stream" };
        const t = getToken();
        if (t) headers.Authorization = `Bearer ${t}`;
        if (lastId) headers["Last-Event-ID"] = lastId;
        const res = await fetch(API + path, { headers, signal: ctrl.signal });
        if (res.status === 401 || res.status === 404) return; // nothing to retry for
        if (res.ok && res.body) {
          const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
          const parser = new SseParser();
          for (;;) {
            const { value, done } = await reader.read();
            if (done) break;
            for (const ev of parser.feed(value)) {
              if (ev.id) lastId = ev.id;
              if (ev.event === "end") {
                ended = true;
                opts.onEnd?.();
                continue;
              }
              let data: unknown = ev.data;
              try {
                data = JSON.parse(ev.data);
              } catch {
                /* keep the raw string */
              }
              onEvent(ev.event, data);
            }
          }
        }
      } catch (e) {
        if ((e as Error).name === "AbortError") return;
      }
      if (closed || ended) return;
      opts.onDrop?.();
      await new Promise((r) => setTimeout(r, opts.retryMs ?? 2000));
    }
  };
  void run();
  return {
    close() {
      closed = true;
      ctrl.abort();
    },
  };
}
