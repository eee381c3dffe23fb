// Helpers shared by the tree sources: destination prefixes, source paths, octal modes.
import { stat } from "node:fs/promises";
import { isAbsolute, resolve } from "node:path";
import { SysextError } from "../../errors.js";
import { normalizeEntryPath } from "../paths.js";

/** Normalise a destination inside the image ("/" or "" = the root, "/usr/lib/x" -> "usr/lib/x"). */
export function normalizeDestination(to: string, origin: string, field = "to"): string {
  return normalizeEntryPath(to.replace(/^\/+/, ""), { origin, field });
}

/** `rel` placed below the destination prefix `to` (either may be the root ""). */
export function joinTreePath(to: string, rel: string): string {
  if (to === "") return rel;
  return rel === "" ? to : `${to}/${rel}`;
}

/** A source path resolved against the spec directory. */
export function resolveSourcePath(specDir: string, path: string): string {
  return isAbsolute(path) ? path : resolve(specDir, path);
}

/**
 * Check that a source path exists and has the expected kind; otherwise SOURCE_INVALID naming the path,
 * the spec field and how to fix it.
 */
export async function requireSourcePath(
  abs: string,
  kind: "file" | "directory",
  info: { field: string; given: string; what: string },
): Promise<void> {
  let st;
  try {
    st = await stat(abs);
  } catch (e) {
    throw new SysextError(
      "SOURCE_INVALID",
      `${info.what} ${JSON.stringify(info.given)} does not exist (${abs})`,
      {
        cause: e,
        location: { file: abs, field: info.field },
        hint: `fix '${info.field}': relative paths are resolved against the directory of the spec file`,
      },
    );
  }
  const ok = kind === "file" ? st.isFile() : st.isDirectory();
  if (!ok) {
    throw new SysextError(
      "SOURCE_INVALID",
      `${info.what} ${JSON.stringify(info.given)} is not a ${kind} (${abs})`,
      {
        location: { file: abs, field: info.field },
        hint: `point '${info.field}' at a ${kind}`,
      },
    );
  }
}

/** Octal mode string from the spec ("0644", "755") to permission bits. */
export function parseMode(mode: string, field = "mode"): number {
  if (!/^0?[0-7]{3,4}$/.test(mode)) {
    throw new SysextError("SOURCE_INVALID", `mode ${JSON.stringify(mode)} is not an octal mode`, {
      location: { field },
      hint: 'write the mode as a quoted octal string such as "0644" or "0755"',
    });
  }
  return parseInt(mode, 8) & 0o7777;
}
