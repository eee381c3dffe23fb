// The explicit limits of sysextkit, one table shared by build, check, inspect and the spec loaders; each says where it comes from.
import { SysextError, type ErrorLocation } from "../errors.js";

export const LIMITS = {
  /**
   * Bytes in one file name (path component): Linux NAME_MAX. Measured: `mksquashfs -tar` stores 256-byte
   * names that `unsquashfs` cannot extract, and cuts longer ones to 256 bytes ("Filename is greater than
   * 256 characters, truncating!"), so two long names sharing 256 bytes make a corrupt image.
   */
  nameBytes: 255,
  /**
   * Bytes in a path inside the image, without the leading "/": the merged file is opened as "/<path>",
   * which must fit PATH_MAX (4096 bytes with the NUL). Measured: mksquashfs takes a 5030-byte path,
   * unsquashfs then fails; a 4025-byte one round-trips.
   */
  pathBytes: 4094,
  /** Bytes of a symlink target: symlink(2) refuses targets of PATH_MAX (4096) bytes or more. */
  linkTargetBytes: 4095,
  /** Bytes of an absolute path on this machine (staging for mkfs.erofs, directory images): PATH_MAX - 1. */
  hostPathBytes: 4095,
  /**
   * Bytes of an extension-release file. systemd reads it with read_full_stream(), whose limit is
   * READ_FULL_BYTES_MAX = 64 MiB - 1 (src/basic/fileio.c). Measured with a real merge (squashfs, the
   * release file's last line VERSION_ID=): systemd 252 (Debian 12) and 257 (Debian 13) both merge it at
   * 67,108,863 bytes and still at 67,112,942; from 67,112,943 bytes on both read only the first
   * 67,112,941 bytes, silently drop the rest and ignore the image ("incompatible version/image"); from
   * 65 MiB both fail with "Failed to read metadata for image: Protocol error". The limit is systemd's own
   * constant, 4,078 bytes below the measured cut, so a file within it is always read whole.
   */
  releaseFileBytes: 64 * 1024 * 1024 - 1,
  /**
   * Bytes of a YAML spec (extension.yaml, release.yaml). Measured with yaml 2.9: parsing a 20 MiB
   * double-quoted `content:` peaks at 818 MB RSS (a block scalar: 280 MB), so large contents belong in
   * files (`from:`); 4 MiB, like templates, keeps a whole `sysextkit build` under about 300 MB RSS
   * (measured: 283 MB with a 3.9 MiB double-quoted content, 124 MB for the same build of a tiny spec).
   */
  specBytes: 4 * 1024 * 1024,
  /** YAML aliases (*name) resolved in one document: bounds "billion laughs" alias bombs. */
  yamlAliases: 100,
  /** How deep spec variables may build on each other (`a: ${b}`, `b: ${c}`, ...). */
  varDepth: 16,
  /** Bytes of one variable's value after expansion. */
  varBytes: 64 * 1024,
  /** Bytes a single field may grow by through ${var} expansion. */
  expansionBytes: 1024 * 1024,
} as const;

/** A LIMIT_EXCEEDED error: what went over which limit, where, and how to fix it. */
export function limitError(message: string, hint: string, location?: ErrorLocation): SysextError {
  return new SysextError("LIMIT_EXCEEDED", message, { hint, ...(location ? { location } : {}) });
}

/** A long string shortened for messages: its start, then how long it really is. */
export function abbreviate(s: string, keep = 60): string {
  const n = Buffer.byteLength(s);
  return n <= keep + 20 ? JSON.stringify(s) : `${JSON.stringify(s.slice(0, keep))}... (${n} bytes)`;
}

/**
 * Refuse a tree path (or symlink target) that no backend can store faithfully: a component over
 * NAME_MAX, or a path over PATH_MAX once it is opened as "/<path>". Never truncated.
 */
export function checkTreePathLimits(path: string, origin: string, target?: string): void {
  for (const part of path.split("/")) {
    const n = Buffer.byteLength(part);
    if (n > LIMITS.nameBytes) {
      throw limitError(
        `${abbreviate(path)} from ${origin}: the file name ${abbreviate(part, 40)} is ${n} bytes; Linux file names hold at most ${LIMITS.nameBytes} bytes (NAME_MAX)`,
        "rename the file in its source (sysextkit never truncates names: two cut names could collide)",
      );
    }
  }
  const n = Buffer.byteLength(path);
  if (n > LIMITS.pathBytes) {
    throw limitError(
      `${abbreviate(path)} from ${origin} is a ${n}-byte path; as /${"<path>"} it must fit PATH_MAX (at most ${LIMITS.pathBytes} bytes without the leading /)`,
      "shorten the directory structure in the source",
    );
  }
  if (target !== undefined && Buffer.byteLength(target) > LIMITS.linkTargetBytes) {
    throw limitError(
      `symlink ${abbreviate(path)} from ${origin}: its ${Buffer.byteLength(target)}-byte target is longer than symlink(2) accepts (${LIMITS.linkTargetBytes} bytes)`,
      "shorten the link target in the source",
    );
  }
}
