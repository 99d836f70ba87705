// "Allow with a reason": record the acknowledgement in the config itself (`lint.allow`), as the CLI and API
// expect, so the reason travels with the run.

import { isMap, isSeq, parseDocument } from "yaml";

/** Quote a free-text reason as a YAML double-quoted scalar (JSON strings are valid YAML). */
function quote(s: string): string {
  return JSON.stringify(s.replace(/\s+/g, " ").trim());
}

export function hasTopLevelKey(text: string, key: string): boolean {
  return new RegExp(`^${key}\\s*:`, "m").test(text);
}

/**
 * Add `{rule, reason}` to `lint.allow`. If the config has no `lint:` section we append a block at the end and
 * leave the rest of the text byte-for-byte as it was; otherwise we edit through the YAML document (comments kept).
 * An existing entry for the same rule gets the new reason.
 */
export function addLintAllow(text: string, rule: string, reason: string): string {
  if (!hasTopLevelKey(text, "lint")) {
    const sep = text === "" || text.endsWith("\n") ? "" : "\n";
    return `${text}${sep}lint:\n  allow:\n    - rule: ${rule}\n      reason: ${quote(reason)}\n`;
  }
  const doc = parseDocument(text);
  if (doc.errors.length) throw new Error("Fix the YAML syntax errors first, then allow the finding.");
  const lint = doc.get("lint");
  if (lint !== null && lint !== undefined && !isMap(lint)) throw new Error("`lint` must be a section (a mapping).");
  const allow = doc.getIn(["lint", "allow"]);
  const entry = doc.createNode({ rule, reason: reason.replace(/\s+/g, " ").trim() });
  if (isSeq(allow)) {
    const existing = allow.items.findIndex((it) => isMap(it) && it.get("rule") === rule);
    if (existing >= 0) allow.set(existing, entry);
    else allow.add(entry);
  } else {
    doc.setIn(["lint", "allow"], doc.createNode([{ rule, reason: reason.replace(/\s+/g, " ").trim() }]));
  }
  return doc.toString();
}
