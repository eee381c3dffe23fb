// Check data against a stored dm-verity hash device, saying whether the data, the tree or the root hash is wrong.
import { createHash } from "node:crypto";
import { readRegion, type Region } from "./stream.js";
import { BLOCK } from "./types.js";
import { decodeSuperblock, superblockProblems, VerityHasher, type Superblock } from "./verity.js";

const DIGEST = 32;
const PER_BLOCK = BLOCK / DIGEST;

export interface VerityCheck {
  readonly superblock: Superblock | undefined;
  /** The root hash the stored tree leads to (undefined when the tree cannot be read). */
  readonly storedRootHash: string | undefined;
  readonly problems: string[];
}

/** Level sizes in blocks, bottom (over the data) first, for `dataBlocks` data blocks. */
function levelSizes(dataBlocks: number): number[] {
  const sizes: number[] = [];
  for (let n = dataBlocks; n > 1;) {
    n = Math.ceil(n / PER_BLOCK);
    sizes.push(n);
  }
  return sizes;
}

/**
 * Verify `data` against the hash device bytes `hash` (superblock first) and the `expected` root hash
 * (from a signature, the partition UUIDs or a .roothash file). Streams the data once.
 */
export async function checkVerity(
  data: Region,
  hash: Buffer,
  expected: string | undefined,
): Promise<VerityCheck> {
  const problems: string[] = [];
  const sb = decodeSuperblock(hash);
  if (!sb)
    return {
      superblock: undefined,
      storedRootHash: undefined,
      problems: ["no dm-verity superblock in the hash data"],
    };
  problems.push(...superblockProblems(sb));
  if (problems.length > 0) return { superblock: sb, storedRootHash: undefined, problems };
  if (sb.dataBlocks * BLOCK > data.size) {
    problems.push(
      `the superblock covers ${sb.dataBlocks} data blocks, more than the ${data.size / BLOCK} the data holds`,
    );
    return { superblock: sb, storedRootHash: undefined, problems };
  }
  const sizes = levelSizes(sb.dataBlocks);
  const treeBlocks = sizes.reduce((a, b) => a + b, 0);
  if (hash.length < (1 + treeBlocks) * BLOCK) {
    problems.push(`the hash data is ${hash.length} bytes, too short for ${sb.dataBlocks} data blocks`);
    return { superblock: sb, storedRootHash: undefined, problems };
  }
  // Stored levels: the top level first, right after the superblock block.
  const stored: Buffer[] = [];
  let pos = BLOCK;
  for (let i = sizes.length - 1; i >= 0; i--) {
    stored[i] = hash.subarray(pos, pos + sizes[i]! * BLOCK);
    pos += sizes[i]! * BLOCK;
  }
  const h = (b: Buffer) => createHash("sha256").update(sb.salt).update(b).digest();
  // 1. The stored tree must be consistent with itself, up to its root.
  let treeOk = true;
  for (let i = 0; i + 1 < sizes.length && treeOk; i++) {
    for (let b = 0; b < sizes[i]!; b++) {
      const parent = stored[i + 1]!.subarray(b * DIGEST, (b + 1) * DIGEST);
      if (!h(stored[i]!.subarray(b * BLOCK, (b + 1) * BLOCK)).equals(parent)) {
        problems.push(`hash tree corrupted: level ${i} block ${b} does not match its hash in level ${i + 1}`);
        treeOk = false;
        break;
      }
    }
  }
  const top = sizes.length === 0 ? undefined : stored[sizes.length - 1]!.subarray(0, BLOCK);
  const storedRoot = treeOk && top ? h(top).toString("hex") : undefined;
  if (storedRoot && expected && storedRoot !== expected) {
    problems.push(`the hash tree leads to root hash ${storedRoot}, not the expected ${expected}`);
  }
  // 2. The data against the lowest level (or, for a single block, against the root hash itself).
  const hasher = new VerityHasher(sb.salt);
  let firstBad: number | undefined;
  let block = 0;
  await readRegion({ ...data, size: sb.dataBlocks * BLOCK }, (chunk) => {
    hasher.update(chunk);
    if (firstBad !== undefined || sizes.length === 0) return;
    for (let o = 0; o < chunk.length; o += BLOCK, block++) {
      const want = stored[0]!.subarray(block * DIGEST, (block + 1) * DIGEST);
      if (!h(chunk.subarray(o, o + BLOCK)).equals(want)) {
        firstBad = block;
        return;
      }
    }
  });
  const computed = hasher.finish().rootHash.toString("hex");
  if (sizes.length === 0 && expected && computed !== expected) firstBad = 0;
  if (firstBad !== undefined) {
    problems.push(
      `data block ${firstBad} (byte ${data.offset + firstBad * BLOCK} of the image) does not match the hash tree`,
    );
  }
  return {
    superblock: sb,
    storedRootHash: storedRoot ?? (sizes.length === 0 ? computed : undefined),
    problems,
  };
}
