// The YAML editor: CodeMirror 6 with RunConfig completion + hover docs from the JSON Schema, and lint findings
// from POST /lint shown inline (squiggle, gutter marker, tooltip with message, why, fix and the rule's page).

import { useEffect, useRef } from "react";
import { basicSetup } from "codemirror";
import { EditorState, Prec } from "@codemirror/state";
import { EditorView, hoverTooltip, keymap } from "@codemirror/view";
import { redo } from "@codemirror/commands";
import { yaml } from "@codemirror/lang-yaml";
import { linter, lintGutter, type Diagnostic } from "@codemirror/lint";
import { autocompletion, type Completion, type CompletionContext, type CompletionResult } from "@codemirror/autocomplete";
import { HighlightStyle, syntaxHighlighting } from "@codemirror/language";
import { tags as t } from "@lezer/highlight";
import type { Finding } from "../api/types";
import { findingsToDiags } from "../lib/lintMapping";
import { inlineNodes } from "./Markdown";
import { cursorAt } from "../lib/yamlPath";
import { describe, enumValues, nodeAt, propertiesAt, type SchemaNode } from "../lib/schema";
import { navigate } from "../router";

export interface ConfigEditorProps {
  value: string;
  onChange: (text: string) => void;
  /** Lint the text; resolves to findings (or throws: the editor then shows no diagnostics). */
  lint: (text: string) => Promise<Finding[]>;
  schema: SchemaNode | null;
  label: string;
  lintDelayMs?: number;
}

const highlight = HighlightStyle.define([
  { tag: [t.propertyName, t.definition(t.propertyName)], color: "var(--syn-key)" },
  { tag: [t.string, t.special(t.string)], color: "var(--syn-string)" },
  { tag: [t.number, t.bool, t.null, t.keyword], color: "var(--syn-literal)" },
  { tag: t.comment, color: "var(--syn-comment)", fontStyle: "italic" },
  { tag: [t.punctuation, t.separator, t.squareBracket, t.brace], color: "var(--muted)" },
]);

function renderFinding(f: Finding): HTMLElement {
  const el = document.createElement("div");
  el.className = "cm-finding";
  const head = document.createElement("div");
  const a = document.createElement("a");
  a.href = `/rules/${f.rule}`;
  a.textContent = `${f.rule} ${f.name}`;
  a.addEventListener("click", (e) => {
    e.preventDefault();
    navigate(`/rules/${f.rule}`);
  });
  head.append(a, document.createTextNode(f.allowed ? ` (allowed: ${f.allow_reason ?? ""})` : ` (${f.severity})`));
  const msg = document.createElement("p");
  msg.append(...inlineNodes(f.message));
  el.append(head, msg);
  for (const [label, text] of [["Why", f.why], ["Fix", f.fix]] as const) {
    if (!text) continue;
    const p = document.createElement("p");
    const b = document.createElement("strong");
    b.textContent = `${label}: `;
    p.append(b, ...inlineNodes(text));
    el.append(p);
  }
  return el;
}

function completionSource(getSchema: () => SchemaNode | null) {
  return (ctx: CompletionContext): CompletionResult | null => {
    const schema = getSchema();
    if (!schema) return null;
    const text = ctx.state.doc.toString();
    const cur = cursorAt(text, ctx.pos);
    if (!cur.word && !ctx.explicit) return null;
    if (cur.inValue && cur.key) {
      const node = nodeAt(schema, [...cur.parents, cur.key]);
      const values = enumValues(schema, node);
      if (!values.length) return null;
      return {
        from: cur.wordFrom,
        options: values.map((v) => ({ label: v === null ? "null" : String(v), type: "enum", info: describe(schema, node, [...cur.parents, cur.key!].join(".")) })),
      };
    }
    if (cur.key && !cur.inValue && ctx.pos > cur.wordFrom + cur.word.length) return null;
    const props = propertiesAt(schema, cur.parents);
    const lineText = ctx.state.doc.lineAt(ctx.pos).text;
    const indent = (/^\s*(- +)?/.exec(lineText)?.[0].length ?? 0);
    const options: Completion[] = Object.entries(props).map(([key, node]) => {
      const isSection = Object.keys(propertiesAt(schema, [...cur.parents, key])).length > 0 && !enumValues(schema, node).length;
      return {
        label: key,
        type: isSection ? "class" : "property",
        detail: isSection ? "section" : undefined,
        info: describe(schema, node, [...cur.parents, key].join(".")),
        apply: isSection ? `${key}:\n${" ".repeat(indent + 2)}` : `${key}: `,
      };
    });
    return { from: cur.wordFrom, options, validFor: /^[\w-]*$/ };
  };
}

