// Hard links: how a source adds another name of a regular file it already added (tar and cpio link members).
import { SysextError } from "../errors.js";
import type { TreeBuilder } from "./tree.js";
import type { ConflictPolicy } from "./types.js";

/**
 * Add `path` as another name of the regular file already at `existing`: the new name gets the file's
 * content (the same byte range, stored once in the source's blob), mode and xattrs. This is the tree's
 * hard-link model as the tar source applies it; sources call this one function so that a change of the
 * model (one inode with several names in the image) reaches them all.
 */
export function addHardLink(
  builder: TreeBuilder,
  path: string,
  existing: string,
  origin: string,
  policy: ConflictPolicy = "error",
): void {
  const target = builder.get(existing);
  if (target?.type !== "file") {
    throw new SysextError(
      "SOURCE_INVALID",
      `hard link ${path} (${origin}) names ${existing}, which is ${target ? `a ${target.type}` : "not in the tree"}, not a regular file`,
      { hint: "a hard link can only be another name of a regular file added before it" },
    );
  }
  if (path === existing) return;
  builder.add({ ...target, path, origin }, policy);
}
