// Template source: render a file from templates/ with variables from the base and the spec.
import { readFile, stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { SysextError } from "../../errors.js";
import { checkLineValue } from "../../util/kv-writer.js";
import type { SourceSpec } from "../../spec/schema.js";
import type { TreeBuilder } from "../tree.js";
import { parseMode } from "./common.js";
import type { SourceContext, SourceResult } from "./context.js";
import { destination } from "./inline.js";

/** Templates are small text files; anything bigger is a mistake (and would be held in memory). */
const MAX_TEMPLATE_SIZE = 4 << 20;

/**
 * Render a template into a small file. Syntax: `{{ name }}` is replaced by the variable `name`
 * (ctx.vars merged with source.vars, the source winning); `\{{` writes a literal `{{`. Nothing else:
 * lists are passed as space-joined strings.
 */
export async function addTemplateSource(
  builder: TreeBuilder,
  source: Extract<SourceSpec, { type: "template" }>,
  ctx: SourceContext,
): Promise<SourceResult> {
  const origin = `template ${source.template}`;
  const path = destination(source.path, origin);
  const file = templatePath(source.template, ctx);
  const text = await readTemplate(file, source.template);
  const rendered = renderTemplate(text, { ...ctx.vars, ...source.vars }, file);
  const data = new TextEncoder().encode(rendered);
  const content = { kind: "bytes", data } as const;
  builder.add(
    { type: "file", path, mode: parseMode(source.mode), size: data.length, content, origin },
    source.onConflict,
  );
  return { entries: 1 };
}

/** "./x" and "../x" are relative to the spec file; other relative names to the templates directory. */
export function templatePath(name: string, ctx: Pick<SourceContext, "specDir" | "templatesDir">): string {
  if (isAbsolute(name)) return name;
  if (name.startsWith("./") || name.startsWith("../")) return resolve(ctx.specDir, name);
  return resolve(ctx.templatesDir, name);
}

async function readTemplate(file: string, name: string): Promise<string> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error("not a regular file");
    if (st.size > MAX_TEMPLATE_SIZE) throw new Error(`larger than ${MAX_TEMPLATE_SIZE} bytes`);
    return await readFile(file, "utf8");
  } catch (e) {
    throw new SysextError(
      "TEMPLATE_INVALID",
      `cannot read template ${JSON.stringify(name)} (${file}): ${(e as Error).message}`,
      {
        cause: e,
        location: { file, field: "template" },
        hint: "names are relative to the templates directory; start them with ./ to use a file next to the spec",
      },
    );
  }
}

/** Substitute `{{ name }}` placeholders; an unknown name or malformed placeholder is TEMPLATE_INVALID. */
export function renderTemplate(text: string, vars: Readonly<Record<string, string>>, file: string): string {
  const placeholder = /\\\{\{|\{\{(.*?)\}\}|\{\{/gs;
  return text.replace(placeholder, (match: string, inner: string | undefined, index: number) => {
    if (match === "\\{{") return "{{";
    const line = text.slice(0, index).split("\n").length;
    const name = inner?.trim() ?? "";
    if (inner === undefined || !/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) {
      throw new SysextError(
        "TEMPLATE_INVALID",
        `malformed placeholder ${JSON.stringify(match.slice(0, 60))} in ${file} line ${line}`,
        {
          location: { file, line },
          hint: "placeholders are {{ name }} with a variable name only; write \\{{ for a literal {{",
        },
      );
    }
    const value = Object.hasOwn(vars, name) ? vars[name] : undefined;
    if (value === undefined) {
      const available = Object.keys(vars).sort().join(", ") || "(none)";
      throw new SysextError("TEMPLATE_INVALID", `unknown variable '${name}' in ${file} line ${line}`, {
        location: { file, line },
        hint: `define it in the spec's vars or the template source's vars (or pass --var ${name}=...); available: ${available}`,
      });
    }
    // Rendered templates are units and line-based configuration: a line break in a value would add lines.
    checkLineValue(`template ${file} line ${line}`, `{{ ${name} }}`, value, { file, line });
    return value;
  });
}
