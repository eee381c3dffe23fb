// An RPM package's metadata from its header: identity, files (modes, flags, links, caps), dependencies, scriptlets.
import { openRegularFile } from "../../util/fs.js";
import { headerError, readHeaders, TAG, type RpmHeader } from "./header.js";

/** File flags (rpmfiles.h). */
export const FILE_FLAG = { CONFIG: 1 << 0, DOC: 1 << 1, MISSINGOK: 1 << 3, NOREPLACE: 1 << 4, GHOST: 1 << 6 };

/** One file of a package as its header describes it. */
export interface RpmFile {
  /** Absolute path as rpm installs it ("/usr/bin/vmtoolsd"). */
  readonly path: string;
  /** st_mode: file type and permission bits. */
  readonly mode: number;
  readonly size: number;
  readonly flags: number;
  /** Symlink target ("" for other files). */
  readonly linkTo: string;
  readonly rdev: number;
  /** Inode number and device within the package: equal pairs are one hard-link set. */
  readonly inode: number;
  readonly device: number;
  /** Capability text (cap_from_text syntax), "" when none. */
  readonly caps: string;
  readonly digest: string;
}

/** A dependency as stored in the header: name, sense flags and EVR ("" when unversioned). */
export interface RpmDep {
  readonly name: string;
  readonly flags: number;
  readonly evr: string;
}

export interface RpmPackage {
  /** The .rpm file, or where a header came from (e.g. "rpmdb.sqlite row 12"). */
  readonly file: string;
  readonly name: string;
  readonly epoch: number | undefined;
  readonly version: string;
  readonly release: string;
  readonly arch: string;
  readonly files: readonly RpmFile[];
  readonly requires: readonly RpmDep[];
  readonly provides: readonly RpmDep[];
  /** Scriptlets that would run on installation or removal: name ("%post") -> program and body. */
  readonly scripts: ReadonlyMap<string, { readonly prog: string; readonly body: string }>;
  /** Payload details; undefined for headers read from a database. */
  readonly payload?: { readonly offset: number; readonly format: string; readonly compressor: string };
}

/** name-[epoch:]version-release.arch, as rpm -q prints it. */
export function nevra(p: Pick<RpmPackage, "name" | "epoch" | "version" | "release" | "arch">): string {
  return `${p.name}-${p.epoch !== undefined ? `${p.epoch}:` : ""}${p.version}-${p.release}.${p.arch}`;
}

/** "[epoch:]version-release" of a package. */
export function packageEvr(p: Pick<RpmPackage, "epoch" | "version" | "release">): string {
  return `${p.epoch !== undefined ? `${p.epoch}:` : ""}${p.version}-${p.release}`;
}

const SCRIPTS: ReadonlyArray<readonly [string, number, number]> = [
  ["%pretrans", TAG.PRETRANS, TAG.PRETRANSPROG],
  ["%pre", TAG.PREIN, TAG.PREINPROG],
  ["%post", TAG.POSTIN, TAG.POSTINPROG],
  ["%preun", TAG.PREUN, TAG.PREUNPROG],
  ["%postun", TAG.POSTUN, TAG.POSTUNPROG],
  ["%posttrans", TAG.POSTTRANS, TAG.POSTTRANSPROG],
];

/** Interpret a header (from a package file or a database) as a package. */
export function packageFromHeader(h: RpmHeader, where: string, file?: string): RpmPackage {
  const name = h.string(TAG.NAME);
  const version = h.string(TAG.VERSION);
  const release = h.string(TAG.RELEASE);
  if (!name || version === undefined || release === undefined)
    throw headerError(where, "the header has no name, version or release", file);
  const arch = h.string(TAG.ARCH) ?? "noarch";
  const scripts = new Map<string, { prog: string; body: string }>();
  for (const [label, bodyTag, progTag] of SCRIPTS) {
    const body = h.string(bodyTag);
    const prog = h.strings(progTag).join(" ");
    if (body !== undefined || prog !== "") scripts.set(label, { prog: prog || "/bin/sh", body: body ?? "" });
  }
  return {
    file: where,
    name,
    epoch: h.number(TAG.EPOCH),
    version,
    release,
    arch,
    files: readFiles(h, where, file),
    requires: deps(h, TAG.REQUIRENAME, TAG.REQUIREFLAGS, TAG.REQUIREVERSION, where, file),
    provides: deps(h, TAG.PROVIDENAME, TAG.PROVIDEFLAGS, TAG.PROVIDEVERSION, where, file),
    scripts,
  };
}

