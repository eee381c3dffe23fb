// YAML with source positions: parse with line numbers, and the line and column of the node at a field path.
import { isMap, isSeq, LineCounter, parseDocument, visit, type Document, type Node as YamlNode } from "yaml";
import { SysextError, type ErrorCode } from "../errors.js";
import { openRegularFile } from "./fs.js";
import { LIMITS } from "./limits.js";

/**
 * Read a YAML spec file: a regular file of at most LIMITS.specBytes. `code` is the error for a file that
 * cannot be read. The YAML parser holds many times a document's size in memory (a double-quoted scalar
 * costs it about 35 bytes per character), so the size limit is what bounds the memory of loading.
 */
export async function readYamlFile(file: string, what: string, code: ErrorCode): Promise<string> {
  const fh = await openRegularFile(file, what, code);
  try {
    const { size } = await fh.stat();
    if (size > LIMITS.specBytes) throw specTooLarge(file, size);
    return await fh.readFile("utf8");
  } finally {
    await fh.close();
  }
}

function specTooLarge(file: string, size: number): SysextError {
  return new SysextError(
    "LIMIT_EXCEEDED",
    `the YAML file is ${size} bytes; specs hold at most ${LIMITS.specBytes} bytes`,
    {
      location: { file },
      hint: "move large inline file contents into files next to the spec and use `from:` (or a directory or tar source)",
    },
  );
}

/** Parse YAML text keeping positions; SPEC_YAML naming the file, line and column on a syntax error. */
export function parseYamlWithLines(text: string, file: string): { doc: Document; lineCounter: LineCounter } {
  if (text.length > LIMITS.specBytes) throw specTooLarge(file, Buffer.byteLength(text));
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

/**
 * The plain value of a parsed document, resolving at most LIMITS.yamlAliases aliases: a document whose
 * aliases expand beyond that ("billion laughs") is a LIMIT_EXCEEDED error naming the file and first alias.
 */
export function yamlToJs(doc: Document, lineCounter: LineCounter, file: string): unknown {
  try {
    return doc.toJS({ maxAliasCount: LIMITS.yamlAliases });
  } catch (e) {
    let first: number | undefined;
    visit(doc, {
      Alias(_key, node) {
        first = node.range?.[0];
        return visit.BREAK;
      },
    });
    const pos = first === undefined ? undefined : lineCounter.linePos(first);
    throw new SysextError(
      "LIMIT_EXCEEDED",
      `YAML aliases expand too much: ${(e as Error).message} (sysextkit resolves at most ${LIMITS.yamlAliases} aliases)`,
      {
        location: { file, ...(pos ? { line: pos.line, column: pos.col } : {}) },
        hint: "write the values out instead of nesting aliases of aliases; a spec does not need more than a few",
        cause: e,
      },
    );
  }
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
