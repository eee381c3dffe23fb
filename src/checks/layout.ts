// Layout rules: what systemd-sysext drops or refuses by location (outside usr/opt, os-release, usr/sbin, overlay markers).
import type { TreeBuilder } from "../tree/tree.js";
import { matchesAnyGlob } from "../tree/glob.js";
import { comparePaths, parentOf } from "../tree/paths.js";
import { pruneEmptyDirs } from "../tree/transform-move.js";
import { SPEC_ADVICE, type FixAdvice } from "./advice.js";
import type { Finding } from "./finding.js";
import type { CheckContext } from "./index.js";
import type { TreeView } from "./view.js";

const OPAQUE_XATTRS = ["trusted.overlay.opaque", "user.overlay.opaque"];

/**
 * overlayfs markers. Opaque markers (".wh..wh..opq" files, *.overlay.opaque xattrs) would hide the host's
 * directory contents below the merged one, so they are removed (Flatcar's build_sysext does the same).
 * Other whiteouts (".wh.NAME" files, 0:0 character devices) would hide host files: an error.
 */
export function checkOverlayMarkers(builder: TreeBuilder, advice: FixAdvice = SPEC_ADVICE): Finding[] {
  const out: Finding[] = [];
  for (const path of sortedPaths(builder)) {
    const e = builder.get(path);
    if (!e) continue;
    const base = path.slice(path.lastIndexOf("/") + 1);
    if (base === ".wh..wh..opq") {
      builder.removeSubtree(path);
      out.push({
        code: "overlay-opaque",
        severity: "warning",
        path,
        message: `removed overlay opaque marker ${path}; it would hide the host's files in that directory`,
      });
      continue;
    }
    if (e.type === "dir" && e.xattrs && OPAQUE_XATTRS.some((x) => x in e.xattrs!)) {
      const xattrs = Object.fromEntries(Object.entries(e.xattrs).filter(([k]) => !OPAQUE_XATTRS.includes(k)));
      const { xattrs: _drop, ...rest } = e;
      builder.replace(Object.keys(xattrs).length > 0 ? { ...rest, xattrs } : rest);
      out.push({
        code: "overlay-opaque",
        severity: "warning",
        path,
        message: `removed the overlay "opaque" xattr from directory ${path}; it would hide the host's files there`,
      });
      continue;
    }
    const whiteoutDev = e.type === "char" && (e.devMajor ?? 0) === 0 && (e.devMinor ?? 0) === 0;
    if (base.startsWith(".wh.") || whiteoutDev) {
      out.push({
        code: "overlay-whiteout",
        severity: "error",
        path,
        message: `${path} is an overlayfs whiteout; merged, it would delete the host's ${whiteoutDev ? path : path.replace(/\.wh\.([^/]*)$/, "$1")}`,
        hint: `remove it from the source (it is an artefact of a container layer), or ${advice.remove(path)}`,
      });
    }
  }
  return out;
}

/**
 * spec.drop: content outside usr/ and opt/ that may be dropped quietly (systemd ignores it anyway).
 * Directories that only held dropped content (e.g. etc/ after dropping etc/init.d) go as well.
 */
export function applyDrop(builder: TreeBuilder, ctx: CheckContext): Finding[] {
  const out: Finding[] = [];
  if (ctx.spec.drop.length === 0) return out;
  const emptied = new Set<string>();
  for (const path of sortedPaths(builder)) {
    if (!builder.has(path) || isMergedHierarchy(path)) continue;
    if (matchesAnyGlob(ctx.spec.drop, path)) {
      const n = builder.removeSubtree(path);
      emptied.add(parentOf(path));
      out.push({
        code: "dropped",
        severity: "info",
        path,
        message: `dropped ${path}${n > 1 ? ` and ${n - 1} entries below it` : ""} (listed under drop)`,
      });
    }
  }
  pruneEmptyDirs(builder, emptied);
  return out;
}

/** How many paths a finding names before it only counts the rest. */
export const LISTED_PATHS = 20;

/** "a, b, c" for the first LISTED_PATHS paths, then "and N more". */
export function listPaths(paths: readonly string[]): string {
  const shown = paths.slice(0, LISTED_PATHS).join(", ");
  return paths.length > LISTED_PATHS ? `${shown} and ${paths.length - LISTED_PATHS} more` : shown;
}

