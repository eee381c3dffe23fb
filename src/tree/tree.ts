// Tree assembly: collects entries from all sources, enforces path safety and conflicts, yields a sorted tree.
import { SysextError } from "../errors.js";
import { checkTreePathLimits } from "../util/limits.js";
import { comparePaths, isTreePath, parentOf, resolveLinkTarget } from "./paths.js";
import { resolveLinkGroups } from "./hardlinks.js";
import type { ConflictPolicy, TreeEntry } from "./types.js";

const IMPLICIT = "(implicit parent directory)";

/**
 * A finished tree: entries sorted byte-wise by path, parents before children, frozen. Hard-linked files
 * carry `link` = the path of their group's first name (which comes earlier in `entries`, or is the
 * entry itself); every other file has no `link`.
 */
export interface Tree {
  readonly entries: readonly TreeEntry[];
}

export class TreeBuilder {
  readonly #entries = new Map<string, TreeEntry>();
  #linkGroups = 0;

  get size(): number {
    return this.#entries.size;
  }

  get(path: string): TreeEntry | undefined {
    return this.#entries.get(path);
  }

  has(path: string): boolean {
    return this.#entries.has(path);
  }

  /** All paths currently in the tree (unsorted). */
  paths(): IterableIterator<string> {
    return this.#entries.keys();
  }

  /**
   * Add one entry. Parent directories are created implicitly (0755). Writing below a symlink is refused
   * (it would write through the link); a relative symlink whose target climbs above the root is refused.
   */
  add(entry: TreeEntry, policy: ConflictPolicy = "error"): void {
    if (entry.path === "") {
      if (entry.type !== "dir")
        throw new SysextError("PATH_ESCAPE", `the tree root itself must be a directory (${entry.origin})`, {
          hint: "give the entry a path inside the image, e.g. usr/share/<name>/file",
        });
      return;
    }
    // Sources normalise their paths; this guards every other caller (generated files, moves) too, since
    // the directory and erofs backends create entries on disk by joining these paths.
    if (!isTreePath(entry.path)) {
      throw new SysextError(
        "PATH_ESCAPE",
        `path ${JSON.stringify(entry.path)} (${entry.origin}) is not a normalised path inside the tree`,
        { hint: "paths are relative, without '.', '..' or empty components, e.g. usr/lib/foo" },
      );
    }
    checkTreePathLimits(entry.path, entry.origin, entry.type === "symlink" ? entry.target : undefined);
    if (entry.type === "symlink" && resolveLinkTarget(entry.path, entry.target) === undefined) {
      throw new SysextError(
        "PATH_ESCAPE",
        `symlink ${entry.path} -> ${entry.target} (${entry.origin}) points outside the extension tree`,
        { hint: "make the link target stay inside the tree, or use an absolute target such as /usr/lib/..." },
      );
    }
    this.#ensureParents(entry);
    const existing = this.#entries.get(entry.path);
    if (existing) {
      if (existing.type === "dir" && entry.type === "dir") {
        // Directories merge; an explicit mode wins over an implicit parent, else the policy decides.
        if (existing.origin === IMPLICIT || policy === "replace") this.#entries.set(entry.path, entry);
        return;
      }
      if (policy === "keep") return;
      if (policy === "error") {
        throw new SysextError(
          "PATH_CONFLICT",
          `${entry.path} is written by both ${existing.origin} and ${entry.origin}`,
          {
            hint: "remove it from one source, or set 'onConflict: replace' (later wins) or 'keep' (first wins) on the later source",
          },
        );
      }
      if (existing.type === "dir" && this.#hasChildren(entry.path)) {
        throw new SysextError(
          "PATH_CONFLICT",
          `${entry.origin} replaces directory ${entry.path} (which has contents) with a ${entry.type}`,
          { hint: "a directory with contents can only be merged with another directory" },
        );
      }
    }
    this.#entries.set(entry.path, entry);
  }

  /**
   * A fresh hard-link group key for `FileEntry.link`: every regular file added with the same key is a
   * name of one inode in the image. Keys are unique within this builder and never reach the image.
   */
  newLinkGroup(): string {
    return `#${++this.#linkGroups}`;
  }

