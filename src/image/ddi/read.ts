// Reading a DDI back: its GPT, which partition is which, the verity superblock and the signature partition.
import type { X509Certificate } from "node:crypto";
import { open, stat } from "node:fs/promises";
import type { SystemdArch } from "../../base/arch.js";
import { SysextError } from "../../errors.js";
import { GPT_HEAD_BYTES, GPT_TAIL_BYTES, parseGpt, type GptLayout, type GptPartition } from "./gpt.js";
import { issuerAndSerial, parsePkcs7 } from "./pkcs7.js";
import { parseSignaturePartition, type SignatureJson } from "./signature.js";
import { lookupPartitionType, SECTOR, type PartitionRole } from "./types.js";
import { decodeSuperblock, SUPERBLOCK_SIZE, type Superblock } from "./verity.js";

export interface DdiPartition extends GptPartition {
  readonly role: PartitionRole | undefined;
  readonly arch: SystemdArch | undefined;
}

export interface DdiSignatureInfo {
  readonly json: SignatureJson | undefined;
  /** Why the partition's content is not a usable signature, when it is not. */
  readonly problem: string | undefined;
  /** The certificate embedded in the PKCS#7 for its signer (informational: trust comes from the caller). */
  readonly embeddedSigner: X509Certificate | undefined;
}

export interface DdiInfo {
  readonly path: string;
  readonly size: number;
  readonly gpt: GptLayout;
  readonly gptProblems: readonly string[];
  readonly arch: SystemdArch | undefined;
  readonly partitions: readonly DdiPartition[];
  readonly root: DdiPartition | undefined;
  readonly verity: DdiPartition | undefined;
  readonly signature: DdiPartition | undefined;
  readonly superblock: Superblock | undefined;
  readonly signatureInfo: DdiSignatureInfo | undefined;
  /** The root hash the image declares: from its signature, else from the root/verity partition UUIDs. */
  readonly declaredRootHash: string | undefined;
}

/** Whether a file starts like a GPT disk image ("EFI PART" at byte 512). */
export async function isGptImage(path: string): Promise<boolean> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(8);
    const { bytesRead } = await fh.read(b, 0, 8, SECTOR);
    return bytesRead === 8 && b.toString("latin1") === "EFI PART";
  } finally {
    await fh.close();
  }
}

export async function readAt(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, "r");
  try {
    const b = Buffer.alloc(length);
    const { bytesRead } = await fh.read(b, 0, length, offset);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/** Parse a DDI's tables and metadata (no data is hashed here; see verifyImage). */
export async function readDdi(path: string): Promise<DdiInfo> {
  const size = (await stat(path)).size;
  const head = await readAt(path, 0, GPT_HEAD_BYTES);
  const tail = await readAt(path, Math.max(0, size - GPT_TAIL_BYTES), GPT_TAIL_BYTES);
  const { layout, problems } = parseGpt(head, tail, size);
  if (!layout) {
    throw new SysextError("IMAGE_INVALID", `${path} has no usable GPT: ${problems.join("; ")}`, {
      location: { file: path },
      hint: "this is not a DDI, or its partition table is damaged",
    });
  }
  const partitions = layout.partitions.map((p): DdiPartition => {
    const t = lookupPartitionType(p.typeUuid);
    return { ...p, role: t?.role, arch: t?.arch };
  });
  const gptProblems = [...problems];
  for (const p of partitions) {
    if (p.offset + p.size > size)
      gptProblems.push(`partition ${p.name || p.uuid} extends beyond the end of the file`);
  }
  const root = partitions.find((p) => p.role === "root");
  const arch = root?.arch;
  const pick = (role: PartitionRole) => partitions.find((p) => p.role === role && p.arch === arch);
  const verity = pick("root-verity");
  const signature = pick("root-verity-sig");
  const superblock = verity
    ? decodeSuperblock(await readAt(path, verity.offset, SUPERBLOCK_SIZE))
    : undefined;
  const signatureInfo = signature
    ? readSignature(await readAt(path, signature.offset, signature.size))
    : undefined;
  const fromUuids = root && verity ? `${root.uuid}${verity.uuid}`.replace(/-/g, "") : undefined;
  return {
    path,
    size,
    gpt: layout,
    gptProblems,
    arch,
    partitions,
    root,
    verity,
    signature,
    superblock,
    signatureInfo,
    declaredRootHash: signatureInfo?.json?.rootHash ?? fromUuids,
  };
}

function readSignature(data: Buffer): DdiSignatureInfo {
  const json = parseSignaturePartition(data);
  if (typeof json === "string") return { json: undefined, problem: json, embeddedSigner: undefined };
  let embeddedSigner: X509Certificate | undefined;
  try {
    const p = parsePkcs7(json.signature);
    const s = p.signers[0];
    embeddedSigner = s
      ? p.certificates.find((c) => {
          const ids = issuerAndSerial(c.raw);
          return ids.issuer.equals(s.issuer) && ids.serial.equals(s.serial);
        })
      : undefined;
  } catch (e) {
    return {
      json,
      problem: `the signature is not DER PKCS#7 (${(e as Error).message})`,
      embeddedSigner: undefined,
    };
  }
  return { json, problem: undefined, embeddedSigner };
}
