// squashfs backend: the tree as a tar stream piped into `mksquashfs - OUT -tar` with reproducible flags.
import { SysextError } from "../errors.js";
import type { Compression } from "../spec/schema.js";
import { treeContentSize } from "../tree/tree.js";
import { requireTool, spawnTool, toolEnv } from "../util/exec.js";
import { padTo4096, type BackendOptions } from "./backend.js";
import { writeTreeTar } from "./tar-writer.js";

export const SQUASHFS_DEFAULT_COMPRESSION: Compression = "zstd";
export const SQUASHFS_DEFAULT_BLOCK_SIZE = 128 * 1024;

/**
 * mksquashfs's memory for its queues and caches. Its default is a quarter of the machine's RAM, which it
 * fills with read-ahead: peak RSS then grows with the tree (624 MiB for a 628 MB tree, measured) while
 * compression is the bottleneck anyway. 256M keeps it under 100 MiB at the same speed; the image bytes
 * do not depend on it.
 */
export const MKSQUASHFS_MEMORY = ["-mem", "256M"];

/** Compression levels each mksquashfs 4.5 compressor accepts through -Xcompression-level. */
const LEVELS: Partial<Record<Compression, readonly [number, number]>> = { zstd: [1, 22], gzip: [1, 9] };

/**
 * The mksquashfs arguments after `- OUT -tar`: reproducible (root owners, every time = epoch, fixed
 * superblock time, no NFS export table), quiet, compressor and block size as asked.
 */
export function mksquashfsFlags(o: {
  compression: Compression | undefined;
  compressionLevel: number | undefined;
  blockSize: number | undefined;
  epoch: number;
}): string[] {
  const comp = o.compression ?? SQUASHFS_DEFAULT_COMPRESSION;
  const block = o.blockSize ?? SQUASHFS_DEFAULT_BLOCK_SIZE;
  if (!Number.isInteger(block) || block < 4096 || block > 1 << 20 || (block & (block - 1)) !== 0) {
    throw new SysextError(
      "FORMAT_UNSUPPORTED",
      `squashfs block size ${block} is not a power of two from 4096 to 1048576`,
      {
        location: { field: "image.blockSize" },
        hint: "use 131072 (the default) or e.g. 524288 like Flatcar's OEM images",
      },
    );
  }
  const args = [
    "-noappend",
    "-no-progress",
    "-quiet",
    "-reproducible",
    "-all-root",
    "-all-time",
    String(o.epoch),
    "-mkfs-time",
    String(o.epoch),
    "-root-mode",
    "0755",
    "-no-exports",
    "-xattrs",
    "-b",
    String(block),
  ];
  if (comp === "none") {
    if (o.compressionLevel !== undefined) throw levelError(comp, "compression none has no level");
    return [...args, "-noI", "-noD", "-noF", "-noX"];
  }
  if (comp === "lz4hc") args.push("-comp", "lz4", "-Xhc");
  else args.push("-comp", comp);
  if (o.compressionLevel !== undefined) {
    const range = LEVELS[comp];
    if (!range) throw levelError(comp, `mksquashfs has no compression level for ${comp}`);
    if (o.compressionLevel < range[0] || o.compressionLevel > range[1]) {
      throw levelError(comp, `${comp} levels go from ${range[0]} to ${range[1]}, not ${o.compressionLevel}`);
    }
    args.push("-Xcompression-level", String(o.compressionLevel));
  }
  return args;
}

function levelError(comp: Compression, message: string): SysextError {
  return new SysextError("FORMAT_UNSUPPORTED", `squashfs with ${comp}: ${message}`, {
    location: { field: "image.compressionLevel" },
    hint: "remove image.compressionLevel, or use zstd (1-22) or gzip (1-9)",
  });
}

/**
 * Write `tree` as a squashfs image at exactly `out` (size padded to a multiple of 4096). With `offset`,
 * the file system starts that many bytes into `out` (the DDI backend places it in its root partition).
 */
export async function writeSquashfs(o: BackendOptions & { readonly offset?: number }): Promise<void> {
  const flags = [...mksquashfsFlags(o), ...(o.offset ? ["-offset", String(o.offset)] : [])];
  const bin = await requireTool("mksquashfs");
  const total = treeContentSize(o.tree);
  const child = spawnTool(bin, ["-", o.out, "-tar", ...flags, ...MKSQUASHFS_MEMORY], {
    stdin: "pipe",
    stdout: "pipe",
    stderr: "pipe",
    reject: false,
    // mksquashfs refuses SOURCE_DATE_EPOCH together with -all-time/-mkfs-time; the epoch is in the flags.
    extendEnv: false,
    env: { ...toolEnv(), TZ: "UTC", LC_ALL: "C" },
  });
  let feedError: unknown;
  const feeding = writeTreeTar(o.tree, child.stdin!, {
    epoch: o.epoch,
    ...(o.onProgress ? { onBytes: (n: number) => o.onProgress!(n, total) } : {}),
  }).catch((e: unknown) => {
    feedError = e;
    // Stop mksquashfs so it does not wait for more input (or build from a partial stream).
    child.kill("SIGKILL");
  });
  const result = await child;
  await feeding;
  if (feedError instanceof SysextError) throw feedError;
  if (result.exitCode !== 0 || result.failed) {
    const stderr = String(result.stderr ?? "").trim();
    throw new SysextError(
      "TOOL_FAILED",
      `mksquashfs failed${result.exitCode === undefined ? "" : ` with exit code ${result.exitCode}`}${stderr ? `: ${stderr.split("\n").slice(-8).join("\n")}` : ""}`,
      {
        hint: `the command was: mksquashfs - ${o.out} -tar ${[...flags, ...MKSQUASHFS_MEMORY].join(" ")}`,
        cause: feedError,
      },
    );
  }
  if (feedError) {
    throw new SysextError(
      "IO",
      `streaming the tree into mksquashfs failed: ${(feedError as Error).message}`,
      {
        cause: feedError,
        hint: "check that the source files are readable and unchanged during the build, and that the output directory has space",
      },
    );
  }
  await padTo4096(o.out);
}
