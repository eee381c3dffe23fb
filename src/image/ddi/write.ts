// Assemble a DDI around a file system image: verity hash partition, optional signature partition, GPT.
import { open, stat, type FileHandle } from "node:fs/promises";
import type { SystemdArch } from "../../base/arch.js";
import { SysextError } from "../../errors.js";
import { renderGpt, GPT_TAIL_BYTES, type GptLayout, type GptPartition } from "./gpt.js";
import { diskUuid, partitionUuidFromSeed, rootHashUuids } from "./seed.js";
import { signaturePartition, signRootHash, type DdiSigner } from "./signature.js";
import { contentSeed, copyRegion, hashRegion, verityParams, writeAll, type Region } from "./stream.js";
import {
  BLOCK,
  FIRST_PARTITION_OFFSET,
  GPT_FLAG_READ_ONLY,
  partitionLabel,
  partitionTypes,
  SIGNATURE_PARTITION_SIZE,
} from "./types.js";

export interface DdiWriteOptions {
  /** The DDI to write (the caller makes it atomic). It may already hold the file system at 1 MiB. */
  readonly out: string;
  /** Where the file system image is: another file, or `out` itself at offset 1 MiB. */
  readonly filesystem: Region;
  readonly arch: SystemdArch;
  /** Sign now; without a signer the DDI has no signature partition (unsigned, or to be signed later). */
  readonly signer?: DdiSigner;
  /** The 128-bit seed; default: derived from the file system's bytes (what `sign` derives again). */
  readonly seed?: Buffer;
}

export interface DdiPartitionInfo {
  readonly role: "root" | "root-verity" | "root-verity-sig";
  readonly label: string;
  readonly typeUuid: string;
  readonly uuid: string;
  readonly offset: number;
  readonly size: number;
}

export interface DdiWriteResult {
  readonly rootHash: string;
  readonly seed: string;
  readonly signed: boolean;
  readonly size: number;
  readonly partitions: readonly DdiPartitionInfo[];
}

const roundUp = (n: number, to: number) => Math.ceil(n / to) * to;

/** Where everything goes for a file system of `fsSize` bytes and a hash device of `hashSize` bytes. */
export function ddiLayout(fsSize: number, hashSize: number, signed: boolean) {
  const rootOffset = FIRST_PARTITION_OFFSET;
  const verityOffset = rootOffset + fsSize;
  const sigOffset = verityOffset + hashSize;
  const end = signed ? sigOffset + SIGNATURE_PARTITION_SIZE : sigOffset;
  return { rootOffset, verityOffset, sigOffset, diskSize: roundUp(end + GPT_TAIL_BYTES, BLOCK) };
}

/** The GPT partitions of a DDI (root, root-verity, and root-verity-sig when signed). */
export function ddiPartitions(o: {
  arch: SystemdArch;
  seed: Buffer;
  rootHash: Buffer;
  fsSize: number;
  hashSize: number;
  signed: boolean;
}): DdiPartitionInfo[] {
  const types = partitionTypes(o.arch);
  const ids = rootHashUuids(o.rootHash);
  const l = ddiLayout(o.fsSize, o.hashSize, o.signed);
  const parts: DdiPartitionInfo[] = [
    {
      role: "root",
      uuid: ids.data,
      offset: l.rootOffset,
      size: o.fsSize,
      typeUuid: types.root,
      label: partitionLabel(o.arch, "root"),
    },
    {
      role: "root-verity",
      uuid: ids.verity,
      offset: l.verityOffset,
      size: o.hashSize,
      typeUuid: types["root-verity"],
      label: partitionLabel(o.arch, "root-verity"),
    },
  ];
  if (o.signed) {
    parts.push({
      role: "root-verity-sig",
      uuid: partitionUuidFromSeed(o.seed, types["root-verity-sig"]),
      offset: l.sigOffset,
      size: SIGNATURE_PARTITION_SIZE,
      typeUuid: types["root-verity-sig"],
      label: partitionLabel(o.arch, "root-verity-sig"),
    });
  }
  return parts;
}

export function gptLayout(seed: Buffer, diskSize: number, parts: readonly DdiPartitionInfo[]): GptLayout {
  return {
    diskUuid: diskUuid(seed),
    diskSize,
    firstUsable: FIRST_PARTITION_OFFSET,
    partitions: parts.map((p): GptPartition => ({
      typeUuid: p.typeUuid,
      uuid: p.uuid,
      offset: p.offset,
      size: p.size,
      attributes: GPT_FLAG_READ_ONLY,
      name: p.label,
    })),
  };
}

/** Write the partition table (both copies) for `parts` into an open disk image and set its size. */
export async function writeGpt(fh: FileHandle, layout: GptLayout): Promise<void> {
  const { head, tail } = renderGpt(layout);
  await writeAll(fh, head, 0);
  await fh.truncate(layout.diskSize);
  await writeAll(fh, tail, layout.diskSize - tail.length);
}

/** Write a DDI at `out`: the file system (copied unless it is already there), its hash tree, signature, GPT. */
export async function writeDdi(o: DdiWriteOptions): Promise<DdiWriteResult> {
  const fs = o.filesystem;
  if (fs.size <= 0 || fs.size % BLOCK !== 0) {
    throw new SysextError(
      "IMAGE_INVALID",
      `the file system image is ${fs.size} bytes, not a positive multiple of ${BLOCK}`,
      {
        hint: "file system images are padded to 4096 bytes by the backends; this is a bug if it happens",
      },
    );
  }
  const inPlace = fs.path === o.out;
  if (inPlace && fs.offset !== FIRST_PARTITION_OFFSET)
    throw new Error("an in-place file system must sit at 1 MiB");
  partitionTypes(o.arch); // refuse an architecture without DPS types before any work
  const fh = await open(o.out, inPlace ? "r+" : "w");
  try {
    if (!inPlace) await copyRegion(fs, fh, FIRST_PARTITION_OFFSET);
    // Both passes read the root partition on all cores, mostly from the page cache the backend just filled.
    const data: Region = { path: o.out, offset: FIRST_PARTITION_OFFSET, size: fs.size };
    const seed = o.seed ?? (await contentSeed(data));
    const params = verityParams(seed);
    const { tree, hashDevice } = await hashRegion(data, params);
    const signed = o.signer !== undefined;
    const parts = ddiPartitions({
      arch: o.arch,
      seed,
      rootHash: tree.rootHash,
      fsSize: fs.size,
      hashSize: hashDevice.length,
      signed,
    });
    const layout = ddiLayout(fs.size, hashDevice.length, signed);
    await writeAll(fh, hashDevice, layout.verityOffset);
    if (o.signer) {
      const p7 = signRootHash(tree.rootHash, o.signer);
      await writeAll(fh, signaturePartition(tree.rootHash, o.signer.certificate, p7), layout.sigOffset);
    }
    await writeGpt(fh, gptLayout(seed, layout.diskSize, parts));
    return {
      rootHash: tree.rootHash.toString("hex"),
      seed: seed.toString("hex"),
      signed,
      size: layout.diskSize,
      partitions: parts,
    };
  } finally {
    await fh.close();
  }
}

/** Size of a file, for callers that wrote a file system image and now wrap it. */
export async function fileSize(path: string): Promise<number> {
  return (await stat(path)).size;
}
