// Walking RunConfig's JSON Schema (pydantic v2 output: $defs + $ref, anyOf for optionals) for the editor's
// completion and hover docs.

export interface SchemaNode {
  $ref?: string;
  type?: string | string[];
  description?: string;
  title?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  oneOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  $defs?: Record<string, SchemaNode>;
  examples?: unknown[];
}

export function deref(root: SchemaNode, node: SchemaNode | undefined): SchemaNode | undefined {
  let n = node;
  for (let i = 0; n?.$ref && i < 20; i++) {
    const name = n.$ref.replace(/^#\/\$defs\//, "");
    const target = root.$defs?.[name];
    // Keep the referencing field's own description (pydantic puts it next to the $ref).
    n = target ? { ...target, description: n.description ?? target.description, default: n.default ?? target.default } : undefined;
  }
  return n;
}

/** The object-ish variant of a node (through allOf/anyOf wrappers), if any. */
function objectVariant(root: SchemaNode, node: SchemaNode | undefined): SchemaNode | undefined {
  const n = deref(root, node);
  if (!n) return undefined;
  if (n.properties) return n;
  for (const alt of [...(n.allOf ?? []), ...(n.anyOf ?? []), ...(n.oneOf ?? [])]) {
    const o = objectVariant(root, alt);
    if (o) return { ...o, description: n.description ?? o.description };
  }
  if (n.items) return objectVariant(root, n.items);
  return undefined;
}

/** Schema of the field at `path` (keys from the root); list items are looked through. */
export function nodeAt(root: SchemaNode, path: string[]): SchemaNode | undefined {
  let n: SchemaNode | undefined = root;
  for (const key of path) {
    const obj = objectVariant(root, n);
    n = obj?.properties?.[key];
    if (!n) return undefined;
  }
  return deref(root, n);
}

/** Properties available under `path` (for key completion). */
export function propertiesAt(root: SchemaNode, path: string[]): Record<string, SchemaNode> {
  const obj = objectVariant(root, nodeAt(root, path) ?? (path.length ? undefined : root));
  return obj?.properties ?? {};
}

/** Values a field accepts when they are few (enum, literals, booleans): for value completion. */
export function enumValues(root: SchemaNode, node: SchemaNode | undefined): unknown[] {
  const n = deref(root, node);
  if (!n) return [];
  if (n.enum) return n.enum;
  if (n.const !== undefined) return [n.const];
  if (n.type === "boolean") return [true, false];
  const out: unknown[] = [];
  for (const alt of n.anyOf ?? n.oneOf ?? []) {
    const a = deref(root, alt);
    if (a?.type === "null") out.push(null);
    else out.push(...enumValues(root, a));
  }
  return out;
}

export function typeLabel(root: SchemaNode, node: SchemaNode | undefined): string {
  const n = deref(root, node);
  if (!n) return "";
  if (n.enum) return n.enum.map((v) => JSON.stringify(v)).join(" | ");
  if (n.anyOf) return n.anyOf.map((a) => typeLabel(root, a)).join(" | ");
  if (n.properties) return "section";
  if (Array.isArray(n.type)) return n.type.join(" | ");
  if (n.type === "array") return `list of ${typeLabel(root, n.items) || "values"}`;
  return n.type ?? "";
}

/** Hover/completion text: type, range, default and the description. */
export function describe(root: SchemaNode, node: SchemaNode | undefined, fullKey: string): string {
  const n = deref(root, node);
  if (!n) return "";
  const parts = [`${fullKey}: ${typeLabel(root, n)}`];
  const range = rangeText(n);
  if (range) parts.push(range);
  if (n.default !== undefined && typeof n.default !== "object") parts.push(`default ${JSON.stringify(n.default)}`);
  const head = parts.join(" · ");
  return n.description ? `${head}\n\n${n.description}` : head;
}

/** "range 0 < x ≤ 1": an exclusive bound is written as one (B11: lr said 0 … 1, but 0 is refused). */
export function rangeText(n: SchemaNode): string {
  const lo = n.minimum !== undefined ? `${n.minimum} ≤ ` : n.exclusiveMinimum !== undefined ? `${n.exclusiveMinimum} < ` : "";
  const hi = n.maximum !== undefined ? ` ≤ ${n.maximum}` : n.exclusiveMaximum !== undefined ? ` < ${n.exclusiveMaximum}` : "";
  return lo || hi ? `range ${lo}x${hi}` : "";
}
