// Streaming tar reader: parse an uncompressed tar with tar-stream, appending file data to a blob file.
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import tar, { type Header } from "tar-stream";
import { SysextError } from "../../errors.js";
import { matchesAnyGlob } from "../glob.js";
import { normalizeEntryPath } from "../paths.js";
import type { TreeBuilder } from "../tree.js";
import type { ConflictPolicy, TreeEntry } from "../types.js";
import { joinTreePath, normalizeDestination } from "./common.js";

export { detectCompression, openDecompressed, type Compression } from "./decompress.js";

/** A tar member header as tar-stream decodes it, including its PAX records. */
export type TarHeader = Omit<Header, "type" | "pax"> & {
  /** null for type flags tar-stream does not know (e.g. GNU sparse files). */
  readonly type: Header["type"] | null;
  readonly pax?: Record<string, string> | null;
};

export interface ReadTarOptions {
  /** Destination prefix in the image ("/" = root). */
  readonly to: string;
  /** Leading path components to strip from member names (after refusing absolute and ".." names). */
  readonly strip: number;
  /** Globs relative to the archive root (after strip); a matching directory excludes its contents. */
  readonly exclude: readonly string[];
  readonly onConflict: ConflictPolicy;
  /** Human description for entries and errors, e.g. "tar vendor/foo.tar.xz". */
  readonly origin: string;
  /** File that member contents are appended to (one reader at a time per blob file). */
  readonly blobFile: string;
  /** Called with each member's tree path; return false to skip it. */
  readonly onEntry?: (path: string, header: TarHeader) => boolean;
  /** The archive file, for error locations. */
  readonly archive?: string;
}

/** Read an uncompressed tar stream into the tree. Returns the number of entries added. */
export async function readTarStream(
  builder: TreeBuilder,
  input: NodeJS.ReadableStream,
  opts: ReadTarOptions,
): Promise<number> {
  const { origin } = opts;
  const where = { origin, ...(opts.archive === undefined ? {} : { file: opts.archive }) };
  const source = input as Readable;
  let to: string;
  let blob: FileHandle;
  let blobOffset: number;
  try {
    to = normalizeDestination(opts.to, origin);
    // Open the blob file before data flows: tar-stream's iterator only sees entries emitted after it exists.
    blob = await open(opts.blobFile, "a");
    blobOffset = (await blob.stat()).size;
  } catch (e) {
    // Nobody will read the input: stop it, or a decompressor process would keep the program alive.
    source.destroy();
    if (e instanceof SysextError) throw e;
    throw new SysextError("IO", `cannot write ${opts.blobFile}: ${(e as Error).message}`, {
      cause: e,
      location: { file: opts.blobFile },
      hint: "the build's work directory (under TMPDIR) must be writable and have space for the unpacked archives",
    });
  }
  const extract = tar.extract();
  source.on("error", (e: Error) => extract.destroy(e));
  source.pipe(extract);
  // Regular members by archive name, for hard-link members that name them.
  const files = new Map<string, Member>();
  const skippedFiles = new Set<string>();
  const seen = new Set<string>();
  let count = 0;
  try {
    for await (const entry of extract) {
      const header = entry.header as unknown as TarHeader;
      // Refuse absolute and '..' names before stripping, so that strip cannot hide them.
      const name = normalizeEntryPath(header.name, where);
      const stripped = stripComponents(header.name, opts.strip);
      const rel = stripped === undefined ? undefined : normalizeEntryPath(stripped, where);
      const type = header.type;
      const path = rel === undefined ? undefined : joinTreePath(to, rel);
      const skip =
        rel === undefined ||
        rel === "" ||
        path === undefined ||
        matchesAnyGlob(opts.exclude, rel) ||
        (opts.onEntry !== undefined && !opts.onEntry(path, header));
      if (skip || path === undefined) {
        if (type === "file" || type === "contiguous-file") skippedFiles.add(name);
        await drain(entry);
        continue;
      }
      const base = { path, mode: (header.mode ?? (type === "directory" ? 0o755 : 0o644)) & 0o7777, origin };
      const xattrs = paxXattrs(header.pax);
      const withX = xattrs ? { ...base, xattrs } : base;
      let treeEntry: TreeEntry;
      switch (type) {
        case "file":
        case "contiguous-file": {
          const size = header.size ?? 0;
          const offset = blobOffset;
          const written = await appendEntry(entry, blob);
          if (written !== size) throw truncated(origin, header.name, opts.archive);
          blobOffset += written;
          files.set(name, { path, size, offset, mode: withX.mode, xattrs });
          treeEntry = {
            ...withX,
            type: "file",
            size,
            content: { kind: "file", path: opts.blobFile, offset, size },
          };
          break;
        }
        case "link": {
          await drain(entry);
          const target = hardlinkTarget(header, files, skippedFiles, where);
          files.set(name, target);
          const content = {
            kind: "file",
            path: opts.blobFile,
            offset: target.offset,
            size: target.size,
          } as const;
          const current = builder.get(target.path);
          const policy = seen.has(path) ? "replace" : opts.onConflict;
          seen.add(path);
          count++;
          if (
            current?.type === "file" &&
            current.origin === origin &&
            current.content.kind === "file" &&
            current.content.path === content.path &&
            current.content.offset === content.offset &&
            current.size === target.size
          ) {
            // Another name of a member this archive added: one inode in the image.
            builder.addHardLink(path, target.path, origin, policy);
            continue;
          }
          // The target's own name lost a conflict (onConflict: keep): the names of the archive's
          // inode that did get in stay linked to each other.
          target.link ??= builder.newLinkGroup();
          builder.add(
            {
              ...base,
              mode: target.mode,
              ...(target.xattrs ? { xattrs: target.xattrs } : {}),
              type: "file",
              size: target.size,
              content,
              link: target.link,
            },
            policy,
          );
          continue;
        }
        case "directory":
          await drain(entry);
          treeEntry = { ...withX, type: "dir" };
          break;
        case "symlink":
          await drain(entry);
          if (!header.linkname)
            throw invalid(`symlink ${JSON.stringify(header.name)} in ${origin} has no target`, opts.archive);
          treeEntry = { ...withX, type: "symlink", mode: 0o777, target: header.linkname };
          break;
        case "character-device":
        case "block-device":
          await drain(entry);
          treeEntry = {
            ...withX,
            type: type === "character-device" ? "char" : "block",
            devMajor: header.devmajor ?? 0,
            devMinor: header.devminor ?? 0,
          };
          break;
        case "fifo":
          await drain(entry);
          treeEntry = { ...withX, type: "fifo" };
          break;
        default:
          throw invalid(
            `member ${JSON.stringify(header.name)} in ${origin} has unsupported type ${String(type)}`,
            opts.archive,
          );
      }
      builder.add(treeEntry, seen.has(path) ? "replace" : opts.onConflict);
      seen.add(path);
      count++;
    }
  } catch (e) {
    extract.destroy();
    source.unpipe(extract);
    (source as Partial<Readable>).destroy?.();
    if (e instanceof SysextError) throw e;
    throw invalid(
      `${origin} is not a valid tar archive or is truncated: ${(e as Error).message}`,
      opts.archive,
      e,
    );
  } finally {
    await blob.close();
  }
  return count;
}