/**
 * Only /usr and /opt are merged (SYSTEMD_SYSEXT_HIERARCHIES default); the rest is silently ignored.
 * One finding per top-level directory, naming its entries (files, links and empty directories).
 */
export function checkOutsideUsrOpt(builder: TreeView, advice: FixAdvice = SPEC_ADVICE): Finding[] {
  const all = [...builder.paths()].filter((p) => !isMergedHierarchy(p)).sort(comparePaths);
  const parents = new Set(all.map(parentOf));
  const tops = new Map<string, string[]>();
  for (const path of all) {
    const top = path.split("/")[0]!;
    const list = tops.get(top) ?? [];
    tops.set(top, list);
    // Directories are named only when empty: their contents say more.
    if (path !== top && (builder.get(path)?.type !== "dir" || !parents.has(path))) list.push(path);
  }
  return [...tops.keys()].sort(comparePaths).map((top) => {
    const entries = tops.get(top)!;
    const isDir = builder.get(top)?.type === "dir";
    const what =
      entries.length === 0
        ? `${top}${isDir ? "/ (empty)" : ""}`
        : `${top}/ (${entries.length} ${entries.length === 1 ? "entry" : "entries"}: ${listPaths(entries)})`;
    return {
      code: "outside-usr-opt",
      severity: "error" as const,
      path: top,
      message: `${what} is outside usr/ and opt/; systemd-sysext silently ignores it`,
      hint: `relocate it below usr/ (e.g. usr/share/...) and link it at runtime, or ${advice.drop(isDir ? `${top}/**` : top)}`,
    };
  });
}

export function checkOsRelease(builder: TreeView, advice: FixAdvice = SPEC_ADVICE): Finding[] {
  return ["etc/os-release", "usr/lib/os-release"]
    .filter((p) => builder.has(p))
    .map((p) => ({
      code: "os-release-in-extension",
      severity: "error" as const,
      path: p,
      message: `${p} in an extension: systemd-sysext refuses usr/lib/os-release (the whole merge fails) and ignores etc/`,
      hint: `remove ${p} (${advice.remove(p)}); the extension's identity belongs in usr/lib/extension-release.d`,
    }));
}

/**
 * A real usr/sbin directory hides a merged-sbin host's usr/sbin -> bin symlink and breaks boot
 * (sysext-bakery #105, #131); the other way round, a usr/sbin symlink hides a host's real usr/sbin.
 * An error when the base's layout is known to clash, a warning when it is unknown.
 */
export function checkUsrSbin(builder: TreeView, ctx: Pick<CheckContext, "base">): Finding[] {
  const e = builder.get("usr/sbin");
  if (e?.type !== "dir" && e?.type !== "symlink") return [];
  const dir = e.type === "dir";
  const merged = ctx.base.mergedSbin;
  if (merged !== undefined && merged !== dir) return [];
  const known = merged !== undefined;
  const hostHas = dir ? "usr/sbin -> bin" : "a real usr/sbin directory";
  return [
    {
      code: dir ? "usr-sbin-directory" : "usr-sbin-symlink",
      severity: known ? "error" : "warning",
      path: "usr/sbin",
      message: `usr/sbin is ${dir ? "a directory" : `a symlink (-> ${e.target})`}${
        known
          ? `, but the base has ${hostHas}; merged, it hides the host's sbin${dir ? " and breaks boot" : ""}`
          : `; on a base with ${hostHas} it would hide the host's sbin`
      }`,
      hint: !known
        ? `pass the base root directory (--base DIR) so sysextkit can tell, or ${dir ? "set mergeSbin: true" : "exclude usr/sbin from its source"}`
        : dir
          ? "set mergeSbin: auto (or true) to fold sbin into bin, or relocate the files to usr/bin"
          : "remove the symlink from its source (exclude: [usr/sbin]); the base provides usr/sbin",
    },
  ];
}

export function isMergedHierarchy(path: string): boolean {
  return path === "usr" || path === "opt" || path.startsWith("usr/") || path.startsWith("opt/");
}

export function sortedPaths(builder: TreeView): string[] {
  return [...builder.paths()].sort(comparePaths);
}
