// The catalog of extension definitions shipped with the package (extensions/<name>/extension.yaml), by name.
import { readdir, stat } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { SysextError } from "../errors.js";
import { exists } from "../util/fs.js";

/** The catalog directory inside the installed package: one folder per OEM definition. */
export const CATALOG_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "extensions");

/** Names of the catalog's definitions (folders holding an extension.yaml), sorted. */
export async function catalogNames(): Promise<string[]> {
  const names = (await readdir(CATALOG_DIR).catch(() => [] as string[])).sort();
  const out: string[] = [];
  for (const n of names) if (await exists(join(CATALOG_DIR, n, "extension.yaml"))) out.push(n);
  return out;
}

/** The extension.yaml of every catalog entry. */
export async function catalogFiles(): Promise<string[]> {
  return (await catalogNames()).map((n) => join(CATALOG_DIR, n, "extension.yaml"));
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._+-]*$/;

/**
 * The extension.yaml a reference names: a file path, a folder holding extension.yaml (relative to
 * `base`), or the name of a catalog entry (`oem-vmware`). A path that exists wins over a catalog name.
 */
export async function resolveSpecRef(
  ref: string,
  base = process.cwd(),
  where: { file?: string; field?: string } = {},
): Promise<string> {
  const p = resolve(base, ref);
  const st = await stat(p).catch(() => undefined);
  if (st?.isFile()) return p;
  if (st?.isDirectory() && (await exists(join(p, "extension.yaml")))) return join(p, "extension.yaml");
  if (NAME.test(ref) && (await exists(join(CATALOG_DIR, ref, "extension.yaml"))))
    return join(CATALOG_DIR, ref, "extension.yaml");
  const names = await catalogNames();
  throw new SysextError(
    "SPEC_INVALID",
    st?.isDirectory()
      ? `${ref} is a folder without an extension.yaml`
      : `extension ${ref} not found (no such file or folder${NAME.test(ref) ? ", and no catalog entry of that name" : ""})`,
    {
      location: { file: where.file ?? p, ...(where.field ? { field: where.field } : {}) },
      hint: `give an extension.yaml, a folder holding one, or a catalog name (${names.join(", ")}; in ${CATALOG_DIR})`,
    },
  );
}
