// RPM payload to tree entries: the header is authoritative for every file; the cpio stream supplies the data.
import { open, type FileHandle } from "node:fs/promises";
import type { Readable } from "node:stream";
import { SysextError } from "../../errors.js";
import { matchesAnyGlob } from "../glob.js";
import { addHardLink } from "../hardlink.js";
import { normalizeEntryPath } from "../paths.js";
import { detectCompression, openDecompressed, type DeclaredCompression } from "../sources/decompress.js";
import type { TreeBuilder } from "../tree.js";
import type { ConflictPolicy, TreeEntry, XattrValue } from "../types.js";
import { capabilityXattr } from "./caps.js";
import { CpioError, readCpio, type CpioEntry } from "./cpio.js";
import { FILE_FLAG, nevra, type RpmFile, type RpmPackage } from "./package.js";

const S_IFMT = 0o170000;
const TYPES: Record<number, TreeEntry["type"]> = {
  0o100000: "file",
  0o040000: "dir",
  0o120000: "symlink",
  0o020000: "char",
  0o060000: "block",
  0o010000: "fifo",
  0o140000: "socket",
};

/** Files of a source already added, by tree path: shared identical files are allowed, as rpm allows them. */
export type SharedFiles = Map<string, { readonly pkg: string; readonly file: RpmFile }>;

export interface ExtractOptions {
  readonly exclude: readonly string[];
  readonly onConflict: ConflictPolicy;
  /** File that contents are appended to. */
  readonly blobFile: string;
  readonly shared: SharedFiles;
}

/** What extraction found that the source reports as findings. */
export interface ExtractReport {
  entries: number;
  readonly config: string[];
  readonly ghosts: string[];
  readonly caps: Array<{ path: string; caps: string }>;
  readonly sharedDirs: Array<{ path: string; other: string; modes: [number, number] }>;
}

const COMPRESSORS: Record<string, DeclaredCompression> = {
  gzip: "gzip",
  bzip2: "bzip2",
  xz: "xz",
  lzma: "lzma",
  zstd: "zstd",
  "": "none",
};

function invalid(pkg: RpmPackage, why: string, cause?: unknown): SysextError {
  return new SysextError("PACKAGE_INVALID", `${pkg.file}: ${why}`, {
    location: { file: pkg.file },
    ...(cause === undefined ? {} : { cause }),
    hint: "the package is corrupt, truncated or hostile; download it again (dnf download <name>) or rebuild it with rpmbuild",
  });
}

/** Open the payload, checking that the header's payloadcompressor agrees with the payload's magic bytes. */
async function openPayload(pkg: RpmPackage): Promise<NodeJS.ReadableStream> {
  const p = pkg.payload!;
  const declared = COMPRESSORS[p.compressor];
  if (declared === undefined)
    throw invalid(
      pkg,
      `payload compressor ${JSON.stringify(p.compressor)} is not supported (gzip, bzip2, xz, lzma, zstd are)`,
    );
  const fh = await open(pkg.file, "r");
  const magic = Buffer.alloc(6);
  let got: number;
  try {
    got = (await fh.read(magic, 0, 6, p.offset)).bytesRead;
  } finally {
    await fh.close();
  }
  if (got === 0) throw invalid(pkg, "the payload is missing (the file ends after the header)");
  const seen = detectCompression(magic.subarray(0, got));
  const ok = seen === declared || (declared === "lzma" && seen === "none");
  if (!ok)
    throw invalid(
      pkg,
      `the header declares a ${p.compressor || "plain"} payload, but its magic bytes say ${seen}`,
    );
  return openDecompressed(pkg.file, p.offset, undefined, declared);
}

