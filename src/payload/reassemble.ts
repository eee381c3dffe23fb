// Reassembling a full CrAU payload: each partition operation checked as update_engine and ue-rs apply it.
import { createHash } from "node:crypto";
import type { FileHandle } from "node:fs/promises";
import { requireTool, runBinary } from "../util/exec.js";
import { readRange } from "./image-io.js";
import { OP_REPLACE, OP_REPLACE_BZ, SPARSE_HOLE, toBigInt } from "./proto.js";

/** Largest blob one operation (or the signature blob) may carry; full payloads use 1 MiB chunks. */
export const MAX_BLOB = 64 << 20;

/** A decoded protobuf message (protobufjs toObject without defaults). */
export type Msg = Record<string, unknown>;
export const num = (v: unknown): number | undefined => {
  const b = toBigInt(v);
  return b === undefined ? undefined : Number(b);
};
export const list = (v: unknown): Msg[] => (v as Msg[] | undefined) ?? [];
export const bytes = (v: unknown): Buffer | undefined => (v ? Buffer.from(v as Uint8Array) : undefined);

export interface OpContext {
  readonly fh: FileHandle;
  readonly out: FileHandle;
  readonly dataStart: number;
  readonly sigOffset: number;
  readonly blockSize: number;
}

/**
 * Check every partition operation as update_engine and ue-rs apply it (type, contiguous data in operation
 * order, blob SHA-256, exactly one destination extent) and write its data into the reassembled image.
 */
export async function applyOperations(
  ops: readonly Msg[],
  c: OpContext,
  failures: string[],
): Promise<{ replace: number; replaceBz: number }> {
  const counts = { replace: 0, replaceBz: 0 };
  let expectedOffset = 0;
  for (const [i, op] of ops.entries()) {
    const type = num(op.type);
    const off = num(op.data_offset) ?? 0;
    const len = num(op.data_length) ?? 0;
    if (len > 0 && off !== expectedOffset) {
      failures.push(
        `operation ${i}: data_offset ${off}, expected ${expectedOffset} (update_engine reads blobs contiguously in operation order)`,
      );
    }
    expectedOffset += len;
    if (type !== OP_REPLACE && type !== OP_REPLACE_BZ) {
      failures.push(`operation ${i}: type ${type} is not REPLACE or REPLACE_BZ (not a full payload)`);
      continue;
    }
    if (off + len > c.sigOffset || len > MAX_BLOB) {
      failures.push(`operation ${i}: data [${off}, ${off + len}) lies outside the blob area`);
      continue;
    }
    const blob = await readRange(c.fh, c.dataStart + off, len);
    if (!blob) {
      failures.push(`operation ${i}: data lies past the end of the file`);
      continue;
    }
    const want = bytes(op.data_sha256_hash);
    if (!want || want.length !== 32) failures.push(`operation ${i}: data_sha256_hash missing`);
    else if (!createHash("sha256").update(blob).digest().equals(want)) {
      failures.push(`operation ${i}: blob SHA-256 does not match data_sha256_hash`);
    }
    let data = blob;
    if (type === OP_REPLACE_BZ) {
      counts.replaceBz++;
      try {
        data = await runBinary(await requireTool("bzip2"), ["-d", "-c"], blob);
      } catch {
        failures.push(`operation ${i}: REPLACE_BZ data does not decompress`);
        continue;
      }
    } else counts.replace++;
    const extents = list(op.dst_extents);
    if (extents.length !== 1) {
      failures.push(`operation ${i}: ${extents.length} dst_extents; ue-rs requires exactly one`);
    }
    let pos = 0;
    for (const ext of extents) {
      const start = toBigInt(ext.start_block) ?? 0n;
      const extBytes = (num(ext.num_blocks) ?? 0) * c.blockSize;
      if (start === SPARSE_HOLE) continue;
      const piece = data.subarray(pos, pos + extBytes);
      await c.out.write(piece, 0, piece.length, Number(start) * c.blockSize);
      pos += extBytes;
    }
    if (pos < data.length)
      failures.push(`operation ${i}: ${data.length - pos} bytes of data beyond its extents`);
  }
  if (expectedOffset !== c.sigOffset) {
    failures.push(
      `signatures_offset ${c.sigOffset} is not the end of the operations' data (${expectedOffset}); update_engine refuses it`,
    );
  }
  return counts;
}