/**
 * Strip `n` leading components of a member name the way GNU tar's --strip-components counts them
 * ("./usr/bin/x" with 1 -> "usr/bin/x"); undefined when nothing is left (the member is skipped).
 */
function stripComponents(raw: string, n: number): string | undefined {
  if (n === 0) return raw;
  const parts = raw.split("/").filter((p) => p !== "");
  if (parts.length <= n) return undefined;
  return parts.slice(n).join("/");
}

/** A regular member already read: where it went in the tree and where its data is in the blob. */
interface Member {
  readonly path: string;
  readonly size: number;
  readonly offset: number;
  readonly mode: number;
  readonly xattrs: Readonly<Record<string, string>> | undefined;
  /** Link group of names added while the member's own name was kept out by a conflict. */
  link?: string;
}

function hardlinkTarget(
  header: TarHeader,
  files: ReadonlyMap<string, Member>,
  skipped: ReadonlySet<string>,
  where: { origin: string; file?: string },
): Member {
  const raw = header.linkname ?? "";
  const what = `hard link ${JSON.stringify(header.name)} -> ${JSON.stringify(raw)} in ${where.origin}`;
  if (raw.startsWith("/") || raw.split("/").includes("..")) {
    throw new SysextError("PATH_ESCAPE", `${what} points outside the archive`, {
      location: { ...(where.file ? { file: where.file } : {}) },
      hint: "hard links must name an earlier member of the same archive with a relative path; rebuild the archive",
    });
  }
  const target = normalizeEntryPath(raw, where);
  const hit = files.get(target);
  if (hit) return hit;
  if (skipped.has(target)) {
    throw new SysextError("SOURCE_INVALID", `${what} points to an excluded member`, {
      location: { ...(where.file ? { file: where.file } : {}) },
      hint: "exclude the hard link as well, or stop excluding its target",
    });
  }
  throw new SysextError("PATH_ESCAPE", `${what} does not point to an earlier regular file of the archive`, {
    location: { ...(where.file ? { file: where.file } : {}) },
    hint: "hard links may only refer to regular files stored earlier in the same archive; rebuild the archive",
  });
}

/** SCHILY.xattr.NAME records (GNU tar, bsdtar, mksquashfs -tar) to an xattr map. */
export function paxXattrs(
  pax: Record<string, string> | null | undefined,
): Record<string, string> | undefined {
  if (!pax) return undefined;
  let out: Record<string, string> | undefined;
  for (const [key, value] of Object.entries(pax)) {
    if (!key.startsWith("SCHILY.xattr.") || key.length === 13) continue;
    (out ??= {})[key.slice(13)] = value;
  }
  return out;
}

/** Append one member's data to the blob, a chunk at a time; returns the number of bytes written. */
async function appendEntry(entry: AsyncIterable<unknown>, blob: FileHandle): Promise<number> {
  let written = 0;
  for await (const data of entry) {
    const chunk = data as Buffer;
    let off = 0;
    while (off < chunk.length) {
      // The blob is opened for appending: every write lands at its end (blobOffset tracks it).
      const r = await blob.write(chunk, off, chunk.length - off, null);
      off += r.bytesWritten;
    }
    written += chunk.length;
  }
  return written;
}

async function drain(entry: AsyncIterable<unknown>): Promise<void> {
  for await (const _chunk of entry) {
    // discard
  }
}

function truncated(origin: string, member: string, archive: string | undefined): SysextError {
  return invalid(`${origin} is truncated inside member ${JSON.stringify(member)}`, archive);
}

function invalid(message: string, archive: string | undefined, cause?: unknown): SysextError {
  return new SysextError("ARCHIVE_INVALID", message, {
    ...(archive === undefined ? {} : { location: { file: archive } }),
    ...(cause === undefined ? {} : { cause }),
    hint: "check that the file is a complete tar archive (plain, gzip, xz, zstd or bzip2 compressed); fetch it again if it was cut short",
  });
}
