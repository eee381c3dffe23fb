// Benchmark child: one library build of a directory tree (compiled JS, as users run it), printing times as JSON.
import { buildExtension, readBase, specFromObject, type BuildPhase } from "../src/index.js";
import { runMain } from "../src/cli/run-main.js";

await runMain(async () => {
  const [tree, outDir, osRelease, format = "squashfs", compression, filesystem] = process.argv.slice(2);
  // Every file of the corpus goes into the image, exactly the tree the reference tool is given.
  const spec = specFromObject({
    name: "bench",
    sources: [{ type: "directory", path: tree }],
    strip: { defaults: false },
  });
  const base = await readBase({ path: osRelease! });
  const phases: Partial<Record<BuildPhase, number>> = {};
  let phase: BuildPhase | undefined;
  let since = process.hrtime.bigint();
  const t0 = since;
  const r = await buildExtension({
    spec,
    base,
    outDir: outDir!,
    epoch: 0,
    format: format as "squashfs",
    ...(compression ? { compression: compression as "zstd" } : {}),
    ...(filesystem ? { filesystem: filesystem as "erofs" | "squashfs" } : {}),
    onProgress: (p) => {
      if (p.phase === phase) return;
      const now = process.hrtime.bigint();
      if (phase) phases[phase] = (phases[phase] ?? 0) + Number(now - since) / 1e9;
      phase = p.phase;
      since = now;
    },
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ seconds, phases, size: r.size, image: r.image, entries: r.entries })}\n`,
  );
});
