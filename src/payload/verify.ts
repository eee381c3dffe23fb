// CrAU payload verifier: header, manifest, blob hashes, signatures, reassembly against new_partition_info.
import { constants, createHash, publicDecrypt } from "node:crypto";
import { mkdtemp, open, rm, type FileHandle } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { requireTool } from "../util/exec.js";
import { digestFile } from "../util/fs.js";
import { loadVerifyKey, type VerifyKey } from "./keys.js";
import { DeltaArchiveManifest, SignaturesMessage, toBigInt } from "./proto.js";

export interface VerifyPayloadOptions {
  /** PEM public keys (or unencrypted private keys). Without keys signatures are listed but not checked. */
  readonly publicKeys?: readonly string[];
  /** The raw image the payload should reassemble to. */
  readonly expectedImage?: string;
}

export interface SignatureReport {
  readonly version: number | undefined;
  readonly size: number;
  /** Key files whose public key validates this signature. */
  readonly validKeys: string[];
}

export interface VerifyReport {
  readonly ok: boolean;
  readonly file: string;
  /** Each failed check, as a sentence naming what is wrong. */
  readonly failures: string[];
  /** Things that hold but deserve attention (e.g. signatures not checked). */
  readonly warnings: string[];
  readonly signatures: SignatureReport[];
  readonly operations?: { readonly replace: number; readonly replaceBz: number };
  readonly partition?: { readonly size: number; readonly sha256: string };
}

const MAGIC = Buffer.from("CrAU", "latin1");
const MAX_BLOB = 64 << 20;
/** ASN.1 DigestInfo prefix for SHA-256 (RFC 8017 section 9.2 note 1). */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");
const HOLE = (1n << 64n) - 1n;

async function readAt(fh: FileHandle, pos: number, len: number): Promise<Buffer | undefined> {
  const buf = Buffer.alloc(len);
  let got = 0;
  while (got < len) {
    const { bytesRead } = await fh.read(buf, got, len - got, pos + got);
    if (bytesRead === 0) return undefined;
    got += bytesRead;
  }
  return buf;
}

async function hashRange(fh: FileHandle, end: number): Promise<Buffer> {
  const h = createHash("sha256");
  for (let pos = 0; pos < end; pos += 1 << 20) {
    const b = await readAt(fh, pos, Math.min(1 << 20, end - pos));
    if (!b) break;
    h.update(b);
  }
  return h.digest();
}

