// Layout transforms: strip documentation and similar content, move /bin, /sbin, /lib into /usr and fold sbin.
import type { Finding } from "../checks/finding.js";
import type { ExtensionSpec } from "../spec/schema.js";
import { matchesAnyGlob } from "./glob.js";
import { parentOf } from "./paths.js";
import type { SourceContext } from "./sources/context.js";
import { moveSubtrees, pruneEmptyDirs, type Move } from "./transform-move.js";
import type { TreeBuilder } from "./tree.js";

/** What strip.defaults removes: documentation, manuals, locales, headers, static libraries. */
export const DEFAULT_STRIP: readonly string[] = [
  "usr/share/doc/**",
  "usr/share/man/**",
  "usr/share/info/**",
  "usr/share/locale/**",
  "usr/share/lintian/**",
  "usr/share/bug/**",
  "usr/include/**",
  "**/*.a",
];

/** Remove stripped paths (defaults plus strip.paths) except those under strip.keep; one info finding. */
export function stripTree(builder: TreeBuilder, strip: ExtensionSpec["strip"]): Finding[] {
  const patterns = [...(strip.defaults ? DEFAULT_STRIP : []), ...strip.paths];
  if (patterns.length === 0) return [];
  const all = [...builder.paths()];
  const keepers = new Set<string>();
  if (strip.keep.length > 0) {
    for (const p of all) {
      if (!matchesAnyGlob(strip.keep, p)) continue;
      for (let q = p; q !== ""; q = parentOf(q)) keepers.add(q);
    }
  }
  const counts = new Map<string, number>();
  const removed: string[] = [];
  for (const p of all) {
    if (keepers.has(p) || (strip.keep.length > 0 && matchesAnyGlob(strip.keep, p))) continue;
    const hit = patterns.find((pat) => matchesAnyGlob([pat], p));
    if (hit === undefined) continue;
    counts.set(hit, (counts.get(hit) ?? 0) + 1);
    removed.push(p);
  }
  if (removed.length === 0) return [];
  // Every descendant of a removed directory is removed too (or kept, and then the directory is kept):
  // removing the topmost removed paths with their subtrees is enough.
  const removedSet = new Set(removed);
  const parents = new Set<string>();
  for (const p of removed) {
    if (removedSet.has(parentOf(p))) continue;
    builder.removeSubtree(p);
    parents.add(parentOf(p));
  }
  const pruned = pruneEmptyDirs(builder, parents);
  const detail = [...counts].map(([pat, n]) => `${pat} (${n})`).join(", ");
  return [
    {
      code: "strip",
      severity: "info",
      message: `stripped ${removed.length} entries: ${detail}${pruned > 0 ? `; removed ${pruned} directories left empty` : ""}`,
      hint: "keep something with strip.keep globs, or turn the default set off with strip.defaults: false",
    },
  ];
}

/** Whether sbin is folded into bin for this build: mergeSbin true, or "auto" on a merged-sbin base. */
export function foldsSbin(spec: ExtensionSpec, ctx: SourceContext): boolean {
  return spec.mergeSbin === true || (spec.mergeSbin === "auto" && ctx.base.mergedSbin === true);
}

/**
 * Move top-level bin, sbin, lib* into usr (a merged-/usr base has them as symlinks, and an extension
 * carries only /usr and /opt), fold usr/sbin into usr/bin when the base has merged sbin, and repair
 * symlinks that pointed into the moved directories.
 */
export function foldLayout(builder: TreeBuilder, spec: ExtensionSpec, ctx: SourceContext): Finding[] {
  const merge = foldsSbin(spec, ctx);
  const findings: Finding[] = [];
  const moves: Move[] = [
    { from: "bin", to: "usr/bin" },
    { from: "sbin", to: merge ? "usr/bin" : "usr/sbin" },
    ...["lib", "lib32", "lib64", "libx32"].map((d) => ({ from: d, to: `usr/${d}` })),
    ...(merge ? [{ from: "usr/sbin", to: "usr/bin" }] : []),
  ];
  const applied: Move[] = [];
  for (const m of moves) {
    const e = builder.get(m.from);
    if (!e) continue;
    if (e.type === "symlink") {
      // A compatibility link such as lib -> usr/lib belongs to the base, never to an extension.
      builder.removeSubtree(m.from);
      findings.push({
        code: "usr-merge",
        severity: "info",
        path: m.from,
        message: `removed symlink ${m.from} -> ${e.target}: the base provides it`,
      });
      continue;
    }
    applied.push(m);
  }
  if (applied.length === 0) return findings;
  const relinked = moveSubtrees(
    builder,
    applied,
    merge ? "folding sbin into bin and /bin, /lib into /usr" : "moving /bin, /sbin, /lib into /usr",
    "exclude one of the two in its source (exclude: [...]), or set mergeSbin: false when the base keeps usr/sbin",
  );
  findings.push({
    code: "usr-merge",
    severity: "info",
    message: `moved ${applied.map((m) => `${m.from} -> ${m.to}`).join(", ")}${relinked > 0 ? `; rewrote ${relinked} symlink(s) that pointed into them` : ""}`,
  });
  return findings;
}
