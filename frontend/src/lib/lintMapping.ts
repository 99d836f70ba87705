// Findings from POST /lint → editor diagnostics (character ranges), and what blocks Submit.

import type { Finding } from "../api/types";
import { locatePointer } from "./yamlPath";

export interface Diag {
  from: number;
  to: number;
  severity: "error" | "warning" | "info" | "hint";
  finding: Finding;
}

/** Offsets at which each line (0-based) starts. */
export function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = 0; i < text.length; i++) if (text[i] === "\n") starts.push(i + 1);
  return starts;
}

/**
 * Character range a finding should underline: from its 1-based line/column to the end of that line's content
 * (trailing comment and spaces excluded), so `norm_return: true      # …` underlines `norm_return: true`.
 * Without a line we fall back to locating the pointer in the text, then to the first line.
 */
export function findingRange(text: string, f: Pick<Finding, "line" | "column" | "pointer">): { from: number; to: number } {
  const starts = lineStarts(text);
  let line = f.line ?? null;
  let column = f.column ?? null;
  if (line === null && f.pointer) {
    const loc = locatePointer(text, f.pointer);
    if (loc) ({ line, column } = loc);
  }
  const row = Math.min(Math.max((line ?? 1) - 1, 0), starts.length - 1);
  const lineStart = starts[row];
  const lineEnd = row + 1 < starts.length ? starts[row + 1] - 1 : text.length;
  const lineText = text.slice(lineStart, lineEnd);
  const content = lineText.replace(/\s+#.*$/, "").replace(/\s+$/, "");
  const firstNonSpace = lineText.length - lineText.trimStart().length;
  const col = column !== null ? Math.min(Math.max(column - 1, 0), lineText.length) : firstNonSpace;
  let from = lineStart + col;
  let to = lineStart + Math.max(content.length, col);
  if (to <= from) {
    // empty line or column at its end: underline one character so the marker is visible
    from = Math.max(lineStart, Math.min(from, text.length - 1));
    to = Math.min(text.length, from + 1);
  }
  return { from, to };
}

/** An allowed error is shown, but as information (it no longer blocks). */
export function displaySeverity(f: Finding): Diag["severity"] {
  if (f.allowed) return "info";
  return f.severity;
}

export function findingsToDiags(text: string, findings: Finding[]): Diag[] {
  return findings
    .map((f) => ({ ...findingRange(text, f), severity: displaySeverity(f), finding: f }))
    .sort((a, b) => a.from - b.from);
}

export function blockingFindings(findings: Finding[]): Finding[] {
  return findings.filter((f) => f.severity === "error" && !f.allowed);
}

/** Rules a finding of which can never be allowed (the config is invalid: nothing else can be checked). */
export const NOT_ALLOWABLE = new Set(["GL000"]);

/** Why Submit is disabled, for the blocking findings (B10: GL000 must be fixed; it cannot be allowed). */
export function submitHint(blocking: Finding[]): string {
  if (!blocking.length) return "";
  const n = blocking.length;
  const plural = n > 1 ? "s" : "";
  const fixOnly = blocking.filter((f) => NOT_ALLOWABLE.has(f.rule)).length;
  if (fixOnly === n) return `${n} error finding${plural} must be fixed (an invalid config cannot be allowed)`;
  if (fixOnly) return `${n} error findings: ${fixOnly} must be fixed, the rest fixed or allowed with a reason`;
  return `${n} error finding${plural} must be fixed or allowed with a reason`;
}

/** Rule id from a doc path or id ("docs/rules/GL001.md" → "GL001"). */
export function ruleHref(f: Pick<Finding, "rule">): string {
  return `/rules/${encodeURIComponent(f.rule)}`;
}
