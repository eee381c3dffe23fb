// Batched bzip2 -9: one process compresses several chunk files, so process start-up does not dominate.
import { readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../errors.js";
import { spawnTool } from "../util/exec.js";

/** Chunks handed to one bzip2 process. bzip2 stores no name or time, so each output is what `bzip2 -9 -c` gives. */
export const BATCH_CHUNKS = 8;

/**
 * Cut `count` chunks into batches of BATCH_CHUNKS, shrinking to 4, 2 and 1 chunk near the end so that no
 * worker is left with a long last batch while the others idle. Returns [start, end) chunk ranges.
 */
export function planBatches(count: number, workers: number): Array<readonly [number, number]> {
  const out: Array<readonly [number, number]> = [];
  for (let i = 0; i < count;) {
    const remaining = count - i;
    let size = BATCH_CHUNKS;
    while (size > 1 && remaining < size * workers * 2) size >>= 1;
    size = Math.min(size, remaining);
    out.push([i, i + size]);
    i += size;
  }
  return out;
}

/**
 * Compress each buffer with `bzip2 -9` in a single process: the chunks are written as files in `dir`,
 * compressed with `bzip2 -9 -k` (one .bz2 per file), read back and removed. Returns the compressed
 * buffers in input order.
 */
export async function bzip2Batch(
  bin: string,
  dir: string,
  tag: number,
  chunks: readonly Buffer[],
): Promise<Buffer[]> {
  const files = chunks.map((_, i) => join(dir, `c${tag}-${i}`));
  try {
    await Promise.all(chunks.map((c, i) => writeFile(files[i]!, c)));
    await spawnTool(bin, ["-9", "-k", "-f", "-q", "--", ...files], { stdio: "ignore" });
    return await Promise.all(files.map((f) => readFile(`${f}.bz2`)));
  } catch (e) {
    throw new SysextError("TOOL_FAILED", `bzip2 -9 failed: ${(e as Error).message}`, {
      cause: e,
      hint: "check that bzip2 works (apt-get install bzip2) and the output directory has space",
    });
  } finally {
    await Promise.all(files.flatMap((f) => [rm(f, { force: true }), rm(`${f}.bz2`, { force: true })]));
  }
}
