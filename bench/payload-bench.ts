// Payload benchmark: our parallel CrAU generation vs serial `bzip2 -9` of the same 1 MiB pieces, same run.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { createPayload } from "../src/payload/index.js";

const run = promisify(execFile);
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function genRsaKey(dir: string): Promise<string> {
  const key = join(dir, "bench-key.pem");
  await run("openssl", ["genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", key]);
  return key;
}

/**
 * References, both serial, on the same 1 MiB pieces (cut beforehand, not timed):
 * - "per piece": `bzip2 -9` run on each piece one after another (a shell loop, so the cost of starting
 *   a process is the small fork of sh, not of node) — the work Flatcar's generator does serially;
 * - "one process": a single `bzip2 -9 -k` over all piece files, which compresses each separately with
 *   no start-up per piece: the pure serial compression work, the strictest reference.
 */
async function splitPieces(image: string, dir: string): Promise<string[]> {
  await run("split", ["-b", String(1 << 20), "-d", "-a", "5", image, join(dir, "piece-")]);
  return (await readdir(dir))
    .filter((f) => f.startsWith("piece-") && !f.endsWith(".bz2"))
    .sort()
    .map((f) => join(dir, f));
}

const PER_PIECE = 'for f in "$1"/piece-?????; do bzip2 -9 -c "$f" > "$f.bz2" || exit 1; done';

async function timed(task: () => Promise<unknown>): Promise<number> {
  const t0 = performance.now();
  await task();
  return (performance.now() - t0) / 1000;
}

export interface PayloadBench {
  readonly oursSeconds: number;
  /** Serial `bzip2 -9` per piece, one process per piece (the reference). */
  readonly perPieceSeconds: number;
  /** Serial `bzip2 -9` of all pieces in one process (pure compression work). */
  readonly oneProcessSeconds: number;
  readonly ratioPerPiece: number;
  readonly ratioOneProcess: number;
  readonly mbPerSecond: number;
  readonly peakRssMb: number;
}

export async function benchPayload(image: string, rounds = 3): Promise<PayloadBench> {
  const work = await mkdtemp(join(tmpdir(), "payload-bench-"));
  try {
    const key = await genRsaKey(work);
    const pieceDir = join(work, "pieces");
    await mkdir(pieceDir);
    const pieces = await splitPieces(image, pieceDir);
    const size = (await stat(image)).size;
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const ours: number[] = [];
    const perPiece: number[] = [];
    const oneProcess: number[] = [];
    // Alternate the runs so that a noisy moment hurts all alike; report medians.
    for (let round = 0; round < rounds; round++) {
      ours.push(await timed(() => createPayload({ image, keys: [key], outDir: join(work, "out") })));
      perPiece.push(await timed(() => run("sh", ["-c", PER_PIECE, "sh", pieceDir])));
      oneProcess.push(await timed(() => run("bzip2", ["-9", "-k", "-f", "--", ...pieces])));
    }
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const o = median(ours);
    return {
      oursSeconds: o,
      perPieceSeconds: median(perPiece),
      oneProcessSeconds: median(oneProcess),
      ratioPerPiece: median(perPiece) / o,
      ratioOneProcess: median(oneProcess) / o,
      mbPerSecond: size / 1e6 / o,
      peakRssMb: peak / (1 << 20),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
