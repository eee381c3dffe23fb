// Moving subtrees inside the assembled tree (relocation, /usr merge, sbin folding) with symlink repair.
import { posix } from "node:path";
import { SysextError } from "../errors.js";
import { comparePaths, parentOf, resolveLinkTarget } from "./paths.js";
import type { TreeBuilder } from "./tree.js";
import type { TreeEntry } from "./types.js";

export interface Move {
  readonly from: string;
  readonly to: string;
}

/** Where `path` ends up after `moves` (applied in order); unchanged when no move covers it. */
export function mapPath(path: string, moves: readonly Move[]): string {
  let p = path;
  for (const m of moves) {
    if (p === m.from) p = m.to;
    else if (p.startsWith(`${m.from}/`)) p = m.to + p.slice(m.from.length);
  }
  return p;
}

/**
 * Move subtrees in order. Directories merge with existing directories; any other collision is a
 * PATH_CONFLICT naming both paths — except a symlink that would point at the entry it collides with,
 * which is dropped. Afterwards every symlink whose target pointed into a moved subtree (or which moved
 * itself and has a relative target) is rewritten to point where that target went. Returns the number of
 * rewritten links. `what` describes the operation for errors, `hint` says how to avoid a conflict.
 */
export function moveSubtrees(
  builder: TreeBuilder,
  moves: readonly Move[],
  what: string,
  hint: string,
): number {
  const originalOf = new Map<string, string>();
  const done: Move[] = [];
  for (const move of moves) {
    if (move.from === move.to) continue;
    if (move.to.startsWith(`${move.from}/`)) {
      throw new SysextError("PATH_CONFLICT", `${what}: cannot move ${move.from} into itself (${move.to})`, {
        hint,
      });
    }
    const entries = [...builder.paths()]
      .filter((p) => p === move.from || p.startsWith(`${move.from}/`))
      .sort(comparePaths)
      .map((p) => builder.get(p)!);
    if (entries.length === 0) continue;
    const after = [...done, move];
    const placed: TreeEntry[] = [];
    for (const e of entries) {
      const dest = move.to + e.path.slice(move.from.length);
      const existing = builder.get(dest);
      const moved = { ...e, path: dest };
      if (!existing || (existing.type === "dir" && e.type === "dir")) {
        placed.push(moved);
        continue;
      }
      const oldPath = originalOf.get(e.path) ?? e.path;
      if (e.type === "symlink" && pointsAt(oldPath, e.target, after) === dest) continue;
      if (
        existing.type === "symlink" &&
        pointsAt(originalOf.get(dest) ?? dest, existing.target, after) === dest
      ) {
        placed.push(moved);
        continue;
      }
      throw new SysextError(
        "PATH_CONFLICT",
        `${what}: ${e.path} (${e.origin}) and ${dest} (${existing.origin}) both exist`,
        { hint },
      );
    }
    builder.removeSubtree(move.from);
    for (const e of placed) {
      const src = move.from + e.path.slice(move.to.length);
      const original = originalOf.get(src) ?? src;
      originalOf.delete(src);
      originalOf.set(e.path, original);
      const existing = builder.get(e.path);
      if (existing && existing.type !== "dir") builder.removeSubtree(e.path);
      builder.add(e, "keep");
    }
    done.push(move);
  }
  return done.length === 0 ? 0 : relink(builder, done, originalOf);
}

/** The tree path a link at `linkPath` with `target` points at, mapped through `moves`. */
function pointsAt(linkPath: string, target: string, moves: readonly Move[]): string | undefined {
  const resolved = resolveLinkTarget(linkPath, target);
  return resolved === undefined ? undefined : mapPath(resolved, moves);
}

function relink(
  builder: TreeBuilder,
  moves: readonly Move[],
  originalOf: ReadonlyMap<string, string>,
): number {
  let n = 0;
  for (const path of [...builder.paths()]) {
    const e = builder.get(path);
    if (e?.type !== "symlink") continue;
    const oldLoc = originalOf.get(path) ?? path;
    const resolved = resolveLinkTarget(oldLoc, e.target);
    if (resolved === undefined) continue;
    const mapped = mapPath(resolved, moves);
    let target: string;
    if (e.target.startsWith("/")) {
      if (mapped === resolved) continue;
      target = `/${mapped}`;
    } else {
      if (mapped === resolved && oldLoc === path) continue;
      target = posix.relative(`/${parentOf(path)}`, `/${mapped}`) || ".";
    }
    if (target !== e.target) {
      builder.replace({ ...e, target });
      n++;
    }
  }
  return n;
}

/**
 * Remove directories among `candidates` (and then their parents) that have become empty. Only
 * directories that lost content are candidates, so empty directories shipped on purpose stay.
 */
export function pruneEmptyDirs(builder: TreeBuilder, candidates: Iterable<string>): number {
  const children = new Map<string, number>();
  for (const p of builder.paths()) {
    const parent = parentOf(p);
    children.set(parent, (children.get(parent) ?? 0) + 1);
  }
  const depth = (p: string) => p.split("/").length;
  const queue = [...new Set(candidates)].filter((c) => c !== "").sort((a, b) => depth(b) - depth(a));
  let removed = 0;
  while (queue.length > 0) {
    const dir = queue.shift()!;
    const e = builder.get(dir);
    if (e?.type !== "dir" || (children.get(dir) ?? 0) > 0) continue;
    builder.removeSubtree(dir);
    removed++;
    const parent = parentOf(dir);
    const left = (children.get(parent) ?? 1) - 1;
    children.set(parent, left);
    if (parent !== "" && left === 0) queue.push(parent);
  }
  return removed;
}
