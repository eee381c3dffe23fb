// arm64 at boot: extensions built for arm64 merge on the Debian 12 arm64 base under qemu-system-aarch64; x86-64 ones do not.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { readBase } from "../../src/base/base.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { renderBootReport } from "../../src/boot/render.js";
import { buildExtension } from "../../src/build.js";
import { CATALOG_DIR } from "../../src/manifest/release-spec.js";
import { loadSpecFile, specFromObject } from "../../src/spec/load.js";
import { ensureRoot } from "../../scripts/roots.js";
import { REPO } from "../helpers/cli.js";
import { needBoot, oneGuestAtATime } from "../helpers/boot.js";

await needBoot("arm64");
let tmp: string;
let root: string;
const images: Record<string, string> = {};

describe("booting the Debian 12 arm64 base (qemu-system-aarch64, TCG)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-arm64boot-"));
    root = await ensureRoot("bookworm-boot-arm64");
    const arm64 = await readBase({ path: root, arch: "arm64" });
    const out = join(tmp, "out");
    for (const spec of [
      join(CATALOG_DIR, "oem-qemu/extension.yaml"),
      join(REPO, "examples/hello/extension.yaml"),
    ]) {
      const r = await buildExtension({
        spec: await loadSpecFile(spec),
        base: arm64,
        outDir: out,
        version: "1.0",
      });
      images[r.name] = r.image;
    }
    // The same base release, built for x86-64: systemd-sysext on the arm64 guest must refuse it.
    const x86 = specFromObject(
      { name: "x86only", sources: [{ type: "file", path: "usr/share/x86only/x", content: "x\n" }] },
      join(tmp, "x86only.yaml"),
    );
    images.x86only = (
      await buildExtension({ spec: x86, base: await readBase({ path: root, arch: "x86-64" }), outDir: out })
    ).image;
  }, 1_800_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  it("merges oem-qemu and hello built for arm64, starts hello.service, refuses an x86-64 image", async () => {
    const report = await oneGuestAtATime(() =>
      bootTest({
        images: [images["oem-qemu"]!, images.hello!, images.x86only!],
        base: root,
        run: ["uname -m", "cat /usr/share/oem/oem-release", "ls /sys/class/net"],
        expectFiles: ["/usr/share/hello/motd"],
        // Emulating another architecture on a shared 2-core machine: a bound on a hung guest, not a timing.
        timeoutMs: 2_400_000,
      }),
    );
    const text = renderBootReport(report);
    expect(report.outcome, text).toBe("completed");
    expect(report.guest, text).toMatchObject({ arch: "arm64", accel: "tcg", network: "none" });
    expect(report.os, text).toMatchObject({ id: "debian", versionId: "12" });
    expect(report.runs[0]!.output.trim(), text).toBe("aarch64");
    expect(report.runs[1]!.output, text).toMatch(/^ID=qemu$/m);
    expect(report.runs[2]!.output.trim(), "no network interface but the loopback").toBe("lo");
    expect(report.sysext.merged.sort(), text).toEqual(["hello", "oem-qemu"]);
    const ext = Object.fromEntries(report.extensions.map((e) => [e.name, e]));
    // hello: its upheld unit started by the arm64 guest's systemd and ran the tool from the image.
    const hello = ext.hello!.units.find((u) => u.name === "hello.service")!;
    expect(hello.verdict, text).toBe("active");
    expect(hello.journal.join("\n"), text).toContain("Hello from a sysext");
    expect(report.files[0], text).toMatchObject({ path: "/usr/share/hello/motd", exists: true });
    // x86only: refused, with systemd-sysext's own words about the architecture.
    expect(ext.x86only!.merged, text).toBe(false);
    expect(ext.x86only!.reason!.join("\n"), text).toContain(
      "Extension 'x86only' is for architecture 'x86-64', but deployed on top of 'arm64'",
    );
    // Nothing else went wrong: the only failing check is the refused x86-64 image.
    expect(
      report.checks.filter((c) => !c.ok && c.severity === "error").map((c) => `${c.id} ${c.subject}`),
      text,
    ).toEqual(["extension.merged x86only"]);
    expect(report.failedUnits, text).toEqual([]);
  }, 2_700_000);
});
