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
  // The tree the data gives (streamed once), and where the stored tree first differs from it.
  const hasher = new VerityHasher(sb.salt);
  await readRegion({ ...data, size: sb.dataBlocks * BLOCK }, (chunk) => hasher.update(chunk));
  const computed = hasher.finish();
  const computedRoot = computed.rootHash.toString("hex");
  const top = sizes.length === 0 ? undefined : stored[sizes.length - 1]!.subarray(0, BLOCK);
  const storedRoot = top ? h(top).toString("hex") : undefined;
  const want = expected ?? storedRoot ?? computedRoot;
  // computed.levels are ordered top first, like the device; stored[] bottom first.
  let treeDiff: string | undefined;
  for (let i = 0; i < sizes.length && !treeDiff; i++) {
    const mine = computed.levels[sizes.length - 1 - i]!;
    for (let b = 0; b < sizes[i]!; b++) {
      const at = (x: Buffer) => x.subarray(b * BLOCK, (b + 1) * BLOCK);
      if (!at(mine).equals(at(stored[i]!))) {
        treeDiff = `level ${i} block ${b}`;
        break;
      }
    }
  }
  if (computedRoot === want) {
    // The data is what the root hash vouches for: any difference is in the stored tree.
    if (treeDiff) problems.push(`hash tree corrupted: ${treeDiff} differs from what the data gives`);
  } else if (sizes.length === 0) {
    problems.push(
      `data block 0 (byte ${data.offset} of the image) does not match the root hash (a one-block file system has no tree)`,
    );
  } else if (storedRoot === want) {
    // The stored tree leads to the right root: the first data block that does not match it is bad.
    const mine = computed.levels[sizes.length - 1]!;
    let bad = 0;
    while (
      bad < sb.dataBlocks &&
      mine
        .subarray(bad * DIGEST, (bad + 1) * DIGEST)
        .equals(stored[0]!.subarray(bad * DIGEST, (bad + 1) * DIGEST))
    )
      bad++;
    problems.push(
      `data block ${bad} (byte ${data.offset + bad * BLOCK} of the image) does not match the hash tree`,
    );
  } else if (computedRoot === storedRoot) {
    problems.push(`data and hash tree agree on root hash ${computedRoot}, not the expected ${want}`);
  } else {
    problems.push(
      `neither the data nor the hash tree leads to root hash ${want}${treeDiff ? ` (the tree differs from the data's at ${treeDiff})` : ""}`,
    );
  }
  return { superblock: sb, storedRootHash: storedRoot ?? computedRoot, problems };
}
