// Hard links: how a source adds another name of a regular file it already added (tar and cpio link members).
import type { TreeBuilder } from "./tree.js";
import type { ConflictPolicy } from "./types.js";

/**
 * Add `path` as another name of the regular file already at `existing`: one inode in the image (the
 * names share a link group, see `FileEntry.link`), its content stored once, with the file's mode and
 * xattrs. The same as `builder.addHardLink(...)`; refuses an `existing` that is not a regular file.
 */
export function addHardLink(
  builder: TreeBuilder,
  path: string,
  existing: string,
  origin: string,
  policy: ConflictPolicy = "error",
): void {
  builder.addHardLink(path, existing, origin, policy);
}
