// CrAU payload writer (Flatcar update_engine format v1): 1 MiB chunks, parallel bzip2, signed, streamed.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, open, rm, writeFile, type FileHandle } from "node:fs/promises";
import { basename, join } from "node:path";
import { SysextError } from "../errors.js";
import { requireTool } from "../util/exec.js";
import { tempSibling, withAtomicOutputs } from "../util/fs.js";
import { removeOnSignal, sweepStaleOnce } from "../util/temp.js";
import type { SigningKey } from "./keys.js";
import { bzip2Batch, planBatches } from "./bzip2.js";
import { checkCrauImage, readExact } from "./image-io.js";
import { defaultWorkers, runOrdered } from "./pool.js";
import {
  BLOCK_SIZE,
  CHUNK_SIZE,
  DeltaArchiveManifest,
  encodeHeader,
  OP_REPLACE,
  OP_REPLACE_BZ,
  SPARSE_HOLE,
  u64,
} from "./proto.js";
import {
  encodeSignatures,
  loadSigningKeys,
  placeholderSignatures,
  signDigest,
  type SigningKeyInput,
} from "./sign.js";

export interface PayloadProgress {
  readonly bytesDone: number;
  readonly bytesTotal: number;
}

export interface CreatePayloadOptions {
  /** The raw extension image; its size must be a multiple of 4096. */
  readonly image: string;
  /**
   * RSA private keys in signing order (throwaway key first, the real key last): each a file path, `env:NAME`,
   * `-` (standard input), PEM text given by value (util/secret), or a key loaded with loadSigningKeys.
   */
  readonly keys: readonly SigningKeyInput[];
  readonly outDir: string;
  /** Payload base name; default: the image's file name minus `.raw`. Output: `<name>.gz`. */
  readonly name?: string;
  /** Parallel bzip2 processes; default os.availableParallelism(). */
  readonly workers?: number;
  readonly onProgress?: (p: PayloadProgress) => void;
}

export interface PayloadResult {
  /** Path of the payload `<name>.gz`. */
  readonly file: string;
  /** Path of `<name>.gz.sha256` (sha256sum format). */
  readonly sha256File: string;
  readonly size: number;
  readonly sha256: string;
  readonly sha1Base64: string;
  readonly sha256Base64: string;
  /** SHA-256 of each signing key's SPKI DER (hex), in signature order. */
  readonly keyFingerprints: string[];
  /** The image the payload reassembles to (`new_partition_info`). */
  readonly partition: { readonly size: number; readonly sha256: string };
  readonly operations: { readonly replace: number; readonly replaceBz: number };
}

interface Op {
  readonly type: number;
  readonly offset: number;
  readonly length: number;
  readonly startBlock: number;
  readonly blocks: number;
  readonly hash: Buffer;
}

/** Base name of an image without its `.raw` suffix. */
export function imageBaseName(image: string): string {
  return basename(image).replace(/\.raw$/, "");
}

/** Write a signed CrAU payload `<name>.gz` and `<name>.gz.sha256` for a raw image. */
export async function createPayload(options: CreatePayloadOptions): Promise<PayloadResult> {
  const size = await checkCrauImage(options.image);
  const keys = await loadSigningKeys(options.keys);
  const bin = await requireTool("bzip2");
  const name = options.name ?? imageBaseName(options.image);
  if (!/^[A-Za-z0-9][A-Za-z0-9._+-]*$/.test(name)) {
    throw new SysextError("USAGE", `payload name ${JSON.stringify(name)} is not a plain file name`, {
      location: { field: "name" },
      hint: "use letters, digits, '.', '_', '+' and '-' (the extension name, e.g. oem-azure)",
    });
  }
  const outFile = join(options.outDir, `${name}.gz`);
  const blobsPath = tempSibling(`${outFile}.blobs`);
  const imageHash = createHash("sha256");
  const ops: Op[] = [];
  let blobsSize = 0;

  const src = await open(options.image, "r");
  const cleanup: string[] = [blobsPath];
  const untrack = [removeOnSignal(blobsPath)];
  let blobs: FileHandle | undefined;
  try {
    await mkdir(options.outDir, { recursive: true });
    await sweepStaleOnce(options.outDir);
    blobs = await open(blobsPath, "w");
    const out = blobs;
    const count = Math.ceil(size / CHUNK_SIZE);
    const workers = options.workers ?? defaultWorkers();
    const batches = planBatches(count, workers);
    const chunkDir = await mkdtemp(`${blobsPath}-chunks-`);
    cleanup.push(chunkDir);
    untrack.push(removeOnSignal(chunkDir));
    await runOrdered<Buffer[], Buffer[]>({
      count: batches.length,
      workers,
      produce: async (b) => {
        const raws: Buffer[] = [];
        const [start, end] = batches[b]!;
        for (let i = start; i < end; i++) {
          const length = Math.min(CHUNK_SIZE, size - i * CHUNK_SIZE);
          const chunk = await readExact(src, options.image, i * CHUNK_SIZE, length);
          imageHash.update(chunk);
          raws.push(chunk);
        }
        return raws;
      },
      work: (raws, b) => bzip2Batch(bin, chunkDir, b, raws),
      consume: async (bzs, raws, b) => {
        for (let k = 0; k < raws.length; k++) {
          const i = batches[b]![0] + k;
          const raw = raws[k]!;
          const bz = bzs[k]!;
          const useBz = bz.length < raw.length;
          const blob = useBz ? bz : raw;
          await out.write(blob, 0, blob.length, blobsSize);
          ops.push({
            type: useBz ? OP_REPLACE_BZ : OP_REPLACE,
            offset: blobsSize,
            length: blob.length,
            startBlock: (i * CHUNK_SIZE) / BLOCK_SIZE,
            blocks: raw.length / BLOCK_SIZE,
            hash: createHash("sha256").update(blob).digest(),
          });
          blobsSize += blob.length;
          options.onProgress?.({ bytesDone: Math.min(size, (i + 1) * CHUNK_SIZE), bytesTotal: size });
        }
      },
    });
    await out.close();
    blobs = undefined;
    if (blobsSize > 0xffffffff) {
      throw new SysextError("PAYLOAD_INVALID", `compressed data of ${options.image} exceeds 4 GiB`, {
        hint: "CrAU v1 stores 32-bit data offsets; split the image or make it smaller",
        location: { file: options.image },
      });
    }
    const partition = { size, sha256: imageHash.digest() };
    return await writeSigned(options, outFile, blobsPath, blobsSize, ops, keys, partition);
  } finally {
    await blobs?.close().catch(() => undefined);
    await src.close().catch(() => undefined);
    for (const p of cleanup) await rm(p, { recursive: true, force: true });
    for (const u of untrack) u();
  }
}

