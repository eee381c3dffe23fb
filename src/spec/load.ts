// Loading extension.yaml: parse YAML, validate once with zod, report errors with file, line and field.
import { dirname, resolve } from "node:path";
import type { FixAdvice } from "../checks/advice.js";
import { parseYamlWithLines, readYamlFile, yamlPosition, yamlToJs } from "../util/yaml-position.js";
import { validationError, type IssueHints, type Position } from "./issues.js";
import { extensionSpecSchema, type ExtensionSpec } from "./schema.js";

/** A validated, fully defaulted, frozen spec together with where it came from. */
export interface LoadedSpec {
  readonly spec: ExtensionSpec;
  /** Absolute path of the spec file, or undefined for specs built in code. */
  readonly file: string | undefined;
  /** Directory that relative paths in the spec are resolved against. */
  readonly dir: string;
  /** How findings tell the user to leave a path out (default: the spec fields strip.paths and drop). */
  readonly advice?: FixAdvice;
}

/** Read and validate an extension.yaml. */
export async function loadSpecFile(file: string): Promise<LoadedSpec> {
  const abs = resolve(file);
  return parseSpec(await readYamlFile(abs, "spec", "SPEC_INVALID"), abs);
}

/** Validate YAML text as a spec. `file` is used for error locations and relative paths. */
export function parseSpec(text: string, file: string): LoadedSpec {
  const { doc, lineCounter } = parseYamlWithLines(text, file);
  const data: unknown = yamlToJs(doc, lineCounter, file);
  return validateSpec(data, file, (path) => yamlPosition(doc, lineCounter, path));
}

/**
 * Validate a spec object given in code (no YAML positions). `options.advice` changes how hints say to
 * leave a path out (the CLI's spec-less build names its --exclude flag).
 */
export function specFromObject(
  data: unknown,
  dir = process.cwd(),
  options: { advice?: FixAdvice } = {},
): LoadedSpec {
  const loaded = validateSpec(data, undefined, () => undefined);
  return Object.freeze({ ...loaded, dir, ...(options.advice ? { advice: options.advice } : {}) });
}

const SPEC_HINTS: IssueHints = {
  unknownField:
    "remove it or check its spelling; the allowed fields are listed in schema/extension.schema.json (npx sysextkit schema)",
  other: "see schema/extension.schema.json for the allowed fields (npx sysextkit schema)",
  union: {
    under: "sources",
    hint: "each source needs a 'type' of directory, tar, file, symlink, template or deb",
  },
};

function validateSpec(data: unknown, file: string | undefined, position: Position): LoadedSpec {
  const result = extensionSpecSchema.safeParse(data ?? {});
  if (!result.success) throw validationError("SPEC_INVALID", result.error, file, position, SPEC_HINTS);
  return Object.freeze({
    spec: deepFreeze(result.data),
    file,
    dir: file ? dirname(file) : process.cwd(),
  });
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === "object") {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
