// arm64 at boot: oem-qemu and hello built for arm64, booted with qemu-system-aarch64 (TCG) on a Debian 12 arm64 base.
//
//   npx tsx examples/debian-bookworm/boot-arm64.ts      # as root; makes the arm64 root once (about 10 min:
//                                                       # the second stage runs under qemu-aarch64-static)
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readBase } from "../../src/base/base.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { renderBootReport } from "../../src/boot/render.js";
import { buildExtension } from "../../src/build.js";
import { runMain } from "../../src/cli/run-main.js";
import { CATALOG_DIR } from "../../src/manifest/release-spec.js";
import { loadSpecFile } from "../../src/spec/load.js";
import { ensureRoot } from "../../scripts/roots.js";

await runMain(async () => {
  const root = await ensureRoot("bookworm-boot-arm64");
  const base = await readBase({ path: root, arch: "arm64" });
  const tmp = await mkdtemp(join(tmpdir(), "sysextkit-arm64-"));
  try {
    const images: string[] = [];
    for (const spec of [
      join(CATALOG_DIR, "oem-qemu/extension.yaml"),
      new URL("../hello/extension.yaml", import.meta.url).pathname,
    ]) {
      const r = await buildExtension({
        spec: await loadSpecFile(spec),
        base,
        outDir: join(tmp, "out"),
        version: "1.0",
      });
      images.push(r.image);
    }
    const report = await bootTest({
      images,
      base: root,
      timeoutMs: 1_800_000,
      run: ["uname -m", "cat /usr/share/oem/oem-release"],
      onProgress: (m) => process.stderr.write(`arm64: ${m}\n`),
    });
    process.stdout.write(renderBootReport(report));
    return report.ok ? 0 : 1;
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});
