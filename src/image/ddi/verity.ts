// dm-verity (format 1, SHA-256): the hash tree built from streamed data blocks, and the superblock veritysetup writes.
import { createHash } from "node:crypto";
import { SysextError } from "../../errors.js";
import { BLOCK } from "./types.js";
import { bytesToUuid, uuidToBytes } from "./seed.js";

const DIGEST = 32;
const PER_BLOCK = BLOCK / DIGEST; // 128 hashes per hash block
export const SUPERBLOCK_SIZE = 512;

export interface VerityParams {
  readonly salt: Buffer;
  /** UUID written into the superblock. */
  readonly uuid: string;
}

export interface VerityTree {
  readonly rootHash: Buffer;
  readonly dataBlocks: number;
  /** Hash blocks as they are stored after the superblock: the top level first, the level over the data last. */
  readonly levels: readonly Buffer[];
}

/**
 * Hashes data blocks as they stream by (each SHA-256(salt || block)) and builds the tree at the end.
 * Only the per-block digests are kept: 32 bytes per 4 KiB of data.
 */
export class VerityHasher {
  readonly #salt: Buffer;
  #digests: Buffer = Buffer.alloc(64 * DIGEST);
  #blocks = 0;
  #pending: Buffer = Buffer.alloc(0);

  constructor(salt: Buffer) {
    this.#salt = salt;
  }

  update(chunk: Buffer): void {
    let data = chunk;
    if (this.#pending.length > 0) {
      data = Buffer.concat([this.#pending, chunk]);
      this.#pending = Buffer.alloc(0);
    }
    const whole = data.length - (data.length % BLOCK);
    for (let o = 0; o < whole; o += BLOCK) this.#push(this.#hash(data.subarray(o, o + BLOCK)));
    if (whole < data.length) this.#pending = Buffer.from(data.subarray(whole));
  }

  finish(): VerityTree {
    if (this.#pending.length > 0) {
      throw new SysextError("IMAGE_INVALID", `verity data is not a whole number of ${BLOCK}-byte blocks`, {
        hint: "file system images are padded to 4096 bytes; this is a bug if it happens",
      });
    }
    return treeFromDigests(this.#salt, this.#digests.subarray(0, this.#blocks * DIGEST));
  }

  #hash(block: Buffer): Buffer {
    return createHash("sha256").update(this.#salt).update(block).digest();
  }

  #push(d: Buffer): void {
    if ((this.#blocks + 1) * DIGEST > this.#digests.length) {
      const bigger = Buffer.alloc(this.#digests.length * 2);
      this.#digests.copy(bigger);
      this.#digests = bigger;
    }
    d.copy(this.#digests, this.#blocks * DIGEST);
    this.#blocks++;
  }
}

/** The tree over data blocks whose salted digests (32 bytes each, in order) are `digests`. */
export function treeFromDigests(salt: Buffer, digests: Buffer): VerityTree {
  if (digests.length === 0) throw new SysextError("IMAGE_INVALID", "verity over an empty file system");
  const h = (b: Buffer) => createHash("sha256").update(salt).update(b).digest();
  let hashes = digests;
  const levels: Buffer[] = [];
  while (hashes.length > DIGEST) {
    const count = Math.ceil(hashes.length / BLOCK);
    const level = Buffer.alloc(count * BLOCK);
    hashes.copy(level);
    levels.unshift(level);
    const next = Buffer.alloc(count * DIGEST);
    for (let i = 0; i < count; i++) h(level.subarray(i * BLOCK, (i + 1) * BLOCK)).copy(next, i * DIGEST);
    hashes = next;
  }
  return { rootHash: Buffer.from(hashes), dataBlocks: digests.length / DIGEST, levels };
}

/** Bytes of the hash device for `dataBlocks` data blocks: superblock block plus every hash level. */
export function hashDeviceSize(dataBlocks: number): number {
  let blocks = 1;
  let n = dataBlocks;
  while (n > 1) {
    n = Math.ceil(n / PER_BLOCK);
    blocks += n;
  }
  return blocks * BLOCK;
}

/** The 512-byte superblock (version 1, hash type 1, sha256, 4096/4096) as `veritysetup format` writes it. */
export function encodeSuperblock(p: VerityParams, dataBlocks: number): Buffer {
  const sb = Buffer.alloc(SUPERBLOCK_SIZE);
  sb.write("verity", 0, "latin1");
  sb.writeUInt32LE(1, 8);
  sb.writeUInt32LE(1, 12);
  uuidToBytes(p.uuid).copy(sb, 16);
  sb.write("sha256", 32, "latin1");
  sb.writeUInt32LE(BLOCK, 64);
  sb.writeUInt32LE(BLOCK, 68);
  sb.writeBigUInt64LE(BigInt(dataBlocks), 72);
  sb.writeUInt16LE(p.salt.length, 80);
  p.salt.copy(sb, 88);
  return sb;
}

/** The whole hash device: superblock padded to one block, then the levels. */
export function renderHashDevice(p: VerityParams, tree: VerityTree): Buffer {
  const head = Buffer.alloc(BLOCK);
  encodeSuperblock(p, tree.dataBlocks).copy(head);
  return Buffer.concat([head, ...tree.levels]);
}

export interface Superblock {
  readonly version: number;
  readonly hashType: number;
  readonly uuid: string;
  readonly algorithm: string;
  readonly dataBlockSize: number;
  readonly hashBlockSize: number;
  readonly dataBlocks: number;
  readonly salt: Buffer;
}

/** Parse a superblock; undefined when the bytes are not one. */
export function decodeSuperblock(b: Buffer): Superblock | undefined {
  if (b.length < SUPERBLOCK_SIZE || b.toString("latin1", 0, 8) !== "verity\0\0") return undefined;
  const saltSize = b.readUInt16LE(80);
  if (saltSize > 256) return undefined;
  return {
    version: b.readUInt32LE(8),
    hashType: b.readUInt32LE(12),
    uuid: bytesToUuid(b.subarray(16, 32)),
    algorithm: b.toString("latin1", 32, 64).replace(/\0+$/, ""),
    dataBlockSize: b.readUInt32LE(64),
    hashBlockSize: b.readUInt32LE(68),
    dataBlocks: Number(b.readBigUInt64LE(72)),
    salt: Buffer.from(b.subarray(88, 88 + saltSize)),
  };
}

/** What sysextkit reads and verifies: format 1, SHA-256, 4096-byte blocks (what it and repart write). */
export function superblockProblems(sb: Superblock): string[] {
  const p: string[] = [];
  if (sb.version !== 1) p.push(`superblock version ${sb.version}, expected 1`);
  if (sb.hashType !== 1) p.push(`hash type ${sb.hashType}, expected 1 (normal)`);
  if (sb.algorithm !== "sha256") p.push(`hash algorithm ${sb.algorithm}, expected sha256`);
  if (sb.dataBlockSize !== BLOCK || sb.hashBlockSize !== BLOCK) {
    p.push(`block sizes ${sb.dataBlockSize}/${sb.hashBlockSize}, expected ${BLOCK}/${BLOCK}`);
  }
  return p;
}