/** Whether an RSASSA-PKCS1-v1_5 signature carries exactly DigestInfo(SHA-256, digest). */
function signatureMatches(sig: Buffer, digest: Buffer, key: VerifyKey): boolean {
  try {
    const recovered = publicDecrypt({ key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig);
    return recovered.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
  } catch {
    return false;
  }
}

type Msg = Record<string, unknown>;
const num = (v: unknown): number | undefined => {
  const b = toBigInt(v);
  return b === undefined ? undefined : Number(b);
};

/** Verify a CrAU payload the way update_engine and ue-rs consume it; never throws for a bad payload. */
export async function verifyPayload(file: string, options: VerifyPayloadOptions = {}): Promise<VerifyReport> {
  const keys: VerifyKey[] = [];
  for (const k of options.publicKeys ?? []) keys.push(await loadVerifyKey(k));
  const failures: string[] = [];
  const warnings: string[] = [];
  const signatures: SignatureReport[] = [];
  const report = (extra: Partial<VerifyReport> = {}): VerifyReport => ({
    ok: failures.length === 0,
    file,
    failures,
    warnings,
    signatures,
    ...extra,
  });
  let fh: FileHandle;
  try {
    fh = await open(file, "r");
  } catch (e) {
    failures.push(`cannot open ${file}: ${(e as Error).message}`);
    return report();
  }
  let work: string | undefined;
  try {
    const fileSize = (await fh.stat()).size;
    const header = await readAt(fh, 0, 20);
    if (!header)
      return (failures.push(`file is ${fileSize} bytes, shorter than the 20-byte header`), report());
    if (!header.subarray(0, 4).equals(MAGIC))
      failures.push(`bad magic ${JSON.stringify(header.toString("latin1", 0, 4))}, expected "CrAU"`);
    const version = header.readBigUInt64BE(4);
    if (version !== 1n) failures.push(`file format version ${version}, expected 1`);
    const manifestSize = Number(header.readBigUInt64BE(12));
    if (failures.length > 0) return report();
    const manifestBytes = 20 + manifestSize <= fileSize ? await readAt(fh, 20, manifestSize) : undefined;
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
    const dataStart = 20 + manifestSize;
    const blockSize = num(m.block_size) ?? 4096;
    if (blockSize !== 4096) failures.push(`block_size is ${blockSize}, update_engine requires 4096`);
    const sigOffset = num(m.signatures_offset);
    const sigSize = num(m.signatures_size);
    if (sigOffset === undefined || sigSize === undefined) {
      failures.push("signatures_offset/signatures_size missing: the payload is unsigned");
      return report();
    }
    const expectedSize = dataStart + sigOffset + sigSize;
    if (fileSize !== expectedSize) {
      failures.push(
        `file is ${fileSize} bytes but header+manifest+blobs+signatures make ${expectedSize} (truncated or extended)`,
      );
    }
    const noops = (m.noop_operations as Msg[] | undefined) ?? [];
    const sigOp = noops[0];
    const sigExt = ((sigOp?.dst_extents as Msg[] | undefined) ?? [])[0];
    if (
      noops.length !== 1 ||
      !sigOp ||
      num(sigOp.type) !== 0 ||
      num(sigOp.data_offset) !== sigOffset ||
      num(sigOp.data_length) !== sigSize ||
      !sigExt ||
      toBigInt(sigExt.start_block) !== HOLE ||
      num(sigExt.num_blocks) !== Math.ceil(sigSize / blockSize)
    ) {
      failures.push("the signature noop operation is missing or does not describe the signature blob");
    }

    // Signatures over [0, dataStart + sigOffset).
    const sigBlob = await readAt(fh, dataStart + sigOffset, sigSize);
    if (!sigBlob) failures.push("signature blob lies past the end of the file");
    else {
      let sigs: Msg[] = [];
      try {
        sigs =
          (SignaturesMessage.toObject(SignaturesMessage.decode(sigBlob)).signatures as Msg[] | undefined) ??
          [];
      } catch (e) {
        failures.push(`Signatures message does not parse: ${(e as Error).message}`);
      }
      if (sigs.length === 0) failures.push("the Signatures message holds no signature");
      const digest = await hashRange(fh, Math.min(fileSize, dataStart + sigOffset));
      for (const s of sigs) {
        const data = Buffer.from((s.data as Uint8Array | undefined) ?? []);
        const valid = keys.filter((k) => signatureMatches(data, digest, k)).map((k) => k.file);
        signatures.push({ version: num(s.version), size: data.length, validKeys: valid });
      }
      if (keys.length === 0) warnings.push("no public key given: signatures were not checked");
      else if (!signatures.some((s) => s.validKeys.length > 0)) {
        failures.push(`no signature verifies with the given key(s): ${keys.map((k) => k.file).join(", ")}`);
      } else if (!signatures.some((s) => s.version === 2 && s.validKeys.length > 0)) {
        warnings.push(
          "no valid version-2 signature: update_engine (C++) checks only version 2; ue-rs accepts any",
        );
      }
    }

    // Operations: blob hashes and reassembly.
    const info = m.new_partition_info as Msg | undefined;
    const partSize = num(info?.size);
    const partHash = info?.hash ? Buffer.from(info.hash as Uint8Array) : undefined;
    if (partSize === undefined || !partHash) failures.push("new_partition_info (size, hash) missing");
    work = await mkdtemp(join(tmpdir(), "sysextkit-verify-"));
    const imagePath = join(work, "image.raw");
    const out = await open(imagePath, "w");
    const counts = { replace: 0, replaceBz: 0 };
    try {
      const ops = (m.partition_operations as Msg[] | undefined) ?? [];
      for (const [i, op] of ops.entries()) {
        const type = num(op.type);
        const off = num(op.data_offset) ?? 0;
        const len = num(op.data_length) ?? 0;
        if (type !== 0 && type !== 1) {
          failures.push(`operation ${i}: type ${type} is not REPLACE or REPLACE_BZ (not a full payload)`);
          continue;
        }
        if (off + len > sigOffset || len > MAX_BLOB) {
          failures.push(`operation ${i}: data [${off}, ${off + len}) lies outside the blob area`);
          continue;
        }
        const blob = await readAt(fh, dataStart + off, len);
        if (!blob) {
          failures.push(`operation ${i}: data lies past the end of the file`);
          continue;
        }
        const want = op.data_sha256_hash ? Buffer.from(op.data_sha256_hash as Uint8Array) : undefined;
        if (!want || want.length !== 32) failures.push(`operation ${i}: data_sha256_hash missing`);
        else if (!createHash("sha256").update(blob).digest().equals(want)) {
          failures.push(`operation ${i}: blob SHA-256 does not match data_sha256_hash`);
        }
        let data = blob;
        if (type === 1) {
          counts.replaceBz++;
          try {
            const r = await execa(await requireTool("bzip2"), ["-d", "-c"], {
              input: blob,
              encoding: "buffer",
            });
            data = Buffer.from(r.stdout);
          } catch {
            failures.push(`operation ${i}: REPLACE_BZ data does not decompress`);
            continue;
          }
        } else counts.replace++;
        let pos = 0;
        for (const ext of (op.dst_extents as Msg[] | undefined) ?? []) {
          const start = toBigInt(ext.start_block) ?? 0n;
          const bytes = (num(ext.num_blocks) ?? 0) * blockSize;
          if (start === HOLE) continue;
          const piece = data.subarray(pos, pos + bytes);
          await out.write(piece, 0, piece.length, Number(start) * blockSize);
          pos += bytes;
        }
        if (pos < data.length)
          failures.push(`operation ${i}: ${data.length - pos} bytes of data beyond its extents`);
      }
      if (partSize !== undefined) await out.truncate(partSize);
    } finally {
      await out.close();
    }
    const got = await digestFile(imagePath);
    const partition = partHash ? { size: partSize ?? 0, sha256: partHash.toString("hex") } : undefined;
    if (partition && (got.sha256 !== partition.sha256 || got.size !== partition.size)) {
      failures.push(
        `reassembled image (${got.size} bytes, sha256 ${got.sha256}) differs from new_partition_info`,
      );
    }
    if (options.expectedImage) {
      const exp = await digestFile(options.expectedImage);
      if (exp.sha256 !== got.sha256 || exp.size !== got.size) {
        failures.push(`reassembled image differs from ${options.expectedImage}`);
      }
    }
    return report({ operations: counts, ...(partition ? { partition } : {}) });
  } finally {
    await fh.close();
    if (work) await rm(work, { recursive: true, force: true });
  }
}
