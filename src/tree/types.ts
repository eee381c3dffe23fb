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
  /**
   * Hard-link group. Regular files with the same `link` are names of one inode: the image stores the
   * content once and every name shows the same inode number (nlink > 1). While a tree is assembled the
   * value is an opaque key from `TreeBuilder.newLinkGroup()` (or set by `TreeBuilder.addHardLink`);
   * `TreeBuilder.build()` renames every group after its first path in tree order (byte-wise), so the
   * value in a built Tree is that path, whatever inode numbers or key spellings the sources saw. A
   * group left with one name (the others stripped or replaced) becomes a plain file.
   *
   * How a source adds "another name of an earlier file" (tar and cpio hard-link members, a directory's
   * second name of one device+inode): `builder.addHardLink(path, earlierPath, origin, policy)`, or
   * give every name the same key: `const link = builder.newLinkGroup(); builder.add({ ...file, link })`.
   */
  readonly link?: string;
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
