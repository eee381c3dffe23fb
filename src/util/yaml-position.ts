// YAML with source positions: parse with line numbers, and the line and column of the node at a field path.
import { isMap, isSeq, LineCounter, parseDocument, type Document, type Node as YamlNode } from "yaml";
import { SysextError } from "../errors.js";

/** Parse YAML text keeping positions; SPEC_YAML naming the file, line and column on a syntax error. */
export function parseYamlWithLines(text: string, file: string): { doc: Document; lineCounter: LineCounter } {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  const yamlError = doc.errors[0];
  if (yamlError) {
    const pos = lineCounter.linePos(yamlError.pos[0]);
    throw new SysextError("SPEC_YAML", `malformed YAML: ${yamlError.message.split("\n")[0]}`, {
      location: { file, line: pos.line, column: pos.col },
      hint: "fix the YAML syntax at that line (indentation, quotes, a missing ':')",
      cause: yamlError,
    });
  }
  return { doc, lineCounter };
}

/** The node at `path` (map keys and sequence indexes); a key whose value is empty yields the key. */
export function yamlNodeAt(root: unknown, path: readonly PropertyKey[]): YamlNode | undefined {
  let node: unknown = root;
  for (const [i, key] of path.entries()) {
    if (isMap(node)) {
      const pair = node.items.find((p) => (p.key as { value?: unknown } | null)?.value === key);
      if (!pair) return undefined;
      node = i === path.length - 1 && pair.value === null ? pair.key : pair.value;
    } else if (isSeq(node) && typeof key === "number") {
      node = node.items[key];
    } else return undefined;
  }
  return (node ?? undefined) as YamlNode | undefined;
}

/** 1-based line and column of the field at `path`, else of its closest parent that exists. */
export function yamlPosition(
  doc: Document,
  lineCounter: LineCounter,
  path: readonly PropertyKey[],
): { line: number; column: number } | undefined {
  for (let n = path.length; n >= 0; n--) {
    const range = yamlNodeAt(doc.contents, path.slice(0, n))?.range;
    if (range) {
      const { line, col } = lineCounter.linePos(range[0]);
      return { line, column: col };
    }
  }
  return undefined;
}
