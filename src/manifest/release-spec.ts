// The release spec (release.yaml): which extensions to build for which base and architectures, and how to publish.
import { dirname, resolve } from "node:path";
import { z } from "zod";
import { SysextError } from "../errors.js";
import { validationError } from "../spec/issues.js";
import { architectureName } from "../spec/schema.js";
import { catalogFiles, resolveSpecRef } from "../spec/catalog.js";
import { parseYamlWithLines, readYamlFile, yamlPosition, yamlToJs } from "../util/yaml-position.js";

export const releaseSpecSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Base os-release file or root directory (relative to this file). */
  base: z.string().optional(),
  /** systemd names or the aliases --arch takes (amd64, aarch64, ...), normalised to systemd's spelling. */
  architectures: z.array(architectureName).min(1).optional(),
  /** extension.yaml files or folders holding one (relative to this file); default: the whole catalog. */
  extensions: z.array(z.string()).min(1).optional(),
  vars: z.record(z.string(), z.string()).default({}),
  baseUrl: z.url().optional(),
  /** Where systemd-sysupdate fetches from (the feed's URL; default baseUrl). */
  sysupdateUrl: z.url().optional(),
  /** Main OS payload file (relative to this file). */
  mainPayload: z.string().optional(),
  compressed: z.array(z.enum(["zst", "xz", "gz"])).default([]),
  /** Release version (default: the base VERSION_ID). */
  version: z.string().optional(),
});

export type ReleaseSpec = z.output<typeof releaseSpecSchema>;

/** JSON Schema of release.yaml for editors (yaml-language-server: $schema=...). */
export function releaseJsonSchema(): Record<string, unknown> {
  return z.toJSONSchema(releaseSpecSchema, { io: "input", unrepresentable: "any" }) as Record<
    string,
    unknown
  >;
}

export { CATALOG_DIR } from "../spec/catalog.js";

const FIELDS =
  "base, architectures, extensions, vars, baseUrl, sysupdateUrl, mainPayload, compressed, version";

/** Read and validate a release.yaml; errors name the file, the YAML line and the field. */
export async function loadReleaseSpec(
  file: string,
): Promise<{ spec: ReleaseSpec; dir: string; file: string }> {
  const abs = resolve(file);
  const text = await readYamlFile(abs, "release spec", "RELEASE_INVALID");
  const { doc, lineCounter } = parseYamlWithLines(text, file);
  const r = releaseSpecSchema.safeParse(yamlToJs(doc, lineCounter, file) ?? {});
  if (!r.success) {
    throw validationError("RELEASE_INVALID", r.error, file, (p) => yamlPosition(doc, lineCounter, p), {
      unknownField: `remove it or check its spelling; the allowed fields are ${FIELDS} (schema/release.schema.json)`,
      other: `allowed fields: ${FIELDS} (schema/release.schema.json)`,
    });
  }
  return { spec: Object.freeze(r.data), dir: dirname(abs), file: abs };
}

/**
 * Resolve extension entries (files, folders holding an extension.yaml, or catalog names) to extension.yaml
 * paths, relative to `dir`; default: every catalog entry.
 */
export async function resolveExtensionFiles(
  entries: readonly string[] | undefined,
  dir: string,
  specFile?: string,
): Promise<string[]> {
  if (!entries) return catalogFiles();
  const out = [];
  for (const [i, e] of entries.entries()) {
    out.push(
      await resolveSpecRef(e, dir, specFile ? { file: specFile, field: `extensions[${i}]` } : {}).catch(
        (err: unknown) => {
          if (!(err instanceof SysextError)) throw err;
          throw new SysextError("RELEASE_INVALID", err.message, {
            ...(err.location ? { location: err.location } : {}),
            hint: `list extension.yaml files, folders holding one${specFile ? " (relative to the release spec)" : ""}, or catalog names`,
          });
        },
      ),
    );
  }
  return out;
}
