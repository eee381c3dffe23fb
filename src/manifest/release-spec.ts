// The release spec (release.yaml): which extensions to build for which base and architectures, and how to publish.
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseDocument } from "yaml";
import { z } from "zod";
import { SYSTEMD_ARCHITECTURES } from "../base/arch.js";
import { SysextError } from "../errors.js";
import { exists } from "../util/fs.js";

export const releaseSpecSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Base os-release file or root directory (relative to this file). */
  base: z.string().optional(),
  architectures: z.array(z.enum(SYSTEMD_ARCHITECTURES)).min(1).optional(),
  /** extension.yaml files or folders holding one (relative to this file); default: the whole catalog. */
  extensions: z.array(z.string()).min(1).optional(),
  vars: z.record(z.string(), z.string()).default({}),
  baseUrl: z.url().optional(),
  /** Main OS payload file (relative to this file). */
  mainPayload: z.string().optional(),
  compressed: z.array(z.enum(["zst", "xz", "gz"])).default([]),
  /** Release version (default: the base VERSION_ID). */
  version: z.string().optional(),
});

export type ReleaseSpec = z.output<typeof releaseSpecSchema>;

/** The catalog shipped with the package. */
export const CATALOG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "extensions");

export async function loadReleaseSpec(file: string): Promise<{ spec: ReleaseSpec; dir: string }> {
  const text = await readFile(file, "utf8").catch((e: unknown) => {
    throw new SysextError("RELEASE_INVALID", `cannot read release spec ${file}`, {
      cause: e,
      location: { file },
    });
  });
  const doc = parseDocument(text);
  if (doc.errors[0]) {
    throw new SysextError("SPEC_YAML", `malformed YAML: ${doc.errors[0].message.split("\n")[0]}`, {
      location: { file },
      hint: "fix the YAML syntax",
    });
  }
  const r = releaseSpecSchema.safeParse(doc.toJS() ?? {});
  if (!r.success) {
    const issue = r.error.issues[0]!;
    const field = issue.path.join(".");
    throw new SysextError("RELEASE_INVALID", `${field || "(top level)"}: ${issue.message}`, {
      location: { file, field },
      hint: "allowed fields: base, architectures, extensions, vars, baseUrl, mainPayload, compressed, version",
      cause: r.error,
    });
  }
  return { spec: Object.freeze(r.data), dir: dirname(resolve(file)) };
}

/** Resolve extension entries (files or folders) to extension.yaml paths; default: every catalog entry. */
export async function resolveExtensionFiles(
  entries: readonly string[] | undefined,
  dir: string,
): Promise<string[]> {
  if (!entries) {
    const names = (await readdir(CATALOG_DIR)).sort();
    const files = [];
    for (const n of names) {
      const f = join(CATALOG_DIR, n, "extension.yaml");
      if (await exists(f)) files.push(f);
    }
    return files;
  }
  const out = [];
  for (const e of entries) {
    const p = resolve(dir, e);
    const f = p.endsWith(".yaml") || p.endsWith(".yml") ? p : join(p, "extension.yaml");
    if (!(await exists(f))) {
      throw new SysextError("RELEASE_INVALID", `extension ${e} not found (looked for ${f})`, {
        hint: "list extension.yaml files or folders holding one",
      });
    }
    out.push(f);
  }
  return out;
}
