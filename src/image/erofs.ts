// erofs backend: stage the tree in workDir, then `mkfs.erofs` with a fixed time, root owners and a derived UUID.
import { createHash } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../errors.js";
import type { Compression } from "../spec/schema.js";
import type { Tree } from "../tree/tree.js";
import { treeContentSize } from "../tree/tree.js";
import { runTool } from "../util/exec.js";
import { padTo4096, type BackendOptions } from "./backend.js";
import { stageTree } from "./stage.js";

export interface ErofsOptions extends BackendOptions {
  /** Scratch space: the tree is staged here for mkfs.erofs. */
  readonly workDir: string;
}

/** Default erofs compression: lz4hc reads fast and every erofs-capable kernel with ZIP support has it. */
export const EROFS_DEFAULT_COMPRESSION: Compression = "lz4hc";

/** The compressors this mkfs.erofs was built with ("Available compressors are: lz4hc, lz4"). */
export async function erofsCompressors(): Promise<string[]> {
  const { stdout, stderr } = await runTool("mkfs.erofs", ["--help"], { reject: false });
  const m = /Available compressors are:\s*([^\n]*)/.exec(`${stdout}\n${stderr}`);
  return m ? m[1]!.split(/[\s,]+/).filter(Boolean) : [];
}

/** A UUID derived from the tree's metadata and the epoch, so that equal inputs give equal images. */
export function erofsUuid(tree: Tree, epoch: number): string {
  const h = createHash("sha256").update(`sysextkit-erofs\0${epoch}\0`);
  for (const e of tree.entries) {
    h.update(`${e.path}\0${e.type}\0${e.mode}\0`);
    if (e.type === "file") h.update(e.link === undefined ? `${e.size}\0` : `${e.size}\0link\0${e.link}\0`);
    if (e.type === "symlink") h.update(`${e.target}\0`);
  }
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6]! & 0x0f) | 0x40; // version 4 layout (random-looking), variant RFC 4122
  b[8] = (b[8]! & 0x3f) | 0x80;
  const x = b.toString("hex");
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** The `-z` argument for mkfs.erofs, or none; refuses what erofs-utils cannot do. */
export async function erofsCompressionArgs(
  compression: Compression | undefined,
  level: number | undefined,
): Promise<string[]> {
  const comp = compression ?? EROFS_DEFAULT_COMPRESSION;
  if (comp === "none") {
    if (level !== undefined)
      throw unsupported("compression none has no level", "remove image.compressionLevel");
    return [];
  }
  const available = await erofsCompressors();
  if (!available.includes(comp)) {
    throw unsupported(
      `this mkfs.erofs cannot compress with ${comp} (it offers: ${available.join(", ") || "nothing"})`,
      `use image.compression ${[...available, "none"].join(" or ")} for erofs, or use the squashfs format for ${comp}`,
    );
  }
  if (level === undefined) return [`-z${comp}`];
  if (comp !== "lz4hc" || level < 1 || level > 12) {
    throw unsupported(
      `${comp} level ${level} is not supported by erofs`,
      "lz4hc takes levels 1-12; lz4 takes none",
    );
  }
  return [`-z${comp},${level}`];
}

function unsupported(message: string, hint: string): SysextError {
  return new SysextError("FORMAT_UNSUPPORTED", `erofs: ${message}`, {
    hint,
    location: { field: "image.compression" },
  });
}

/** The mkfs.erofs options before `OUT DIR`: fixed time, root owners, the given UUID, xattrs, compression. */
export function mkfsErofsFlags(epoch: number, uuid: string, zArgs: readonly string[]): string[] {
  return ["--quiet", "-T", String(epoch), "--all-root", "-U", uuid, "-x", "2", ...zArgs];
}

/** Write `tree` as an erofs image at exactly `out` (size padded to a multiple of 4096). */
export async function writeErofs(o: ErofsOptions): Promise<void> {
  if (o.blockSize !== undefined && o.blockSize !== 4096) {
    throw new SysextError(
      "FORMAT_UNSUPPORTED",
      `erofs uses 4096-byte blocks; block size ${o.blockSize} is for squashfs`,
      {
        location: { field: "image.blockSize" },
        hint: "remove image.blockSize when building erofs images",
      },
    );
  }
  const zArgs = await erofsCompressionArgs(o.compression, o.compressionLevel);
  const total = treeContentSize(o.tree);
  const staging = await mkdtemp(join(o.workDir, "erofs-stage-"));
  try {
    const root = join(staging, "root");
    await stageTree(o.tree, root, {
      epoch: o.epoch,
      ...(o.onProgress ? { onBytes: (n: number) => o.onProgress!(n, total) } : {}),
    });
    await runTool(
      "mkfs.erofs",
      [...mkfsErofsFlags(o.epoch, erofsUuid(o.tree, o.epoch), zArgs), o.out, root],
      {
        env: { TZ: "UTC", LC_ALL: "C", SOURCE_DATE_EPOCH: String(o.epoch) },
      },
    );
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
  await padTo4096(o.out);
}
