// Variables: builtins from the base and the spec, ${name} interpolation of source fields, and `when` conditions.
import type { SystemdArch } from "../base/arch.js";
import { debianArch, rpmArch } from "../base/arch.js";
import type { BaseRelease } from "../base/base.js";
import { baseProfile } from "../base/profiles.js";
import { SysextError } from "../errors.js";
import { defaultCacheDir } from "../util/cache.js";
import { limitError, LIMITS } from "../util/limits.js";
import type { ExtensionSpec, SourceSpec } from "./schema.js";

/** Builtin variables every spec can use. */
export function builtinVars(input: {
  spec: ExtensionSpec;
  base: BaseRelease;
  arch: SystemdArch;
  specDir: string;
  templatesDir: string;
}): Record<string, string> {
  const { spec, base, arch } = input;
  let debArch = "";
  try {
    debArch = debianArch(arch);
  } catch {
    // architectures without a Debian name simply leave ${debArch} empty
  }
  return {
    name: spec.name,
    arch,
    debArch,
    rpmArch: rpmArch(arch),
    baseId: base.id,
    baseFamily: baseProfile(base).family,
    baseVersionId: base.versionId ?? "",
    specDir: input.specDir,
    templatesDir: input.templatesDir,
    displayName: spec.metadata.displayName ?? spec.name,
    sysextId: spec.metadata.id ?? spec.name,
    homeUrl: spec.metadata.homeUrl ?? "",
    bugReportUrl: spec.metadata.bugReportUrl ?? "",
    oemId: spec.oem?.id ?? "",
    cacheDir: defaultCacheDir(),
  };
}

/**
 * Final variables: builtins, then the spec's vars (which may use builtins and earlier vars), then
 * overrides from the caller (CLI --var). Builtins cannot be overridden. Expansion is bounded: a variable
 * builds on others at most LIMITS.varDepth deep and holds at most LIMITS.varBytes characters.
 */
export function resolveVars(
  spec: ExtensionSpec,
  builtins: Readonly<Record<string, string>>,
  overrides: Readonly<Record<string, string>> = {},
  file?: string,
): Readonly<Record<string, string>> {
  for (const key of Object.keys(overrides)) {
    if (key in builtins) {
      throw new SysextError("USAGE", `variable '${key}' is builtin and cannot be set`, {
        hint: `builtin variables: ${Object.keys(builtins).join(", ")}`,
      });
    }
  }
  const vars: Record<string, string> = { ...builtins };
  const depth = new Map<string, number>();
  for (const [k, v] of Object.entries(spec.vars)) {
    const field = `vars.${k}`;
    if (k in builtins) {
      throw new SysextError("SPEC_INVALID", `vars.${k} redefines a builtin variable`, {
        location: { ...(file ? { file } : {}), field },
        hint: "choose another name",
      });
    }
    if (k in overrides) {
      vars[k] = overrides[k]!;
      continue;
    }
    const refs = referencedNames(v);
    const d = refs.length === 0 ? 0 : 1 + Math.max(...refs.map((r) => depth.get(r) ?? 0));
    if (d > LIMITS.varDepth) {
      throw limitError(
        `${field} builds on variables ${d} levels deep; sysextkit expands at most ${LIMITS.varDepth}`,
        "define the value directly instead of through a long chain of variables",
        { ...(file ? { file } : {}), field },
      );
    }
    depth.set(k, d);
    vars[k] = interpolate(v, vars, field, file, LIMITS.varBytes);
  }
  for (const [k, v] of Object.entries(overrides)) vars[k] = v;
  return Object.freeze(vars);
}

const REF = /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g;

function referencedNames(text: string): string[] {
  return [...text.matchAll(REF)].flatMap((m) => (m[1] === undefined ? [] : [m[1]]));
}

/**
 * Replace ${name} with its value; `$$` stands for a literal `$`. Unknown names are an error. The result
 * may hold at most `maxLength` characters (default: the text plus LIMITS.expansionBytes), checked while
 * expanding, so an expansion bomb stops before it uses the memory.
 */
export function interpolate(
  text: string,
  vars: Readonly<Record<string, string>>,
  field: string,
  file?: string,
  maxLength = text.length + LIMITS.expansionBytes,
): string {
  const parts: string[] = [];
  let length = 0;
  let last = 0;
  const push = (s: string) => {
    length += s.length;
    if (length > maxLength) {
      throw limitError(
        `${field} expands to more than ${maxLength} characters through \${...} variables`,
        `variables may add at most ${LIMITS.expansionBytes} characters to a field and hold at most ${LIMITS.varBytes}; check for a variable that repeats another many times`,
        { ...(file ? { file } : {}), field },
      );
    }
    parts.push(s);
  };
  for (const m of text.matchAll(REF)) {
    push(text.slice(last, m.index));
    last = m.index + m[0].length;
    if (m[0] === "$$") {
      push("$");
      continue;
    }
    const name = m[1]!;
    const value = vars[name];
    if (value === undefined) {
      throw new SysextError("SPEC_INVALID", `unknown variable \${${name}} in ${field}`, {
        location: { ...(file ? { file } : {}), field },
        hint: `define it under 'vars' in the spec or pass --var ${name}=VALUE; known: ${Object.keys(vars).sort().join(", ")}`,
      });
    }
    push(value);
  }
  push(text.slice(last));
  return parts.join("");
}

/** Whether a source's `when` conditions hold. */
export function sourceApplies(source: SourceSpec, vars: Readonly<Record<string, string>>): boolean {
  if (!source.when) return true;
  return Object.entries(source.when).every(([k, want]) => {
    const have = vars[k];
    return Array.isArray(want) ? want.includes(have ?? "") : have === want;
  });
}

/** Interpolate every string of a source (recursively through arrays and records). */
export function interpolateSource<T extends SourceSpec>(
  source: T,
  vars: Readonly<Record<string, string>>,
  index: number,
  file?: string,
): T {
  const walk = (value: unknown, field: string): unknown => {
    if (typeof value === "string") return interpolate(value, vars, field, file);
    if (Array.isArray(value)) return value.map((v, i) => walk(v, `${field}[${i}]`));
    if (value && typeof value === "object") {
      return Object.fromEntries(
        Object.entries(value).map(([k, v]) => [k, k === "when" ? v : walk(v, `${field}.${k}`)]),
      );
    }
    return value;
  };
  return walk(source, `sources[${index}]`) as T;
}
