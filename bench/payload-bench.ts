// Payload benchmark: our parallel CrAU generation vs serial `bzip2 -9` of the same 1 MiB pieces, same run.
import { execFile } from "node:child_process";
import { mkdtemp, open, rm, stat } from "node:fs/promises";
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

/** Reference: what Flatcar's generator does serially — bzip2 -9 each 1 MiB chunk, one after another. */
async function serialBzip2(image: string): Promise<void> {
  const size = (await stat(image)).size;
  const fh = await open(image, "r");
  try {
    for (let pos = 0; pos < size; pos += 1 << 20) {
      const len = Math.min(1 << 20, size - pos);
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      await new Promise<void>((resolve, reject) => {
        const child = execFile("bzip2", ["-9", "-c"], { encoding: "buffer", maxBuffer: 1 << 24 }, (e) =>
          e ? reject(e) : resolve(),
        );
        child.stdin?.end(buf);
      });
    }
  } finally {
    await fh.close();
  }
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
      const t1 = performance.now();
      await serialBzip2(image);
      refRuns.push((performance.now() - t1) / 1000);
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
