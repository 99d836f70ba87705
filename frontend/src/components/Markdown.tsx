// Enough Markdown for the rule pages (headings, paragraphs, lists, fenced code, inline code/bold/italic/links),
// rendered to React elements: no HTML from the server is ever injected.

import type { ReactNode } from "react";
import { Link } from "../router";

export type Block =
  | { kind: "h"; level: number; text: string }
  | { kind: "p"; text: string }
  | { kind: "ul"; items: string[] }
  | { kind: "code"; lang: string; text: string };

export function parseMarkdown(md: string): Block[] {
  const lines = md.replace(/\r\n/g, "\n").split("\n");
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = /^```(\w*)/.exec(line);
    if (fence) {
      const body: string[] = [];
      for (i++; i < lines.length && !lines[i].startsWith("```"); i++) body.push(lines[i]);
      out.push({ kind: "code", lang: fence[1], text: body.join("\n") });
      i++;
      continue;
    }
    const h = /^(#{1,6})\s+(.*)$/.exec(line);
    if (h) {
      out.push({ kind: "h", level: h[1].length, text: h[2] });
      i++;
      continue;
    }
    if (/^\s*[-*]\s+/.test(line)) {
      const items: string[] = [];
      for (; i < lines.length && /^\s*[-*]\s+/.test(lines[i]); i++) items.push(lines[i].replace(/^\s*[-*]\s+/, ""));
      out.push({ kind: "ul", items });
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const para: string[] = [];
    for (; i < lines.length && lines[i].trim() && !/^(#{1,6}\s|```|\s*[-*]\s)/.test(lines[i]); i++) para.push(lines[i]);
    out.push({ kind: "p", text: para.join(" ") });
  }
  return out;
}

const INLINE = /(`[^`]+`|\*\*[^*]+\*\*|\*[^*\s][^*]*\*|\[[^\]]+\]\([^)]+\))/g;

export function inline(text: string): ReactNode[] {
  return text.split(INLINE).map((part, i) => {
    if (!part) return null;
    if (part.startsWith("`")) return <code key={i}>{part.slice(1, -1)}</code>;
    if (part.startsWith("**")) return <strong key={i}>{part.slice(2, -2)}</strong>;
    const link = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(part);
    if (link) {
      const href = link[2];
      const rule = /(GL\d{3})\.md$/.exec(href);
      if (rule) return <Link key={i} to={`/rules/${rule[1]}`}>{link[1]}</Link>;
      return /^https?:\/\//.test(href) ? <a key={i} href={href} rel="noreferrer">{link[1]}</a> : <span key={i}>{link[1]}</span>;
    }
    if (part.startsWith("*") && part.endsWith("*") && part.length > 2) return <em key={i}>{part.slice(1, -1)}</em>;
    return part;
  });
}

/** The same inline Markdown as DOM nodes, for CodeMirror tooltips (built outside React). Text only: no HTML. */
export function inlineNodes(text: string): Node[] {
  return text.split(INLINE).filter(Boolean).map((part) => {
    const el = (tag: string, body: string) => {
      const e = document.createElement(tag);
      e.textContent = body;
      return e;
    };
    if (part.startsWith("`")) return el("code", part.slice(1, -1));
    if (part.startsWith("**")) return el("strong", part.slice(2, -2));
    const link = /^\[([^\]]+)\]\(([^)]+)\)$/.exec(part);
    if (link) return document.createTextNode(link[1]);
    if (part.startsWith("*") && part.endsWith("*") && part.length > 2) return el("em", part.slice(1, -1));
    return document.createTextNode(part);
  });
}

export function Markdown({ source }: { source: string }) {
  return (
    <div className="markdown">
      {parseMarkdown(source).map((b, i) => {
        if (b.kind === "h") {
          const Tag = `h${Math.min(6, b.level)}` as "h2";
          return <Tag key={i}>{inline(b.text)}</Tag>;
        }
        if (b.kind === "ul") return <ul key={i}>{b.items.map((it, j) => <li key={j}>{inline(it)}</li>)}</ul>;
        if (b.kind === "code") return <pre key={i} className="code"><code>{b.text}</code></pre>;
        return <p key={i}>{inline(b.text)}</p>;
      })}
    </div>
  );
}
