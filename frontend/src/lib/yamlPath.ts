// Where am I in a block-style YAML config? Enough structure for completion, hover and locating a JSON
// pointer, without a full parse (the text is often half-typed and invalid while the user edits it).

export interface LineInfo {
  /** Column where the key starts (after `- ` for a list item), or of the first character. */
  indent: number;
  /** Column of the line's first non-space character (the dash of a list item). */
  lead: number;
  key: string | null; // `key:` on this line (after an optional `- `)
  isListItem: boolean;
  blank: boolean;
}

const KEY_RE = /^(\s*)(- +)?([A-Za-z_][\w.-]*)\s*:(\s|$)/;

export function lineInfo(line: string): LineInfo {
  const stripped = line.replace(/#.*$/, "");
  const lead = line.length - line.trimStart().length;
  if (!stripped.trim()) return { indent: 0, lead: 0, key: null, isListItem: false, blank: true };
  const m = KEY_RE.exec(line);
  if (!m) return { indent: lead, lead, key: null, isListItem: /^\s*-( |$)/.test(line), blank: false };
  // For `- key:` the key's own column is after the dash: that is where its siblings align.
  return { indent: m[1].length + (m[2]?.length ?? 0), lead, key: m[3], isListItem: !!m[2], blank: false };
}

/** Key path enclosing a line whose content starts at column `indent`, looking upward from `row`. */
export function parentPath(lines: string[], row: number, indent: number): string[] {
  const path: string[] = [];
  let cur = indent;
  for (let r = row - 1; r >= 0 && cur > 0; r--) {
    const info = lineInfo(lines[r]);
    if (info.blank || info.key === null) continue;
    if (info.indent < cur) {
      path.unshift(info.key);
      // A list item's key belongs to the list, whose owner sits left of the dash.
      cur = info.isListItem ? info.lead : info.indent;
    } else if (info.isListItem && info.lead < cur) {
      // a sibling key in the same list item (`- rule: …` above `reason: …`): continue above the dash
      cur = info.lead;
    }
  }
  return path;
}

export interface Cursor {
  /** Keys of the enclosing mappings. */
  parents: string[];
  /** The key on the cursor's line, when there is one. */
  key: string | null;
  /** True when the cursor sits after `key:` (in the value). */
  inValue: boolean;
  /** The partial word being typed and where it starts (absolute offset). */
  word: string;
  wordFrom: number;
}

export function cursorAt(text: string, pos: number): Cursor {
  const before = text.slice(0, pos);
  const row = before.split("\n").length - 1;
  const lines = text.split("\n");
  const lineStart = before.lastIndexOf("\n") + 1;
  const line = lines[row] ?? "";
  const col = pos - lineStart;
  const info = lineInfo(line);
  const colon = info.key !== null ? line.indexOf(":", line.indexOf(info.key) + info.key.length) : -1;
  const inValue = colon >= 0 && col > colon;
  const wm = /[\w.-]*$/.exec(line.slice(0, col));
  const word = wm ? wm[0] : "";
  const indent = info.blank || info.key === null ? (/^\s*(- +)?/.exec(line)?.[0].length ?? 0) : info.indent;
  return { parents: parentPath(lines, row, indent), key: info.key, inValue, word, wordFrom: pos - word.length };
}

/** Locate a JSON pointer (e.g. `/algorithm/norm_return`) in block YAML: 1-based line and column of its key. */
export function locatePointer(text: string, pointer: string): { line: number; column: number } | null {
  const want = pointer.split("/").filter(Boolean);
  if (!want.length) return null;
  const lines = text.split("\n");
  let best: { line: number; column: number; depth: number } | null = null;
  for (let r = 0; r < lines.length; r++) {
    const info = lineInfo(lines[r]);
    if (info.key === null) continue;
    const path = [...parentPath(lines, r, info.indent), info.key];
    let depth = 0;
    while (depth < path.length && depth < want.length && path[depth] === want[depth]) depth++;
    if (depth === path.length && depth > (best?.depth ?? 0)) {
      best = { line: r + 1, column: info.indent + 1, depth };
      if (depth === want.length) break;
    }
  }
  return best ? { line: best.line, column: best.column } : null;
}
