// What `inspect` shows of a DDI or a sidecar image: partitions, root hash, signer; and its file system extracted.
import { open } from "node:fs/promises";
import { readFile } from "node:fs/promises";
import { exists } from "../../util/fs.js";
import { sidecarPaths } from "./index.js";
import { parsePkcs7 } from "./pkcs7.js";
import { readDdi } from "./read.js";
import { certificateFingerprint } from "./signature.js";
import { readRegion, writeAll } from "./stream.js";

export interface VeritySummary {
  readonly kind: "ddi" | "sidecar";
  readonly rootHash: string | undefined;
  readonly signed: boolean;
  /** Subject and SHA-256 fingerprint of the certificate carried with the signature (not a trust decision). */
  readonly signer: string | undefined;
  readonly certificateFingerprint: string | undefined;
  readonly problems: readonly string[];
  readonly diskUuid?: string;
  readonly arch?: string;
  readonly partitions?: ReadonlyArray<{
    readonly role: string;
    readonly label: string;
    readonly typeUuid: string;
    readonly uuid: string;
    readonly offset: number;
    readonly size: number;
  }>;
  readonly verity?: { readonly dataBlocks: number; readonly salt: string; readonly uuid: string };
  readonly files?: { readonly verity: string; readonly roothash: string; readonly signature?: string };
}

/** Summarise a DDI and copy its root partition (the file system) to `fsOut`. */
export async function describeDdi(path: string, fsOut: string): Promise<VeritySummary> {
  const d = await readDdi(path);
  const problems = [...d.gptProblems];
  if (d.root) {
    const fh = await open(fsOut, "w");
    try {
      await readRegion({ path, offset: d.root.offset, size: d.root.size }, (chunk, pos) =>
        writeAll(fh, chunk, pos),
      );
    } finally {
      await fh.close();
    }
  } else problems.push("no root partition of a known architecture");
  const si = d.signatureInfo;
  if (si?.problem) problems.push(`signature partition: ${si.problem}`);
  return {
    kind: "ddi",
    rootHash: d.declaredRootHash,
    signed: d.signature !== undefined,
    signer: si?.embeddedSigner?.subject.replace(/\n/g, ", "),
    certificateFingerprint: si?.json?.certificateFingerprint,
    problems,
    diskUuid: d.gpt.diskUuid,
    ...(d.arch ? { arch: d.arch } : {}),
    partitions: d.partitions.map((p) => ({
      role: p.role ?? "unknown",
      label: p.name,
      typeUuid: p.typeUuid,
      uuid: p.uuid,
      offset: p.offset,
      size: p.size,
    })),
    ...(d.superblock
      ? {
          verity: {
            dataBlocks: d.superblock.dataBlocks,
            salt: d.superblock.salt.toString("hex"),
            uuid: d.superblock.uuid,
          },
        }
      : {}),
  };
}

/** Summarise the verity sidecar files next to a plain image, if it has any. */
export async function describeSidecars(image: string): Promise<VeritySummary | undefined> {
  const s = sidecarPaths(image);
  if (!(await exists(s.verity)) && !(await exists(s.roothash))) return undefined;
  const problems: string[] = [];
  const text = (await readFile(s.roothash, "latin1").catch(() => "")).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text))
    problems.push(`${s.roothash} is missing or not a 64-digit hex root hash`);
  let signer: string | undefined;
  let fingerprint: string | undefined;
  const signed = await exists(s.signature);
  if (signed) {
    try {
      const c = parsePkcs7(await readFile(s.signature)).certificates[0];
      signer = c?.subject.replace(/\n/g, ", ");
      fingerprint = c ? certificateFingerprint(c) : undefined;
    } catch (e) {
      problems.push(`${s.signature} is not DER PKCS#7 (${(e as Error).message})`);
    }
  }
  return {
    kind: "sidecar",
    rootHash: text ? text.toLowerCase() : undefined,
    signed,
    signer,
    certificateFingerprint: fingerprint,
    problems,
    files: { verity: s.verity, roothash: s.roothash, ...(signed ? { signature: s.signature } : {}) },
  };
}