async function writeSigned(
  options: CreatePayloadOptions,
  outFile: string,
  blobsPath: string,
  blobsSize: number,
  ops: readonly Op[],
  keys: readonly SigningKey[],
  partition: { size: number; sha256: Buffer },
): Promise<PayloadResult> {
  const placeholder = placeholderSignatures(keys);
  const manifest = Buffer.from(
    DeltaArchiveManifest.encode(
      DeltaArchiveManifest.fromObject({
        partition_operations: ops.map((op) => ({
          type: op.type,
          data_offset: op.offset,
          data_length: op.length,
          dst_extents: [{ start_block: u64(op.startBlock), num_blocks: u64(op.blocks) }],
          data_sha256_hash: op.hash,
        })),
        noop_operations: [
          {
            type: OP_REPLACE,
            data_offset: blobsSize,
            data_length: placeholder.length,
            dst_extents: [
              { start_block: u64(SPARSE_HOLE), num_blocks: u64(Math.ceil(placeholder.length / BLOCK_SIZE)) },
            ],
          },
        ],
        block_size: BLOCK_SIZE,
        signatures_offset: u64(blobsSize),
        signatures_size: u64(placeholder.length),
        new_partition_info: { size: u64(partition.size), hash: partition.sha256 },
      }),
    ).finish(),
  );
  const whole256 = createHash("sha256");
  const whole1 = createHash("sha1");
  let total = 0;
  const sha256File = `${outFile}.sha256`;
  // The payload and its checksum are published together, the checksum last (see withAtomicOutputs).
  await withAtomicOutputs([outFile, sha256File], async ([tmp, sideTmp]) => {
    const fh = await open(tmp!, "w", 0o644);
    try {
      const emit = async (buf: Buffer) => {
        whole256.update(buf);
        whole1.update(buf);
        await fh.write(buf, 0, buf.length, total);
        total += buf.length;
      };
      await emit(encodeHeader(manifest.length));
      await emit(manifest);
      const blobs = await open(blobsPath, "r");
      try {
        for (let pos = 0; pos < blobsSize; pos += CHUNK_SIZE) {
          await emit(await readExact(blobs, blobsPath, pos, Math.min(CHUNK_SIZE, blobsSize - pos)));
        }
      } finally {
        await blobs.close();
      }
      // The signed range ends here: sign its SHA-256 (one hash pass serves the signatures and the file hash).
      const signedDigest = whole256.copy().digest();
      const real = encodeSignatures(
        keys,
        keys.map((k) => signDigest(k, signedDigest)),
      );
      if (real.length !== placeholder.length) {
        throw new SysextError("KEY_INVALID", "a signature's length differs from the key size", {
          hint: "use plain RSA keys (2048 or 4096 bits)",
        });
      }
      await emit(real);
    } finally {
      await fh.close();
    }
    const side = `${whole256.copy().digest("hex")}  ${basename(outFile)}\n`;
    await writeFile(sideTmp!, side, { mode: 0o644 });
  });
  const sha256 = whole256.digest();
  return {
    file: outFile,
    sha256File,
    size: total,
    sha256: sha256.toString("hex"),
    sha256Base64: sha256.toString("base64"),
    sha1Base64: whole1.digest("base64"),
    keyFingerprints: keys.map((k) => k.fingerprint),
    partition: { size: partition.size, sha256: partition.sha256.toString("hex") },
    operations: {
      replace: ops.filter((o) => o.type === OP_REPLACE).length,
      replaceBz: ops.filter((o) => o.type === OP_REPLACE_BZ).length,
    },
  };
}
