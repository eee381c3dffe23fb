// The OEM catalog at boot: each extension built for the bootable Debian 12 base, booted once in its platform dress.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { debianArch } from "../../src/base/arch.js";
import { readBase } from "../../src/base/base.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { PLATFORM_OF_OEM } from "../../src/boot/platforms.js";
import { renderBootReport } from "../../src/boot/render.js";
import type { BootReport } from "../../src/boot/report-schema.js";
import { buildExtension } from "../../src/build.js";
import { CATALOG_DIR, resolveExtensionFiles } from "../../src/manifest/release-spec.js";
import { loadSpecFile } from "../../src/spec/load.js";
import { defaultCacheDir } from "../../src/util/cache.js";
import { debPackagesOf, downloadDebs } from "../../examples/debian-bookworm/debs.js";
import { ensureRoot } from "../../scripts/roots.js";
import { needBoot, oneGuestAtATime } from "../helpers/boot.js";
import { CATALOG_AT_BOOT } from "./catalog-expectations.js";

await needBoot();
let tmp: string;
let root: string;
const images = new Map<string, string>();

describe("the OEM catalog booted on Debian 12 (QEMU, no network interface)", () => {
  beforeAll(async () => {
    tmp = await mkdtemp(join(tmpdir(), "sysextkit-catalogboot-"));
    root = await ensureRoot("bookworm-boot");
    const base = await readBase({ path: root });
    const debDir = join(defaultCacheDir(), "debs", debianArch(base.arch));
    const specs = await Promise.all(
      (await resolveExtensionFiles(undefined, CATALOG_DIR)).map((f) => loadSpecFile(f)),
    );
    await downloadDebs(debPackagesOf(specs), debDir, debianArch(base.arch));
    for (const spec of specs) {
      const r = await buildExtension({ spec, base, outDir: join(tmp, "out"), vars: { debDir } });
      images.set(r.name, r.image);
    }
  }, 1_800_000);

  afterAll(async () => {
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  for (const [name, expected] of Object.entries(CATALOG_AT_BOOT)) {
    it(`${name} merges at boot as ${PLATFORM_OF_OEM[name]} and systemd starts its agents`, async () => {
      const report: BootReport = await oneGuestAtATime(() =>
        bootTest({
          images: [images.get(name)!],
          base: root,
          platform: PLATFORM_OF_OEM[name]!,
          files: expected.files ?? [],
          run: ["ls /sys/class/net", ...(expected.proof ? [expected.proof.run] : [])],
          jobsWaitMs: 10_000,
          timeoutMs: 1_500_000,
          settleMs: 3000,
        }),
      );
      const text = renderBootReport(report);
      expect(report.outcome, text).toBe("completed");
      expect(report.guest.network).toBe("none");
      expect(report.runs[0]!.output.trim(), "no network interface but the loopback").toBe("lo");
      if (expected.proof) {
        expect(report.runs[1]!.output, text).toMatch(expected.proof.output);
      }
      if (expected.detectVirt) expect(report.platform.detectVirt, text).toBe(expected.detectVirt);
      const ext = report.extensions[0]!;
      expect(ext.merged, text).toBe(true);
      const units = Object.fromEntries(ext.units.map((u) => [u.name, u]));
      expect(Object.keys(units).sort(), text).toEqual(
        [
          ...expected.started,
          ...Object.keys(expected.notVerifiable),
          ...Object.keys(expected.startedOrBlocked ?? {}),
        ].sort(),
      );
      for (const u of expected.started)
        expect(["active", "exited"], `${u}\n${text}`).toContain(units[u]!.verdict);
      for (const [u, why] of Object.entries(expected.notVerifiable)) {
        // Stopped only by what QEMU cannot present, and the report says exactly that.
        const check = report.checks.find((c) => c.subject === u)!;
        expect(check, text).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
        expect(check.message).toMatch(why);
      }
      for (const [u, why] of Object.entries(expected.startedOrBlocked ?? {})) {
        if (["active", "exited"].includes(units[u]!.verdict)) continue;
        const check = report.checks.find((c) => c.subject === u)!;
        expect(check, text).toMatchObject({ id: "unit.platform-unverified", severity: "warning" });
        expect(check.message).toMatch(why);
      }
      // No other unit of the boot failed, and every check of severity error holds.
      expect(
        report.failedUnits.filter((f) => !units[f.unit] && !ext.units.some((u) => u.id === f.unit)),
        text,
      ).toEqual([]);
      expect(
        report.checks.filter((c) => !c.ok && c.severity === "error"),
        text,
      ).toEqual([]);
      expect(report.ok, text).toBe(true);
    }, 1_800_000);
  }
});
