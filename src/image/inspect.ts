// Reads an image back: format by magic, file list, extension-release files, their content and strict xattr.
import { lstat, open, readFile, readdir } from "node:fs/promises";
import { basename, join } from "node:path";
import { SysextError } from "../errors.js";
import { comparePaths } from "../tree/paths.js";
import { parseEnvFile } from "../util/env-file.js";
import { runTool } from "../util/exec.js";
import { digestFile } from "../util/fs.js";
import type { VeritySummary } from "./ddi/describe.js";
import { LIMITS } from "../util/limits.js";
import { makeWorkDir } from "../util/temp.js";
import { EROFS_MAGIC, ErofsReader } from "./erofs-reader.js";
import { listDirectory, listSquashfs, splitDev, type ImageFile, type ImageFileType } from "./listing.js";
import { readUserXattrs } from "./xattrs.js";

export const RELEASE_DIR = "usr/lib/extension-release.d";
export const STRICT_XATTR = "user.extension-release.strict";

export { parsePermissions, splitDev, type ImageFile, type ImageFileType } from "./listing.js";

export interface ImageInfo {
  format: "squashfs" | "erofs" | "directory" | "ddi";
  /** For a DDI: the file system in its root partition. */
  filesystem?: "squashfs" | "erofs";
  /** A DDI's partitions, root hash and signer, or a plain image's verity sidecar files. */
  verity?: VeritySummary;
  path: string;
  size: number;
  /** SHA-256 of the image file (hex); undefined for directories. */
  sha256: string | undefined;
  /** Regular files in usr/lib/extension-release.d, sorted. */
  releaseFiles: string[];
  /** The release file matching the image name (minus .raw), else the single one; parsed. */
  release: Record<string, string> | undefined;
  /** Which release file `release` was read from. */
  releaseFile: string | undefined;
  /** user.extension-release.strict on that file, if set. */
  strictXattr: string | undefined;
  /** user.extension-release.strict of every release file that has it. */
  strictXattrs: Record<string, string>;
  files: ImageFile[];
}

/** Detect the format of an image file by its magic number. */
export async function detectFormat(path: string): Promise<"squashfs" | "erofs" | "directory"> {
  const st = await lstat(path).catch((e: unknown) => {
    throw new SysextError("IO", `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
      location: { file: path },
      hint: "give the path of an image file (NAME.raw) or of a directory extension",
    });
  });
  if (st.isDirectory()) return "directory";
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(1028);
    const { bytesRead } = await fh.read(b, 0, 1028, 0);
    if (bytesRead >= 4 && b.toString("latin1", 0, 4) === "hsqs") return "squashfs";
    if (bytesRead >= 1028 && b.readUInt32LE(1024) === EROFS_MAGIC) return "erofs";
  } finally {
    await fh.close();
  }
  throw new SysextError("FORMAT_UNSUPPORTED", `${path} is neither a squashfs nor an erofs image`, {
    location: { file: path },
    hint: "inspect reads squashfs, erofs and directory extensions, and DDIs (GPT disk images with a root partition)",
  });
}

export async function inspectImage(path: string): Promise<ImageInfo> {
  if (await isGptFile(path)) return inspectDdi(path);
  const format = await detectFormat(path);
  const name = basename(path).replace(/\.raw$/, "");
  const work = await makeWorkDir("inspect");
  const scratch = work.dir;
  try {
    let files: ImageFile[];
    let release: ReleaseData;
    if (format === "squashfs") {
      files = await listSquashfs(path);
      const dir = join(scratch, "x");
      const { stderr } = await runTool("unsquashfs", [
        ...["-no-progress", "-quiet", "-user-xattrs", "-d", dir, path, RELEASE_DIR],
      ]);
      if (/xattr/i.test(stderr)) {
        throw new SysextError("IO", `cannot read the xattrs of ${path}'s release files: ${stderr.trim()}`, {
          location: { file: path },
          hint: "point TMPDIR at a file system with user xattrs (ext4, xfs, btrfs; tmpfs from Linux 6.6)",
        });
      }
      release = await readReleaseDir(dir);
    } else if (format === "erofs") {
      ({ files, release } = await readErofs(path, scratch));
    } else {
      files = await listDirectory(path);
      release = await readReleaseDir(path);
    }
    const releaseFiles = Object.keys(release.contents).sort(comparePaths);
    const chosen = releaseFiles.includes(`extension-release.${name}`)
      ? `extension-release.${name}`
      : releaseFiles.length === 1
        ? releaseFiles[0]
        : undefined;
    const st = await lstat(path);
    return {
      format,
      path,
      size:
        format === "directory"
          ? files.reduce((n, f) => n + (f.type === "file" ? (f.size ?? 0) : 0), 0)
          : st.size,
      sha256: format === "directory" ? undefined : (await digestFile(path)).sha256,
      releaseFiles,
      release:
        chosen === undefined
          ? undefined
          : Object.fromEntries(parseEnvFile(release.contents[chosen]!, `${path}:${RELEASE_DIR}/${chosen}`)),
      releaseFile: chosen,
      strictXattr: chosen === undefined ? undefined : release.strict[chosen],
      strictXattrs: release.strict,
      files: files.sort((a, b) => comparePaths(a.path, b.path)),
      ...(format === "directory" ? {} : await sidecarSummary(path)),
    };
  } finally {
    await work.remove();
  }
}

