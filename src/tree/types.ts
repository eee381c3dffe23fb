// The assembled tree: a normalised, sorted description of entries whose file contents are streamed on demand.

/** Where a regular file's bytes come from. Nothing here holds a large file in memory. */
export type Content =
  /** Small generated content (templates, release files, drop-ins). */
  | { readonly kind: "bytes"; readonly data: Uint8Array }
  /** A byte range of a file on disk: a source file, or a member of an (uncompressed, cached) archive. */
  | { readonly kind: "file"; readonly path: string; readonly offset: number; readonly size: number };

/** An xattr value: text (stored as UTF-8) or raw bytes. */
export type XattrValue = string | Uint8Array;

export type EntryType = "dir" | "file" | "symlink" | "char" | "block" | "fifo" | "socket";

interface EntryBase {
  /** Relative, normalised path without leading or trailing slash, e.g. "usr/bin/vmtoolsd". */
  readonly path: string;
  /** Permission bits including setuid/setgid/sticky (mode & 0o7777). */
  readonly mode: number;
  /**
   * Extended attributes, name -> value: text (e.g. "user.extension-release.strict" -> "0") or raw bytes
   * (e.g. "security.capability" from a package's file capabilities).
   */
  readonly xattrs?: Readonly<Record<string, XattrValue>>;
  /** Human description of the source that produced this entry, for errors and findings. */
  readonly origin: string;
}

export interface DirEntry extends EntryBase {
  readonly type: "dir";
}
export interface FileEntry extends EntryBase {
  readonly type: "file";
  readonly size: number;
  readonly content: Content;
}
export interface SymlinkEntry extends EntryBase {
  readonly type: "symlink";
  readonly target: string;
}
export interface DeviceEntry extends EntryBase {
  readonly type: "char" | "block" | "fifo" | "socket";
  readonly devMajor?: number;
  readonly devMinor?: number;
}

export type TreeEntry = DirEntry | FileEntry | SymlinkEntry | DeviceEntry;

/** What to do when a source writes a path that an earlier source already wrote. */
export type ConflictPolicy = "error" | "replace" | "keep";
