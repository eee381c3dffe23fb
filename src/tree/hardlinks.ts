// Hard-link groups of an assembled tree: named after their first path, split where names disagree.
import type { Content, FileEntry, TreeEntry } from "./types.js";

/**
 * Resolve the `link` keys of sorted entries into the built form: each group with two or more names is
 * renamed after its first path (so the image does not depend on inode numbers or key spellings), a group
 * left with one name becomes a plain file. Names of one inode must agree on content, size, mode and
 * xattrs; where a later change touched only some names (a source replacing one of them with another
 * mode, say), the names that agree stay linked and the others become separate files, never one inode
 * with two modes.
 */
export function resolveLinkGroups(sorted: readonly TreeEntry[]): TreeEntry[] {
  const groups = new Map<string, FileEntry[]>();
  for (const e of sorted) {
    if (e.type !== "file" || e.link === undefined) continue;
    const g = groups.get(e.link);
    if (g) g.push(e);
    else groups.set(e.link, [e]);
  }
  if (groups.size === 0) return [...sorted];
  const named = new Map<FileEntry, string | undefined>();
  const ids = new Map<Uint8Array, number>();
  for (const members of groups.values()) {
    const bySignature = new Map<string, FileEntry[]>();
    for (const m of members) {
      const key = signature(m, ids);
      const sub = bySignature.get(key);
      if (sub) sub.push(m);
      else bySignature.set(key, [m]);
    }
    for (const sub of bySignature.values()) {
      const name = sub.length > 1 ? sub[0]!.path : undefined;
      for (const m of sub) named.set(m, name);
    }
  }
  return sorted.map((e) => {
    if (e.type !== "file" || !named.has(e)) return e;
    const name = named.get(e);
    if (name !== undefined) return { ...e, link: name };
    const { link: _drop, ...plain } = e;
    return plain;
  });
}

/** What one inode holds: content (by identity), size, mode and xattrs. */
function signature(e: FileEntry, ids: Map<Uint8Array, number>): string {
  const xattrs = e.xattrs
    ? Object.keys(e.xattrs)
        .sort()
        .map((k) => [k, e.xattrs![k]])
    : [];
  return JSON.stringify([contentId(e.content, ids), e.size, e.mode, xattrs]);
}

function contentId(c: Content, ids: Map<Uint8Array, number>): string {
  if (c.kind === "file") return `file:${c.path}:${c.offset}:${c.size}`;
  let id = ids.get(c.data);
  if (id === undefined) ids.set(c.data, (id = ids.size));
  return `bytes:${id}`;
}