/** Read the payload of `pkg` into the tree. */
export async function extractPayload(
  builder: TreeBuilder,
  pkg: RpmPackage,
  opts: ExtractOptions,
): Promise<ExtractReport> {
  const origin = `rpm ${nevra(pkg)}`;
  const where = { origin, file: pkg.file };
  const report: ExtractReport = { entries: 0, config: [], ghosts: [], caps: [], sharedDirs: [] };
  // Header paths are absolute ("/usr/bin/x"): refuse '..' and keep them relative to the image root.
  const byPath = new Map<string, number>();
  const paths = pkg.files.map((f, i) => {
    const p = normalizeEntryPath(f.path.replace(/^\/+/, ""), where);
    if (p === "") throw invalid(pkg, `file #${i} names the root directory`);
    byPath.set(p, i);
    if (f.flags & FILE_FLAG.GHOST) report.ghosts.push(`/${p}`);
    else if (f.flags & FILE_FLAG.CONFIG) report.config.push(`/${p}`);
    return p;
  });
  // Hard-link sets: regular files that share inode and device in the header.
  const setSize = new Map<string, number>();
  const key = (f: RpmFile) => `${f.device}:${f.inode}`;
  for (const f of pkg.files)
    if ((f.mode & S_IFMT) === 0o100000 && !(f.flags & FILE_FLAG.GHOST))
      setSize.set(key(f), (setSize.get(key(f)) ?? 0) + 1);
  const sets = new Map<string, { pending: string[]; carrier?: string; seen: number }>();
  const found = new Set<number>();

  let blob: FileHandle;
  try {
    blob = await open(opts.blobFile, "a");
  } catch (e) {
    throw new SysextError("IO", `cannot write ${opts.blobFile}: ${(e as Error).message}`, {
      cause: e,
      hint: "the build's work directory (under TMPDIR) must be writable and have space for the unpacked packages",
    });
  }
  let blobOffset = (await blob.stat()).size;
  const stream = (await openPayload(pkg)) as Readable;
  const add = (entry: TreeEntry) => {
    const prior = opts.shared.get(entry.path);
    const f = pkg.files[byPath.get(entry.path)!]!;
    if (prior && entry.type === "dir") {
      if ((prior.file.mode & 0o7777) !== entry.mode)
        report.sharedDirs.push({
          path: entry.path,
          other: prior.pkg,
          modes: [prior.file.mode & 0o7777, entry.mode],
        });
    } else if (prior && prior.pkg !== origin && sameFile(prior.file, f)) {
      return; // the same file in two packages of this source (rpm allows identical shared files)
    }
    builder.add(entry, opts.shared.get(entry.path)?.pkg === origin ? "replace" : opts.onConflict);
    if (!prior) opts.shared.set(entry.path, { pkg: origin, file: f });
    report.entries++;
  };

  try {
    await readCpio(
      stream,
      async (c: CpioEntry, data) => {
        const index = c.index ?? byPath.get(normalizeEntryPath(c.name, where));
        const f = index === undefined ? undefined : pkg.files[index];
        if (index === undefined || f === undefined)
          throw invalid(pkg, `payload member ${JSON.stringify(c.name)} is not listed in the package header`);
        const path = paths[index]!;
        const type = TYPES[f.mode & S_IFMT];
        if (!type) throw invalid(pkg, `${f.path} has an unknown file type (mode ${f.mode.toString(8)})`);
        if (c.index === undefined && (c.mode & S_IFMT) !== (f.mode & S_IFMT))
          throw invalid(
            pkg,
            `payload member ${c.name} has another file type than the header says for ${f.path}`,
          );
        if (found.has(index)) throw invalid(pkg, `payload member ${c.name} appears twice`);
        found.add(index);
        if (matchesAnyGlob(opts.exclude, path)) {
          if ((setSize.get(key(f)) ?? 1) > 1) {
            const names = pkg.files.flatMap((g, i) => (key(g) === key(f) && g !== f ? [paths[i]!] : []));
            if (names.some((n) => !matchesAnyGlob(opts.exclude, n)))
              throw new SysextError(
                "SOURCE_INVALID",
                `${origin}: ${path} is excluded, but it is a hard link of ${names.join(", ")}, which are not`,
                {
                  location: { file: pkg.file, field: "exclude" },
                  hint: "exclude every name of the hard-link set, or none of them",
                },
              );
          }
          return;
        }
        const mode = f.mode & 0o7777;
        const base = { path, mode, origin, ...xattrsOf(pkg, f, path, report) };
        switch (type) {
          case "file": {
            const members = setSize.get(key(f)) ?? 1;
            const set = members > 1 ? (sets.get(key(f)) ?? { pending: [], seen: 0 }) : undefined;
            if (set) {
              sets.set(key(f), set);
              set.seen++;
              // rpm stores a hard-link set's data with its last member; the others come first, empty.
              if (set.carrier === undefined && c.size === 0 && set.seen < members) {
                set.pending.push(path);
                return;
              }
              if (set.carrier !== undefined) {
                addHardLink(builder, path, set.carrier, origin, opts.onConflict);
                report.entries++;
                return;
              }
            }
            if (c.size !== f.size)
              throw invalid(
                pkg,
                `payload member ${c.name || f.path} declares ${c.size} bytes, but the header says ${f.size}`,
              );
            const offset = blobOffset;
            await data.copyTo(async (chunk) => {
              let off = 0;
              while (off < chunk.length)
                off += (await blob.write(chunk, off, chunk.length - off, null)).bytesWritten;
            });
            blobOffset += f.size;
            add({
              ...base,
              type: "file",
              size: f.size,
              content: { kind: "file", path: opts.blobFile, offset, size: f.size },
            });
            if (set) {
              set.carrier = path;
              for (const other of set.pending) {
                addHardLink(builder, other, path, origin, opts.onConflict);
                report.entries++;
              }
              set.pending.length = 0;
            }
            return;
          }
          case "symlink": {
            const stored = (await data.read(4096)).toString("utf8");
            const target = f.linkTo || stored;
            if (target === "") throw invalid(pkg, `symlink ${f.path} has no target`);
            add({ ...base, type: "symlink", mode: 0o777, target });
            return;
          }
          case "dir":
            add({ ...base, type: "dir" });
            return;
          case "socket":
            return; // sockets are made by the service that listens on them
          default:
            add({
              ...base,
              type,
              // The cpio header has the full numbers; the stripped form only the header's 16-bit FILERDEVS.
              devMajor: c.index === undefined ? c.rdevMajor : (f.rdev >> 8) & 0xff,
              devMinor: c.index === undefined ? c.rdevMinor : f.rdev & 0xff,
            });
        }
      },
      (i) => pkg.files[i]?.size,
    );
  } catch (e) {
    stream.destroy();
    if (e instanceof SysextError) throw e;
    throw invalid(pkg, `cannot read the payload: ${(e as Error).message}`, e);
  } finally {
    await blob.close();
  }
  const missing = pkg.files
    .map((f, i) => ({ f, i }))
    .filter(
      ({ f, i }) => !found.has(i) && !(f.flags & FILE_FLAG.GHOST) && !matchesAnyGlob(opts.exclude, paths[i]!),
    );
  if (missing.length > 0)
    throw invalid(
      pkg,
      `${missing.length} file(s) of the header are missing from the payload: ${missing
        .slice(0, 5)
        .map((m) => m.f.path)
        .join(", ")}`,
    );
  return report;
}

function xattrsOf(
  pkg: RpmPackage,
  f: RpmFile,
  path: string,
  report: ExtractReport,
): { xattrs?: Record<string, XattrValue> } {
  if (f.caps === "") return {};
  let value: Uint8Array | undefined;
  try {
    value = capabilityXattr(f.caps);
  } catch (e) {
    throw invalid(
      pkg,
      `file capabilities of ${f.path} (${JSON.stringify(f.caps)}): ${(e as Error).message}`,
      e,
    );
  }
  if (!value) return {};
  report.caps.push({ path, caps: f.caps });
  return { xattrs: { "security.capability": value } };
}

function sameFile(a: RpmFile, b: RpmFile): boolean {
  return (
    a.mode === b.mode &&
    a.size === b.size &&
    a.digest === b.digest &&
    a.linkTo === b.linkTo &&
    a.caps === b.caps
  );
}

export { CpioError };
