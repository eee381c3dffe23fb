// Hashing a file system image on all cores: per-chunk digests (for the seed) and salted per-block digests (verity).
import { createHash } from "node:crypto";
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";
import { readRegion, type Region } from "./stream.js";
import { BLOCK } from "./types.js";

/** Chunk size of the seed's digest list; part of the seed's definition, never change it. */
export const SEED_CHUNK = 4 << 20;

// Plain JavaScript, run with eval so it works from the TypeScript sources and from dist alike.
const WORKER = `
const { parentPort, workerData: w } = require("node:worker_threads");
const { createHash } = require("node:crypto");
const fs = require("node:fs");
const fd = fs.openSync(w.path, "r");
const step = w.mode === "chunks" ? w.chunk : ${BLOCK};
const buf = Buffer.allocUnsafe(Math.max(w.chunk, 4 << 20));
const out = Buffer.from(new ArrayBuffer(Math.ceil((w.end - w.start) / step) * 32)); // not pooled: transferred whole
let n = 0;
try {
  for (let pos = w.start; pos < w.end; ) {
    const want = Math.min(buf.length - (buf.length % step), w.end - pos);
    let got = 0;
    while (got < want) {
      const r = fs.readSync(fd, buf, got, want - got, w.offset + pos + got);
      if (r === 0) throw new Error("unexpected end of file at byte " + (w.offset + pos + got));
      got += r;
    }
    for (let o = 0; o < got; o += step) {
      const h = createHash("sha256");
      if (w.mode === "blocks") h.update(w.salt);
      h.update(buf.subarray(o, Math.min(o + step, got)));
      h.digest().copy(out, 32 * n++);
    }
    pos += got;
  }
} finally {
  fs.closeSync(fd);
}
parentPort.postMessage(out.buffer, [out.buffer]);
`;

const INLINE_LIMIT = 32 << 20;

/** The same digests on this thread. */
async function digestInline(region: Region, step: number, salt: Buffer | undefined): Promise<Buffer> {
  const out = Buffer.allocUnsafe(Math.ceil(region.size / step) * 32);
  let n = 0;
  // SEED_CHUNK is a multiple of BLOCK and readRegion hands out whole multiples of SEED_CHUNK but the last.
  await readRegion(region, (chunk) => {
    for (let o = 0; o < chunk.length; o += step) {
      const h = createHash("sha256");
      if (salt) h.update(salt);
      h.update(chunk.subarray(o, Math.min(o + step, chunk.length)));
      h.digest().copy(out, 32 * n++);
    }
  });
  return out;
}

function runWorker(data: Record<string, unknown>): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const w = new Worker(WORKER, { eval: true, workerData: data });
    w.once("message", (b: ArrayBuffer) => resolve(Buffer.from(b)));
    w.once("error", reject);
    w.once("exit", (code) => {
      if (code !== 0) reject(new Error(`hash worker exited with code ${code}`));
    });
  });
}

/**
 * SHA-256 digests of `region` cut into pieces of `step` bytes (the last may be shorter), salted for
 * "blocks", concatenated in order. The work is split over up to `workers` threads in whole pieces.
 */
export async function digestPieces(
  region: Region,
  mode: "chunks" | "blocks",
  salt?: Buffer,
  workers = Math.min(availableParallelism(), 4),
): Promise<Buffer> {
  const step = mode === "chunks" ? SEED_CHUNK : BLOCK;
  // Small images: starting threads costs more than it saves.
  if (region.size < INLINE_LIMIT || workers <= 1)
    return digestInline(region, step, mode === "blocks" ? salt : undefined);
  const pieces = Math.ceil(region.size / step);
  const n = Math.min(workers, Math.ceil(region.size / INLINE_LIMIT));
  const per = Math.ceil(pieces / n);
  const jobs: Array<Promise<Buffer>> = [];
  for (let i = 0; i < n; i++) {
    const start = i * per * step;
    const end = Math.min(region.size, (i + 1) * per * step);
    if (start >= end) break;
    jobs.push(
      runWorker({ path: region.path, offset: region.offset, start, end, mode, chunk: SEED_CHUNK, salt }),
    );
  }
  return Buffer.concat(await Promise.all(jobs));
}