function deps(h: RpmHeader, nameTag: number, flagTag: number, verTag: number, where: string, file?: string) {
  const names = h.strings(nameTag);
  const flags = h.numbers(flagTag);
  const vers = h.strings(verTag);
  if (names.length > 0 && (flags.length !== names.length || vers.length !== names.length))
    throw headerError(
      where,
      `dependency tag ${nameTag} has ${names.length} names but ${flags.length} flags and ${vers.length} versions`,
      file,
    );
  return names.map((n, i) => ({ name: n, flags: flags[i]!, evr: vers[i]! }));
}

function readFiles(h: RpmHeader, where: string, file?: string): RpmFile[] {
  let paths: string[];
  if (h.has(TAG.BASENAMES)) {
    const base = h.strings(TAG.BASENAMES);
    const dirs = h.strings(TAG.DIRNAMES);
    const idx = h.numbers(TAG.DIRINDEXES);
    if (idx.length !== base.length)
      throw headerError(where, `${base.length} file names but ${idx.length} directory indexes`, file);
    paths = base.map((b, i) => {
      const d = dirs[idx[i]!];
      if (d === undefined)
        throw headerError(where, `directory index ${idx[i]} of ${b} is out of range`, file);
      return d + b;
    });
  } else paths = h.strings(TAG.OLDFILENAMES);
  const n = paths.length;
  const col = <T>(values: T[], what: string, fallback?: T): T[] => {
    if (values.length === n) return values;
    if (values.length === 0 && fallback !== undefined) return new Array<T>(n).fill(fallback);
    throw headerError(where, `${n} files but ${values.length} ${what}`, file);
  };
  if (n === 0) return [];
  const modes = col(h.numbers(TAG.FILEMODES), "file modes");
  const sizes = col(
    h.has(TAG.LONGFILESIZES) ? h.numbers(TAG.LONGFILESIZES) : h.numbers(TAG.FILESIZES),
    "file sizes",
  );
  const flags = col(h.numbers(TAG.FILEFLAGS), "file flags", 0);
  const links = col(h.strings(TAG.FILELINKTOS), "link targets", "");
  const rdevs = col(h.numbers(TAG.FILERDEVS), "device numbers", 0);
  const inodes = col(h.numbers(TAG.FILEINODES), "inode numbers", 0);
  const devices = col(h.numbers(TAG.FILEDEVICES), "device ids", 0);
  const caps = col(h.strings(TAG.FILECAPS), "capability sets", "");
  const digests = col(h.strings(TAG.FILEDIGESTS), "digests", "");
  return paths.map((path, i) => ({
    path,
    mode: modes[i]!,
    size: sizes[i]!,
    flags: flags[i]!,
    linkTo: links[i]!,
    rdev: rdevs[i]!,
    // Without inode numbers (very old packages) every file is its own inode.
    inode: inodes[i] || i + 1,
    device: devices[i]!,
    caps: caps[i]!,
    digest: digests[i]!,
  }));
}

/** Read the headers of a .rpm file (not its payload). */
export async function readRpmPackage(file: string): Promise<RpmPackage> {
  // A FIFO or device named like a .rpm is refused on the open descriptor, never waited on.
  const fh = await openRegularFile(file, "package", "PACKAGE_INVALID");
  try {
    const hs = await readHeaders(fh, file);
    if (hs.source || !hs.header.has(TAG.SOURCERPM))
      throw headerError(file, "it is a source package (.src.rpm); binary packages are needed", file);
    const pkg = packageFromHeader(hs.header, file, file);
    const format = hs.header.string(TAG.PAYLOADFORMAT) ?? "cpio";
    if (format !== "cpio")
      throw headerError(file, `payload format ${JSON.stringify(format)} is not supported (cpio is)`, file);
    return {
      ...pkg,
      payload: {
        offset: hs.payloadOffset,
        format,
        compressor: hs.header.string(TAG.PAYLOADCOMPRESSOR) ?? "gzip",
      },
    };
  } finally {
    await fh.close();
  }
}
