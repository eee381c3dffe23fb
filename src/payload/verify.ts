// CrAU payload verifier: header, manifest, blob hashes, signatures, reassembly against new_partition_info.
import { createHash } from "node:crypto";
import { open, readFile, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { digestFile } from "../util/fs.js";
import { makeWorkDir } from "../util/temp.js";
import { readRange } from "./image-io.js";
import {
  BLOCK_SIZE,
  CRAU_MAGIC,
  DeltaArchiveManifest,
  HEADER_SIZE,
  OP_REPLACE,
  SPARSE_HOLE,
  toBigInt,
} from "./proto.js";
import { applyOperations, bytes, list, MAX_BLOB, num, type Msg } from "./reassemble.js";
import { checkSignatures, loadTrust, type SignatureReport, type Trust, type TrustOptions } from "./trust.js";

export type { SignatureReport } from "./trust.js";

/**
 * A payload is valid only when its version-2 signature (the one update_engine checks) verifies with the
 * trusted key: `trustedKey`, else the last of `publicKeys`. Without either, verifyPayload throws a USAGE
 * error unless `noSignatureCheck` is set (the report then says signatures were not checked).
 */
export interface VerifyPayloadOptions extends TrustOptions {
  /** The raw image the payload should reassemble to. */
  readonly expectedImage?: string;
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly file: string;
  /** Each failed check, as a sentence naming what is wrong. */
  readonly failures: string[];
  /** Things that hold but deserve attention (e.g. signatures not checked). */
  readonly warnings: string[];
  readonly signatures: SignatureReport[];
  /** Whether signatures were checked, and against which trusted key (its path or source, never its content). */
  readonly signatureCheck: { readonly checked: boolean; readonly trustedKey?: string };
  readonly operations?: { readonly replace: number; readonly replaceBz: number };
  readonly partition?: { readonly size: number; readonly sha256: string };
}

async function hashRange(fh: FileHandle, end: number): Promise<Buffer> {
  const h = createHash("sha256");
  for (let pos = 0; pos < end; pos += 1 << 20) {
    const b = await readRange(fh, pos, Math.min(1 << 20, end - pos));
    if (!b) break;
    h.update(b);
  }
  return h.digest();
}

/**
 * Verify a CrAU payload the way update_engine and ue-rs consume it; never throws for a bad payload (only
 * for unusable options: no trusted key, an unreadable key).
 */
export async function verifyPayload(file: string, options: VerifyPayloadOptions = {}): Promise<VerifyReport> {
  const trust = await loadTrust(options);
  const failures: string[] = [];
  const warnings: string[] = [];
  const signatures: SignatureReport[] = [];
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => ({
    ok: failures.length === 0,
    file,
    failures,
    warnings,
    signatures,
    signatureCheck: trust.trusted ? { checked: true, trustedKey: trust.trusted.name } : { checked: false },
    ...extra,
  });
  let fh: FileHandle;
  try {
    fh = await open(file, "r");
  } catch (e) {
    failures.push(`cannot open ${file}: ${(e as Error).message}`);
    return report();
  }
  let work: Awaited<ReturnType<typeof makeWorkDir>> | undefined;
  try {
    const fileSize = (await fh.stat()).size;
    const header = await readRange(fh, 0, HEADER_SIZE);
    if (!header)
      return (failures.push(`file is ${fileSize} bytes, shorter than the 20-byte header`), report());
    if (header.toString("latin1", 0, 4) !== CRAU_MAGIC)
      failures.push(`bad magic ${JSON.stringify(header.toString("latin1", 0, 4))}, expected "CrAU"`);
    const version = header.readBigUInt64BE(4);
    if (version !== 1n) failures.push(`file format version ${version}, expected 1`);
    const manifestSize = Number(header.readBigUInt64BE(12));
    if (failures.length > 0) return report();
    const manifestBytes =
      HEADER_SIZE + manifestSize <= fileSize ? await readRange(fh, HEADER_SIZE, manifestSize) : undefined;
    if (!manifestBytes)
      return (
        failures.push(`manifest of ${manifestSize} bytes extends past the end of the file (truncated?)`),
        report()
      );
    let m: Msg;
    try {
      m = DeltaArchiveManifest.toObject(DeltaArchiveManifest.decode(manifestBytes), {
        defaults: false,
      }) as Msg;
    } catch (e) {
      failures.push(`manifest does not parse: ${(e as Error).message}`);
      return report();
    }
    const dataStart = HEADER_SIZE + manifestSize;
    const blockSize = num(m.block_size) ?? BLOCK_SIZE;
    if (blockSize !== BLOCK_SIZE) failures.push(`block_size is ${blockSize}, update_engine requires 4096`);
    const signedOffset = num(m.signatures_offset);
    const sigSize = num(m.signatures_size);
    // Unsigned: still check the operations, taking the rest of the file as the blob area.
    const sigOffset = signedOffset ?? fileSize - dataStart;
    if (signedOffset === undefined || sigSize === undefined) {
      failures.push("signatures_offset/signatures_size missing: the payload is unsigned");
    } else {
      await checkSigned(fh, m, { fileSize, dataStart, sigOffset, sigSize, blockSize }, trust, {
        failures,
        warnings,
        signatures,
      });
    }

    // Operations: blob hashes and reassembly.
    const info = m.new_partition_info as Msg | undefined;
    const partSize = num(info?.size);
    const partHash = bytes(info?.hash);
    if (partSize === undefined || !partHash) failures.push("new_partition_info (size, hash) missing");
    work = await makeWorkDir("verify");
    const imagePath = join(work.dir, "image.raw");
    const out = await open(imagePath, "w");
    let counts: { replace: number; replaceBz: number };
    try {
      const ops = list(m.partition_operations);
      counts = await applyOperations(ops, { fh, out, dataStart, sigOffset, blockSize }, failures);
      if (partSize !== undefined) await out.truncate(partSize);
    } finally {
      await out.close();
    }
    const got = await digestFile(imagePath);
    const partition = partHash ? { size: partSize ?? 0, sha256: partHash.toString("hex") } : undefined;
    if (partition && (got.sha256 !== partition.sha256 || got.size !== partition.size)) {
      failures.push(
        `reassembled image (${got.size} bytes, sha256 ${got.sha256}) differs from new_partition_info (${partition.size} bytes, sha256 ${partition.sha256})`,
      );
    }
    if (options.expectedImage) {
      const exp = await digestFile(options.expectedImage).catch((e: unknown) => e as Error);
      if (exp instanceof Error) failures.push(`cannot compare with ${options.expectedImage}: ${exp.message}`);
      else if (exp.sha256 !== got.sha256 || exp.size !== got.size) {
        failures.push(`reassembled image differs from ${options.expectedImage}`);
      }
    }
    await checkSidecar(file, failures);
    return report({ operations: counts, ...(partition ? { partition } : {}) });
  } finally {
    await fh.close();
    await work?.remove();
  }
}

/**
 * `<payload>.sha256` beside the payload, when present, must name this payload's SHA-256: `payload` writes
 * both and renames the checksum last, so a mismatch means an interrupted (incomplete) publish, not a valid pair.
 */
async function checkSidecar(file: string, failures: string[]): Promise<void> {
  const side = await readFile(`${file}.sha256`, "utf8").catch((e: NodeJS.ErrnoException) =>
    e.code === "ENOENT" ? undefined : "",
  );
  if (side === undefined) return;
  const d = await digestFile(file);
  if (side !== `${d.sha256}  ${basename(file)}\n`) {
    failures.push(
      `incomplete: ${basename(file)}.sha256 does not hold this payload's SHA-256 ${d.sha256} (an interrupted write; run sysextkit payload again)`,
    );
  }
}

/** Size, signature noop operation and signatures of a payload that names its signature blob. */
async function checkSigned(
  fh: FileHandle,
  m: Msg,
  at: { fileSize: number; dataStart: number; sigOffset: number; sigSize: number; blockSize: number },
  trust: Trust,
  out: { failures: string[]; warnings: string[]; signatures: SignatureReport[] },
): Promise<void> {
  const { fileSize, dataStart, sigOffset, sigSize } = at;
  const expectedSize = dataStart + sigOffset + sigSize;
  if (fileSize !== expectedSize) {
    out.failures.push(
      `file is ${fileSize} bytes but header+manifest+blobs+signatures make ${expectedSize} (truncated or extended)`,
    );
  }
  checkSignatureOp(m, sigOffset, sigSize, at.blockSize, out.failures);
  if (expectedSize > fileSize) out.failures.push("signature blob lies past the end of the file");
  else if (sigSize > MAX_BLOB) out.failures.push(`signatures_size ${sigSize} is implausibly large`);
  else {
    const sigBlob = (await readRange(fh, dataStart + sigOffset, sigSize))!;
    const digest = await hashRange(fh, dataStart + sigOffset);
    checkSignatures(sigBlob, digest, trust, out);
  }
}

/** The one noop operation that describes the signature blob (payload_signer's AddSignatureOp). */
function checkSignatureOp(m: Msg, sigOffset: number, sigSize: number, blockSize: number, failures: string[]) {
  const noops = list(m.noop_operations);
  const sigOp = noops[0];
  const sigExt = list(sigOp?.dst_extents)[0];
  if (
    noops.length !== 1 ||
    !sigOp ||
    num(sigOp.type) !== OP_REPLACE ||
    num(sigOp.data_offset) !== sigOffset ||
    num(sigOp.data_length) !== sigSize ||
    list(sigOp.dst_extents).length !== 1 ||
    !sigExt ||
    toBigInt(sigExt.start_block) !== SPARSE_HOLE ||
    num(sigExt.num_blocks) !== Math.ceil(sigSize / blockSize)
  ) {
    failures.push("the signature noop operation is missing or does not describe the signature blob");
  }
}
