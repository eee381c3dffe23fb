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
 * Reference: what Flatcar's generator does serially — bzip2 -9 of each 1 MiB piece, one after another.
 * The pieces are cut beforehand (not timed) and compressed by ONE bzip2 process (`bzip2 -9 -k` over all
 * piece files compresses each separately), so the reference pays no process start-up per piece: it is
 * the pure serial compression work.
 */
async function splitPieces(image: string, dir: string): Promise<string[]> {
  await run("split", ["-b", String(1 << 20), "-d", "-a", "5", image, join(dir, "piece-")]);
  return (await readdir(dir))
    .filter((f) => f.startsWith("piece-") && !f.endsWith(".bz2"))
    .sort()
    .map((f) => join(dir, f));
}

async function serialBzip2(pieces: readonly string[]): Promise<number> {
  const t0 = performance.now();
  await run("bzip2", ["-9", "-k", "-f", "--", ...pieces], { maxBuffer: 1 << 20 });
  return (performance.now() - t0) / 1000;
}

export async function benchPayload(
  image: string,
  rounds = 3,
): Promise<{
  oursSeconds: number;
  referenceSeconds: number;
  ratio: number;
  mbPerSecond: number;
  peakRssMb: number;
}> {
  const work = await mkdtemp(join(tmpdir(), "payload-bench-"));
  try {
    const key = await genRsaKey(work);
    const pieceDir = join(work, "pieces");
    await mkdir(pieceDir);
    const pieces = await splitPieces(image, pieceDir);
    const size = (await stat(image)).size;
    let peak = process.memoryUsage().rss;
    const timer = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
    const oursRuns: number[] = [];
    const refRuns: number[] = [];
    // Alternate the two so that a noisy moment hurts both alike; report medians.
    for (let round = 0; round < rounds; round++) {
      const t0 = performance.now();
      await createPayload({ image, keys: [key], outDir: join(work, "out") });
      oursRuns.push((performance.now() - t0) / 1000);
      refRuns.push(await serialBzip2(pieces));
    }
    clearInterval(timer);
    peak = Math.max(peak, process.memoryUsage().rss);
    const ours = median(oursRuns);
    const reference = median(refRuns);
    return {
      oursSeconds: ours,
      referenceSeconds: reference,
      ratio: reference / ours,
      mbPerSecond: size / 1e6 / ours,
      peakRssMb: peak / (1 << 20),
    };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
