// Streaming passes over a file system image: its content seed (optionally copying it), and its verity hash tree.
import { createHash } from "node:crypto";
import { open, type FileHandle } from "node:fs/promises";
import { SysextError } from "../../errors.js";
import { seedFromContent, veritySalt, verityUuid } from "./seed.js";
import { digestPieces } from "./parallel-hash.js";
import { renderHashDevice, treeFromDigests, type VerityParams, type VerityTree } from "./verity.js";

const CHUNK = 4 << 20;

/** A byte range of a file: where a file system image sits. */
export interface Region {
  readonly path: string;
  readonly offset: number;
  readonly size: number;
}

/** Read `region` in chunks, handing each to `each` (the buffer is reused: copy what you keep). */
export async function readRegion(
  region: Region,
  each: (chunk: Buffer, position: number) => void | Promise<void>,
): Promise<void> {
  const fh = await open(region.path, "r").catch((e: unknown) => {
    throw new SysextError("IO", `cannot read ${region.path}: ${(e as Error).message}`, {
      cause: e,
      location: { file: region.path },
      hint: "check that the image exists and is readable",
    });
  });
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (let done = 0; done < region.size;) {
      const want = Math.min(CHUNK, region.size - done);
      const { bytesRead } = await fh.read(buf, 0, want, region.offset + done);
      if (bytesRead === 0) {
        throw new SysextError(
          "IMAGE_INVALID",
          `${region.path} ends at ${region.offset + done}, inside its file system (${region.size} bytes from ${region.offset})`,
          {
            location: { file: region.path },
            hint: "the image is truncated; rebuild or download it again",
          },
        );
      }
      await each(buf.subarray(0, bytesRead), done);
      done += bytesRead;
    }
  } finally {
    await fh.close();
  }
}

/**
 * The seed of a file system image: SHA-256 over its size and the SHA-256 of each 4 MiB piece (computed on
 * all cores), so the same bytes always give the same seed and `sign` can derive it again from the image.
 */
export async function contentSeed(region: Region): Promise<Buffer> {
  const pieces = await digestPieces(region, "chunks");
  const h = createHash("sha256").update(`${region.size}\0`).update(pieces);
  return seedFromContent(h.digest());
}

/** The verity parameters that follow from a seed: the salt and superblock UUID as repart derives them. */
export function verityParams(seed: Buffer): VerityParams {
  return { salt: veritySalt(seed), uuid: verityUuid(seed) };
}

/** Hash every data block of `region` (on all cores) and build the tree; returns it with the hash device's bytes. */
export async function hashRegion(
  region: Region,
  params: VerityParams,
): Promise<{ tree: VerityTree; hashDevice: Buffer }> {
  const tree = treeFromDigests(params.salt, await digestPieces(region, "blocks", params.salt));
  return { tree, hashDevice: renderHashDevice(params, tree) };
}

/** Copy `region` to `fh` at `offset`. */
export async function copyRegion(region: Region, fh: FileHandle, offset: number): Promise<void> {
  await readRegion(region, (chunk, pos) => writeAll(fh, chunk, offset + pos));
}

export async function writeAll(fh: FileHandle, data: Buffer, position: number): Promise<void> {
  for (let done = 0; done < data.length;) {
    const { bytesWritten } = await fh.write(data, done, data.length - done, position + done);
    done += bytesWritten;
  }
}
