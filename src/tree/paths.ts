// Path safety: normalise entry paths and refuse anything that would escape the tree.
import { posix } from "node:path";
import { SysextError, type ErrorLocation } from "../errors.js";

/**
 * Normalise a path from a source ("./usr//bin/" -> "usr/bin"). Absolute names and ".." components
 * are refused rather than silently stripped: an archive that contains them is not trusted.
 */
export function normalizeEntryPath(raw: string, where: ErrorLocation & { origin?: string } = {}): string {
  const { origin, ...location } = where;
  const from = origin ? ` in ${origin}` : "";
  if (raw.includes("\0")) {
    throw new SysextError("PATH_ESCAPE", `path ${JSON.stringify(raw)}${from} contains a NUL byte`, {
      location,
      hint: "file names cannot contain NUL bytes; the source is corrupt",
    });
  }
  if (raw.startsWith("/")) {
    throw new SysextError("PATH_ESCAPE", `absolute path ${JSON.stringify(raw)}${from} is not allowed`, {
      location,
      hint: "entries must be relative to the extension root (for example usr/bin/tool); rebuild the archive with relative names",
    });
  }
  const parts: string[] = [];
  for (const part of raw.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      throw new SysextError(
        "PATH_ESCAPE",
        `path ${JSON.stringify(raw)}${from} contains '..' and could escape the tree`,
        {
          location,
          hint: "remove '..' components from the source; entries must stay inside the extension root",
        },
      );
    }
    parts.push(part);
  }
  return parts.join("/");
}

/**
 * Resolve a symlink target relative to the link's directory within the tree. Returns the tree path it
 * points to, or undefined when a relative target climbs above the root. Absolute targets resolve against
 * the root of the merged system and so stay inside by definition.
 */
export function resolveLinkTarget(linkPath: string, target: string): string | undefined {
  if (target.startsWith("/")) return posix.normalize(target).replace(/^\/+/, "").replace(/\/+$/, "");
  const parts = posix.dirname(linkPath) === "." ? [] : posix.dirname(linkPath).split("/");
  for (const part of target.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (parts.length === 0) return undefined;
      parts.pop();
    } else parts.push(part);
  }
  return parts.join("/");
}

/** An empty, "." or ".." component, a leading or trailing "/", or a NUL. */
const UNNORMALISED = /(?:^|\/)\.{0,2}(?:\/|$)|\0/;

/** Whether `path` is a non-empty path as the tree stores it (what normalizeEntryPath returns). */
export function isTreePath(path: string): boolean {
  return path !== "" && !UNNORMALISED.test(path);
}

/** Byte-wise comparison of paths so that order never depends on locale. */
export function comparePaths(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

export function parentOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "" : path.slice(0, i);
}