async function isGptFile(path: string): Promise<boolean> {
  const st = await lstat(path).catch(() => undefined);
  if (!st?.isFile()) return false;
  const { isGptImage } = await import("./ddi/read.js");
  return isGptImage(path);
}

async function sidecarSummary(path: string): Promise<{ verity?: VeritySummary }> {
  const { describeSidecars } = await import("./ddi/describe.js");
  const v = await describeSidecars(path);
  return v ? { verity: v } : {};
}

/** A DDI: its partitions and signer, and everything else read from the file system in its root partition. */
async function inspectDdi(path: string): Promise<ImageInfo> {
  const { describeDdi } = await import("./ddi/describe.js");
  const work = await makeWorkDir("inspect-ddi");
  const scratch = work.dir;
  try {
    // The root partition is inspected under the DDI's own name, so the release file is matched as for the DDI.
    const fsFile = join(scratch, basename(path));
    const verity = await describeDdi(path, fsFile);
    if (!verity.partitions?.some((p) => p.role === "root")) {
      throw new SysextError(
        "IMAGE_INVALID",
        `${path} is a GPT disk image without a root partition: ${verity.problems.join("; ")}`,
        {
          location: { file: path },
          hint: "a sysext DDI carries a root-<arch> partition (see systemd-dissect)",
        },
      );
    }
    const inner = await inspectImage(fsFile);
    const digest = await digestFile(path);
    return {
      ...inner,
      format: "ddi",
      filesystem: inner.format === "squashfs" ? "squashfs" : "erofs",
      path,
      size: digest.size,
      sha256: digest.sha256,
      verity,
    };
  } finally {
    await work.remove();
  }
}

interface ReleaseData {
  contents: Record<string, string>;
  strict: Record<string, string>;
}

/** The release files below `root` (an extracted or directory image); symlinks are never followed. */
async function readReleaseDir(root: string): Promise<ReleaseData> {
  const out: ReleaseData = { contents: {}, strict: {} };
  // Every component must be a real directory: a symlink (usr -> /) would read this machine's files.
  let dir = root;
  for (const part of RELEASE_DIR.split("/")) {
    dir = join(dir, part);
    const st = await lstat(dir).catch(() => undefined);
    if (!st?.isDirectory()) return out;
  }
  const names = await readdir(dir).catch(() => [] as string[]);
  const regular: string[] = [];
  for (const n of names) {
    const p = join(dir, n);
    const st = await lstat(p);
    if (!st.isFile()) continue;
    if (st.size > LIMITS.releaseFileBytes) {
      throw new SysextError(
        "IMAGE_INVALID",
        `${RELEASE_DIR}/${n} is ${st.size} bytes; systemd reads release files of at most ${LIMITS.releaseFileBytes} bytes (64 MiB - 1)`,
        {
          location: { file: p },
          hint: "release files are a few KEY=value lines; rebuild the image (sysextkit build refuses such a file)",
        },
      );
    }
    out.contents[n] = await readFile(p, "utf8");
    regular.push(n);
  }
  // Read with tar, not getfattr: reading an image back needs no tool its build did not need.
  const xattrs = await readUserXattrs(dir, regular);
  for (const n of regular) {
    const x = xattrs[n]?.[STRICT_XATTR];
    if (x !== undefined) out.strict[n] = x;
  }
  return out;
}

const S_IFMT: Readonly<Record<number, ImageFileType>> = {
  0o040000: "dir",
  0o100000: "file",
  0o120000: "symlink",
  0o020000: "char",
  0o060000: "block",
  0o010000: "fifo",
  0o140000: "socket",
};

async function readErofs(
  path: string,
  scratch: string,
): Promise<{ files: ImageFile[]; release: ReleaseData }> {
  const r = await ErofsReader.open(path);
  try {
    const files: ImageFile[] = [];
    const release: ReleaseData = { contents: {}, strict: {} };
    let needExtract = false;
    for (const { path: p, inode } of await r.walk()) {
      if (p === "") continue;
      const type = S_IFMT[inode.mode & 0o170000] ?? "file";
      const f: ImageFile = { path: p, type, mode: inode.mode & 0o7777 };
      if (type === "file") f.size = inode.size;
      if (type === "symlink") f.target = (await r.data(inode)).toString("utf8");
      if (type === "char" || type === "block") Object.assign(f, splitDev(inode.rdev));
      files.push(f);
      if (
        type === "file" &&
        p.startsWith(`${RELEASE_DIR}/`) &&
        !p.slice(RELEASE_DIR.length + 1).includes("/")
      ) {
        const n = p.slice(RELEASE_DIR.length + 1);
        const x = inode.xattrs[STRICT_XATTR];
        if (x !== undefined) release.strict[n] = x.toString("utf8");
        if (r.isPlain(inode)) release.contents[n] = (await r.data(inode)).toString("utf8");
        else needExtract = true;
      }
    }
    if (needExtract) {
      const dir = join(scratch, "x");
      await runTool("fsck.erofs", [`--extract=${dir}`, path]);
      for (const [n, text] of Object.entries((await readReleaseDir(dir)).contents)) {
        release.contents[n] = text;
      }
    }
    return { files, release };
  } finally {
    await r.close();
  }
}