function hoverSource(getSchema: () => SchemaNode | null) {
  return hoverTooltip((view, pos) => {
    const schema = getSchema();
    if (!schema) return null;
    const line = view.state.doc.lineAt(pos);
    const text = view.state.doc.toString();
    const cur = cursorAt(text, pos);
    if (!cur.key) return null;
    const keyStart = line.from + line.text.indexOf(cur.key);
    const path = [...cur.parents, cur.key];
    const node = nodeAt(schema, path);
    if (!node) return null;
    const doc = describe(schema, node, path.join("."));
    return {
      pos: keyStart,
      end: keyStart + cur.key.length,
      above: true,
      create: () => {
        const dom = document.createElement("div");
        dom.className = "cm-schema-doc";
        const [head, ...rest] = doc.split("\n\n");
        const h = document.createElement("code");
        h.textContent = head;
        const p = document.createElement("p");
        p.textContent = rest.join("\n\n");
        dom.append(h, p);
        return { dom };
      },
    };
  });
}

export function ConfigEditor({ value, onChange, lint, schema, label, lintDelayMs = 350 }: ConfigEditorProps) {
  const host = useRef<HTMLDivElement>(null);
  const view = useRef<EditorView | null>(null);
  // Callbacks and schema change while the editor lives; extensions read them through refs.
  const latest = useRef({ onChange, lint, schema });
  latest.current = { onChange, lint, schema };

  useEffect(() => {
    const lintExt = linter(
      async (v): Promise<Diagnostic[]> => {
        const text = v.state.doc.toString();
        let findings: Finding[];
        try {
          findings = await latest.current.lint(text);
        } catch {
          return [];
        }
        if (v.state.doc.toString() !== text) return [];
        return findingsToDiags(text, findings).map((d) => ({
          from: d.from,
          to: d.to,
          severity: d.severity,
          source: d.finding.rule,
          message: `${d.finding.rule}: ${d.finding.message}`,
          renderMessage: () => renderFinding(d.finding),
        }));
      },
      { delay: lintDelayMs },
    );
    const state = EditorState.create({
      doc: value,
      extensions: [
        basicSetup,
        yaml(),
        syntaxHighlighting(highlight),
        EditorState.tabSize.of(2),
        autocompletion({ override: [completionSource(() => latest.current.schema)] }),
        hoverSource(() => latest.current.schema),
        lintExt,
        lintGutter(),
        // Ctrl-Shift-Z redoes on every platform (B17), as in most editors; Ctrl-Y still works
        Prec.high(keymap.of([{ key: "Mod-Shift-z", run: redo, preventDefault: true }])),
        EditorView.contentAttributes.of({ "aria-label": label, "data-testid": "config-editor" }),
        EditorView.updateListener.of((u) => {
          if (u.docChanged) latest.current.onChange(u.state.doc.toString());
        }),
      ],
    });
    view.current = new EditorView({ state, parent: host.current! });
    return () => {
      view.current?.destroy();
      view.current = null;
    };
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, []);

  // Text replaced from outside (template, clone, "allow with a reason"): swap the document in.
  useEffect(() => {
    const v = view.current;
    if (v && v.state.doc.toString() !== value) {
      v.dispatch({ changes: { from: 0, to: v.state.doc.length, insert: value } });
    }
  }, [value]);

  return <div className="editor" ref={host} />;
}