  /**
   * Add `path` as another name of the regular file already at `existing` (a hard link, e.g. a tar or
   * cpio hard-link member): the new name gets the file's content, mode and xattrs and joins its link
   * group (one inode in the image, content stored once). `existing` must be a regular file in the tree.
   */
  addHardLink(path: string, existing: string, origin: string, policy: ConflictPolicy = "error"): void {
    const target = this.#entries.get(existing);
    if (target?.type !== "file") {
      throw new SysextError(
        "SOURCE_INVALID",
        `hard link ${path} (${origin}) names ${existing}, which is ${target ? `a ${target.type}` : "not in the tree"}, not a regular file`,
        { hint: "a hard link can only be another name of a regular file added before it" },
      );
    }
    if (path === existing) return;
    let link = target.link;
    if (link === undefined) {
      link = this.newLinkGroup();
      this.#entries.set(existing, { ...target, link });
    }
    this.add({ ...target, path, origin, link }, policy);
  }

  /** Remove one path and everything below it. Returns how many entries were removed. */
  removeSubtree(path: string): number {
    let n = 0;
    for (const p of [...this.#entries.keys()]) {
      if (p === path || p.startsWith(`${path}/`)) {
        this.#entries.delete(p);
        n++;
      }
    }
    return n;
  }

  /** Move a path and everything below it to a new place (relocation). Conflicts follow the policy. */
  moveSubtree(from: string, to: string, policy: ConflictPolicy = "error"): number {
    const moved = [...this.#entries.values()]
      .filter((e) => e.path === from || e.path.startsWith(`${from}/`))
      .sort((a, b) => comparePaths(a.path, b.path));
    for (const e of moved) this.#entries.delete(e.path);
    for (const e of moved) this.add({ ...e, path: to + e.path.slice(from.length) }, policy);
    return moved.length;
  }

  /** Replace an entry in place (same path), e.g. to change its mode or xattrs. */
  replace(entry: TreeEntry): void {
    if (!this.#entries.has(entry.path)) this.add(entry);
    else this.#entries.set(entry.path, entry);
  }

  /** Freeze into a sorted tree; hard-link groups are named after their first path (see `Tree`). */
  build(): Tree {
    const entries = resolveLinkGroups(
      [...this.#entries.values()].sort((a, b) => comparePaths(a.path, b.path)),
    );
    for (const e of entries) Object.freeze(e);
    return Object.freeze({ entries: Object.freeze(entries) });
  }

  #hasChildren(path: string): boolean {
    const prefix = `${path}/`;
    for (const p of this.#entries.keys()) if (p.startsWith(prefix)) return true;
    return false;
  }

  #ensureParents(entry: TreeEntry): void {
    const missing: string[] = [];
    for (let p = parentOf(entry.path); p !== ""; p = parentOf(p)) {
      const parent = this.#entries.get(p);
      if (parent) {
        if (parent.type === "symlink") {
          throw new SysextError(
            "PATH_ESCAPE",
            `${entry.origin} writes ${entry.path} through symlink ${p} -> ${parent.target}`,
            {
              hint: `write to the link's target path instead, or remove the symlink ${p} from ${parent.origin}`,
            },
          );
        }
        if (parent.type !== "dir") {
          throw new SysextError(
            "PATH_CONFLICT",
            `${entry.origin} writes ${entry.path} below ${p}, which is a ${parent.type} from ${parent.origin}`,
            { hint: `a path below ${p} needs ${p} to be a directory; remove one of the two from its source` },
          );
        }
        break;
      }
      missing.push(p);
    }
    for (const p of missing) this.#entries.set(p, { type: "dir", path: p, mode: 0o755, origin: IMPLICIT });
  }
}

/** Total size in bytes of the regular files of a tree, counting a hard-link group once (as it is stored). */
export function treeContentSize(tree: Tree): number {
  let n = 0;
  for (const e of tree.entries)
    if (e.type === "file" && (e.link === undefined || e.link === e.path)) n += e.size;
  return n;
}
