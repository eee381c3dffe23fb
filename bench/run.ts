// `npm run bench`: our build and payload generation against the reference tools, measured in the same run.
import { execa } from "execa";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { mksquashfsFlags } from "../src/image/squashfs.js";
import { realTree } from "./corpus.js";
import { runMain } from "../src/cli/run-main.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const CACHE = process.env.SYSEXTKIT_BENCH_CACHE ?? join(ROOT, ".cache", "bench");
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function timeCommand(cmd: string, args: string[]): Promise<number> {
  const t0 = process.hrtime.bigint();
  await execa(cmd, args, { stdio: "ignore" });
  return Number(process.hrtime.bigint() - t0) / 1e9;
}

async function ours(
  tree: string,
  out: string,
  osRelease: string,
  compression: string,
  format = "squashfs",
  filesystem?: string,
) {
  const r = await execa(
    process.execPath,
    [
      "--import",
      "tsx",
      join(ROOT, "bench/build-child.ts"),
      tree,
      out,
      osRelease,
      format,
      compression,
      ...(filesystem ? [filesystem] : []),
    ],
    { cwd: ROOT },
  );
  return JSON.parse(String(r.stdout).trim().split("\n").at(-1)!) as {
    seconds: number;
    maxRssKb: number;
    size: number;
    image: string;
  };
}

async function benchBuild(sizeMb: number, osRelease: string, work: string) {
  const corpus = await realTree(CACHE, sizeMb * 1e6);
  const flags = mksquashfsFlags({
    compression: "zstd",
    compressionLevel: undefined,
    blockSize: undefined,
    epoch: 0,
  }).filter((f) => f !== "-tar");
  const refTimes: number[] = [];
  const ourTimes: number[] = [];
  let rss = 0;
  for (let i = 0; i < ROUNDS; i++) {
    const refOut = join(work, `ref-${sizeMb}.raw`);
    await rm(refOut, { force: true });
    refTimes.push(await timeCommand("mksquashfs", [corpus.dir, refOut, ...flags]));
    const outDir = join(work, `ours-${sizeMb}`);
    await rm(outDir, { recursive: true, force: true });
    const o = await ours(corpus.dir, outDir, osRelease, "zstd");
    ourTimes.push(o.seconds);
    rss = Math.max(rss, o.maxRssKb);
  }
  const ref = median(refTimes);
  const our = median(ourTimes);
  return { sizeMb: corpus.bytes / 1e6, files: corpus.files, ref, our, ratio: our / ref, rssMb: rss / 1024 };
}

async function main() {
  const work = join(CACHE, "work");
  await mkdir(work, { recursive: true });
  const osRelease = join(work, "os-release");
  await writeFile(osRelease, "ID=benchos\nVERSION_ID=1.0.0\n");

  console.log(`sysextkit benchmark (${ROUNDS} rounds each, medians; reference measured in the same run)\n`);
  console.log(
    "build: sysextkit build (tar stream -> mksquashfs -tar) vs bare `mksquashfs DIR OUT` with the same flags",
  );
  for (const size of [60, 180]) {
    const b = await benchBuild(size, osRelease, work);
    console.log(
      `  tree ${b.sizeMb.toFixed(0)} MB / ${b.files} files: ours ${b.our.toFixed(2)} s, mksquashfs ${b.ref.toFixed(2)} s, ratio ${b.ratio.toFixed(3)} (${Math.abs((b.ratio - 1) * 100).toFixed(1)}% ${b.ratio > 1 ? "slower" : "faster"} than mksquashfs), peak RSS ${b.rssMb.toFixed(0)} MiB`,
    );
  }

  const { benchRpm, corpusRpm } = await import("./rpm-bench.js");
  const small = await realTree(CACHE, 60e6);
  const rpm = await corpusRpm(small.dir, CACHE);
  const rb = await benchRpm(rpm, work, ROUNDS);
  console.log(
    "\nrpm: reading a package (zstd payload) into the tree vs `rpm2cpio PKG | cpio -idm` of the same package",
  );
  console.log(
    `  ${(rb.bytes / 1e6).toFixed(0)} MB / ${rb.files} entries: ours ${rb.oursSeconds.toFixed(2)} s (${(rb.bytes / 1e6 / rb.oursSeconds).toFixed(0)} MB/s), rpm2cpio | cpio ${rb.refSeconds.toFixed(2)} s (${(rb.bytes / 1e6 / rb.refSeconds).toFixed(0)} MB/s), ratio ${(rb.oursSeconds / rb.refSeconds).toFixed(3)}`,
  );

  const { benchDdi, describeDdiRow } = await import("./ddi-bench.js");
  const ddiTree = await realTree(CACHE, 180e6);
  console.log(
    "\nddi: sysextkit build --format ddi (file system, streamed dm-verity tree, GPT) vs the tool plus `veritysetup format`, one after the other",
  );
  const ddiOut = join(work, "ddi");
  for (const row of await benchDdi(ddiTree.dir, work, ROUNDS, async (format, compression, filesystem) => {
    await rm(ddiOut, { recursive: true, force: true });
    return ours(ddiTree.dir, ddiOut, osRelease, compression, format, filesystem);
  })) {
    console.log(describeDdiRow(row));
  }

  const { benchPayload } = await import("./payload-bench.js");
  // An uncompressed image of the larger tree: at least 50 MB, with compressible and incompressible chunks.
  const corpus = await realTree(CACHE, 180e6);
  const img = await ours(corpus.dir, join(work, "payload-img"), osRelease, "none");
  const p = await benchPayload(img.image, ROUNDS);
  console.log(
    "\npayload: CrAU generation (bzip2 -9 of 1 MiB chunks on all cores) vs serial bzip2 -9 of the same pieces",
  );
  console.log(
    `  image ${(img.size / 1e6).toFixed(0)} MB: ours ${p.oursSeconds.toFixed(2)} s (${p.mbPerSecond.toFixed(1)} MB/s), peak RSS ${p.peakRssMb.toFixed(0)} MiB`,
  );
  console.log(
    `  vs bzip2 -9 per piece, one after another: ${p.perPieceSeconds.toFixed(2)} s -> speed-up ${p.ratioPerPiece.toFixed(2)}x`,
  );
  console.log(
    `  vs one bzip2 -9 process over all pieces (no start-up per piece): ${p.oneProcessSeconds.toFixed(2)} s -> speed-up ${p.ratioOneProcess.toFixed(2)}x`,
  );
}

await runMain(main);
