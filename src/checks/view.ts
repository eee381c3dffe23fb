// A read-only view of a tree (a TreeBuilder, or the file list of a finished image) for the rules that only look.
import type { TreeEntry } from "../tree/types.js";

export interface TreeView {
  get(path: string): TreeEntry | undefined;
  has(path: string): boolean;
  paths(): Iterable<string>;
}

/** What the image readers report per entry (image/inspect.ts ImageFile), enough for the content rules. */
export interface ListedEntry {
  readonly path: string;
  readonly type: TreeEntry["type"];
  readonly mode: number;
  readonly size?: number;
  readonly target?: string;
  readonly devMajor?: number;
  readonly devMinor?: number;
}

/** A TreeView over an image's file list (file contents are not read: the rules using it do not need them). */
export function viewOfListing(files: readonly ListedEntry[]): TreeView {
  const map = new Map<string, TreeEntry>();
  const empty = new Uint8Array(0);
  for (const f of files) {
    const base = { path: f.path, mode: f.mode, origin: "image" };
    const entry: TreeEntry =
      f.type === "file"
        ? { ...base, type: "file", size: f.size ?? 0, content: { kind: "bytes", data: empty } }
        : f.type === "symlink"
          ? { ...base, type: "symlink", target: f.target ?? "" }
          : f.type === "dir"
            ? { ...base, type: "dir" }
            : {
                ...base,
                type: f.type,
                ...(f.devMajor === undefined ? {} : { devMajor: f.devMajor }),
                ...(f.devMinor === undefined ? {} : { devMinor: f.devMinor }),
              };
    map.set(f.path, entry);
  }
  return { get: (p) => map.get(p), has: (p) => map.has(p), paths: () => map.keys() };
}
