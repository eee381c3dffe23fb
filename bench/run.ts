// `npm run bench [-- --corpus small|libs|mixed|payload ...] [--format squashfs|erofs] [--rounds N]`: our build
// against the reference tools on the same tree, measured in the same run (medians), with peak RSS.
import { readdirSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { EROFS_DEFAULT_COMPRESSION, erofsCompressionArgs, mkfsErofsFlags } from "../src/image/erofs.js";
import { MKSQUASHFS_MEMORY, mksquashfsFlags, SQUASHFS_DEFAULT_COMPRESSION } from "../src/image/squashfs.js";
import { runMain } from "../src/cli/run-main.js";
import { compiledChild } from "./compile.js";
import { corpus, CORPORA, type Corpus, type CorpusName } from "./corpus.js";
import { measure, median, type Measured } from "./measure.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Corpora and outputs: outside the repository (a temporary directory unless set). */
const CACHE = process.env.SYSEXTKIT_BENCH_CACHE ?? join(tmpdir(), "sysextkit-bench");

const { values } = parseArgs({
  options: {
    corpus: { type: "string", multiple: true },
    format: { type: "string", multiple: true },
    rounds: { type: "string", default: process.env.BENCH_ROUNDS ?? "3" },
  },
});
const ROUNDS = Number(values.rounds);
const ITEMS = [...CORPORA, "rpm", "ddi", "payload"];
const wanted = (values.corpus ?? ITEMS).flatMap((c) => c.split(","));
for (const c of wanted) {
  if (!ITEMS.includes(c)) {
    console.error(`bench: unknown corpus ${c}; choose from ${ITEMS.join(", ")}`);
    process.exit(2);
  }
}
const formats = (values.format ?? ["squashfs", "erofs"]).flatMap((f) => f.split(",")) as Array<
  "squashfs" | "erofs"
>;

type Format = "squashfs" | "erofs";

interface Row {
  corpus: Corpus;
  format: Format;
  ours: number;
  oursBuild: number;
  ref: number;
  oursRss: number;
  oursNodeRss: number;
  refRss: number;
  /**
   * squashfs: GNU tar of the same directory piped into `mksquashfs - OUT -tar` with our flags and -mem, the
   * path our backend takes with GNU tar as the producer: tells mksquashfs's tar mode apart from our producer.
   */
  refTar?: { seconds: number; rss: number };
  phases: Record<string, number>;
}

interface ChildOutput {
  seconds: number;
  phases: Record<string, number>;
  size: number;
  image: string;
}

async function referenceArgs(format: Format, dir: string, out: string): Promise<[string, string[]]> {
  if (format === "squashfs") {
    const flags = mksquashfsFlags({
      compression: undefined,
      compressionLevel: undefined,
      blockSize: undefined,
      epoch: 0,
    });
    return ["mksquashfs", [dir, out, ...flags]];
  }
  const z = await erofsCompressionArgs(undefined, undefined);
  return ["mkfs.erofs", [...mkfsErofsFlags(0, "6d7f0b4e-6f0c-4c55-9a35-3c4b8c1e2a10", z), out, dir]];
}

/**
 * `bash -c` arguments for GNU tar (sorted names, hard links kept as link members) of `dir`'s top-level
 * entries piped into mksquashfs's tar mode with the flags and -mem our backend passes.
 */
function tarPipeArgs(dir: string, out: string): string[] {
  const flags = mksquashfsFlags({
    compression: undefined,
    compressionLevel: undefined,
    blockSize: undefined,
    epoch: 0,
  });
  const names = readdirSync(dir).sort();
  const script =
    'set -o pipefail; dir=$1 out=$2; shift 2; n=$1; shift; tar --sort=name -cf - -C "$dir" "${@:1:n}" | mksquashfs - "$out" -tar "${@:n+1}"';
  return ["-c", script, "bash", dir, out, String(names.length), ...names, ...flags, ...MKSQUASHFS_MEMORY];
}

async function runOurs(
  child: string,
  dir: string,
  out: string,
  osRelease: string,
  format: string,
  comp?: string,
  filesystem?: string,
) {
  const extra = [...(comp || filesystem ? [comp ?? ""] : []), ...(filesystem ? [filesystem] : [])];
  const m = await measure(process.execPath, [child, dir, out, osRelease, format, ...extra], {
    cwd: ROOT,
  });
  return { m, r: JSON.parse(m.stdout.trim().split("\n").at(-1)!) as ChildOutput };
}

async function benchCorpus(c: Corpus, child: string, osRelease: string, work: string): Promise<Row[]> {
  const rows: Row[] = [];
  for (const format of formats) {
    const refs: Measured[] = [];
    const refsTar: Measured[] = [];
    const ours: Measured[] = [];
    const builds: ChildOutput[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      // Alternate reference and ours, so that a noisy moment on a shared machine hurts both alike.
      const refOut = join(work, `ref-${c.name}.${format}`);
      await rm(refOut, { force: true });
      const [cmd, args] = await referenceArgs(format, c.dir, refOut);
      // The environment our backends give the tools (mksquashfs refuses SOURCE_DATE_EPOCH with -all-time).
      const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", TZ: "UTC", LC_ALL: "C" };
      refs.push(
        await measure(cmd, args, { env: format === "erofs" ? { ...env, SOURCE_DATE_EPOCH: "0" } : env }),
      );
      await rm(refOut, { force: true });
      if (format === "squashfs") {
        refsTar.push(await measure("bash", tarPipeArgs(c.dir, refOut), { env }));
        await rm(refOut, { force: true });
      }
      const outDir = join(work, `ours-${c.name}-${format}`);
      await rm(outDir, { recursive: true, force: true });
      const { m, r } = await runOurs(child, c.dir, outDir, osRelease, format);
      ours.push(m);
      builds.push(r);
      await rm(outDir, { recursive: true, force: true });
    }
    const phases: Record<string, number> = {};
    for (const k of Object.keys(builds[0]!.phases)) phases[k] = median(builds.map((b) => b.phases[k] ?? 0));
    const row: Row = {
      corpus: c,
      format,
      ours: median(ours.map((m) => m.seconds)),
      oursBuild: median(builds.map((b) => b.seconds)),
      ref: median(refs.map((m) => m.seconds)),
      oursRss: Math.max(...ours.map((m) => m.treePeakMiB)),
      oursNodeRss: Math.max(...ours.map((m) => m.ownPeakMiB)),
      refRss: Math.max(...refs.map((m) => m.ownPeakMiB)),
      ...(refsTar.length > 0
        ? {
            refTar: {
              seconds: median(refsTar.map((m) => m.seconds)),
              rss: Math.max(...refsTar.map((m) => m.treePeakMiB)),
            },
          }
        : {}),
      phases,
    };
    rows.push(row);
    const refName = format === "squashfs" ? "mksquashfs DIR" : "mkfs.erofs DIR";
    console.log(
      `  ${format} (${format === "squashfs" ? SQUASHFS_DEFAULT_COMPRESSION : EROFS_DEFAULT_COMPRESSION}): ours ${row.ours.toFixed(2)} s (library call ${row.oursBuild.toFixed(2)} s), ${refName} ${row.ref.toFixed(2)} s -> ratio ${(row.ours / row.ref).toFixed(3)}`,
    );
    console.log(
      `    peak RSS: ours ${row.oursRss.toFixed(0)} MiB (process tree, sampled; node itself ${row.oursNodeRss.toFixed(0)} MiB), ${refName} ${row.refRss.toFixed(0)} MiB -> ${signed(row.oursRss - row.refRss)} MiB`,
    );
    if (row.refTar) {
      console.log(
        `    GNU tar | mksquashfs - OUT -tar ${MKSQUASHFS_MEMORY.join(" ")} (our backend's path, GNU tar producing): ${row.refTar.seconds.toFixed(2)} s (ours: ratio ${(row.ours / row.refTar.seconds).toFixed(3)}), peak RSS ${row.refTar.rss.toFixed(0)} MiB (tar + mksquashfs)`,
      );
    }
    console.log(
      `    our phases: ${Object.entries(phases)
        .map(([k, v]) => `${k} ${v.toFixed(2)} s`)
        .join(", ")}`,
    );
  }
  return rows;
}

const signed = (n: number) => `${n >= 0 ? "+" : ""}${n.toFixed(0)}`;

function table(rows: Row[]): string {
  const lines = [
    "| corpus | format | ours | reference (same flags) | ratio | peak RSS ours (tree) | reference peak RSS | `tar \\| mksquashfs -tar -mem 256M` |",
    "| --- | --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const r of rows) {
    const c = r.corpus;
    lines.push(
      `| ${c.name}: ${(c.bytes / 1e6).toFixed(0)} MB, ${c.files} files${c.hardLinks ? `, ${c.hardLinks} hard links` : ""}${c.bigFiles ? `, ${c.bigFiles} > 100 MB` : ""} | ${r.format} | ${r.ours.toFixed(1)} s | \`${r.format === "squashfs" ? "mksquashfs" : "mkfs.erofs"} DIR\` ${r.ref.toFixed(1)} s | ${(r.ours / r.ref).toFixed(2)} | ${r.oursRss.toFixed(0)} MiB | ${r.refRss.toFixed(0)} MiB | ${r.refTar ? `${r.refTar.seconds.toFixed(1)} s (ratio ${(r.ours / r.refTar.seconds).toFixed(2)}), ${r.refTar.rss.toFixed(0)} MiB` : "–"} |`,
    );
  }
  return lines.join("\n");
}

async function main() {
  const work = join(CACHE, "work");
  await mkdir(work, { recursive: true });
  const osRelease = join(work, "os-release");
  await writeFile(osRelease, "ID=benchos\nVERSION_ID=1.0.0\n");
  const child = await compiledChild(ROOT);
  console.log(
    `sysextkit benchmark: ${ROUNDS} rounds each, medians; references run in the same rounds; corpora in ${CACHE}\n`,
  );
  const rows: Row[] = [];
  for (const name of wanted.filter((w): w is CorpusName => (CORPORA as readonly string[]).includes(w))) {
    const c = await corpus(name, CACHE);
    console.log(
      `corpus ${name}: ${(c.bytes / 1e6).toFixed(0)} MB, ${c.files} files, ${c.hardLinks} further hard-linked names, ${c.symlinks} symlinks, ${c.bigFiles} files over 100 MB — ${c.description}`,
    );
    rows.push(...(await benchCorpus(c, child, osRelease, work)));
  }
  if (rows.length > 0) console.log(`\n${table(rows)}\n`);

  if (wanted.includes("rpm")) {
    const { benchRpm, corpusRpm } = await import("./rpm-bench.js");
    const c = await corpus("small", CACHE);
    const rpm = await corpusRpm(c.dir, CACHE);
    const rb = await benchRpm(rpm, work, ROUNDS);
    console.log(
      "rpm: reading a package (zstd payload) into the tree vs `rpm2cpio PKG | cpio -idm` of the same package",
    );
    console.log(
      `  ${(rb.bytes / 1e6).toFixed(0)} MB / ${rb.files} entries: ours ${rb.oursSeconds.toFixed(2)} s (${(rb.bytes / 1e6 / rb.oursSeconds).toFixed(0)} MB/s), rpm2cpio | cpio ${rb.refSeconds.toFixed(2)} s (${(rb.bytes / 1e6 / rb.refSeconds).toFixed(0)} MB/s), ratio ${(rb.oursSeconds / rb.refSeconds).toFixed(3)}\n`,
    );
  }

  if (wanted.includes("ddi")) {
    const { benchDdi, describeDdiRow } = await import("./ddi-bench.js");
    const c = await corpus("small", CACHE);
    console.log(
      "ddi: sysextkit build --format ddi (file system, dm-verity tree, GPT) vs the tool plus `veritysetup format`, one after the other",
    );
    const ddiOut = join(work, "ddi");
    for (const row of await benchDdi(c.dir, work, ROUNDS, async (format, compression, filesystem) => {
      await rm(ddiOut, { recursive: true, force: true });
      return (await runOurs(child, c.dir, ddiOut, osRelease, format, compression, filesystem)).r;
    })) {
      console.log(describeDdiRow(row));
    }
  }

  if (wanted.includes("payload")) {
    const { benchPayload } = await import("./payload-bench.js");
    // An uncompressed image of the small corpus: compressible and incompressible chunks.
    const c = await corpus("small", CACHE);
    const { r: img } = await runOurs(child, c.dir, join(work, "payload-img"), osRelease, "squashfs", "none");
    const p = await benchPayload(img.image, ROUNDS);
    console.log(
      "payload: CrAU generation (bzip2 -9 of 1 MiB chunks on all cores) vs serial bzip2 -9 of the same pieces",
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
    await rm(join(work, "payload-img"), { recursive: true, force: true });
  }
}

await runMain(main);
