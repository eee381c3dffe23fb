// Benchmark child: one library build of a directory tree, printing its wall time and peak RSS as JSON.
import { buildExtension, readBase, specFromObject } from "../src/index.js";
import { runMain } from "../src/cli/run-main.js";

await runMain(async () => {
  const [tree, outDir, osRelease, format = "squashfs", compression = "zstd", filesystem] =
    process.argv.slice(2);
  const spec = specFromObject({ name: "bench", sources: [{ type: "directory", path: tree }] });
  const base = await readBase({ path: osRelease! });
  const t0 = process.hrtime.bigint();
  const r = await buildExtension({
    spec,
    base,
    outDir: outDir!,
    epoch: 0,
    format: format as "squashfs",
    compression: compression as "zstd",
    ...(filesystem ? { filesystem: filesystem as "erofs" | "squashfs" } : {}),
  });
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  process.stdout.write(
    `${JSON.stringify({ seconds, maxRssKb: process.resourceUsage().maxRSS, size: r.size, image: r.image })}\n`,
  );
});
