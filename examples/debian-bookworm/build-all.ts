// The main job: build every OEM extension of the catalog for a real Debian 12 (bookworm) base into out/,
// then boot each one with that base under QEMU, dressed as its platform.
//
//   npm run example                       # as root: debootstrap base + apt-get download, build, boot
//   npm run example -- --no-boot          # build only
//   SYSEXTKIT_CACHE=/tmp/c npm run example -- --out out --format erofs
//   npm run example -- --format ddi --key key.pem --certificate cert.pem    # signed DDIs
//
// Steps: a cached bootable debootstrap root (bookworm-boot in scripts/roots.ts: minbase + systemd,
// kernel, initramfs, systemd-sysext.service enabled) is the base release; the .deb files each OEM needs
// are fetched with `apt-get download` into the cache; every extensions/*/extension.yaml is built for that
// base with the library API; each image is booted with bootTest(); a table with a "boots" column ends it.
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  buildExtension,
  loadSpecFile,
  readBase,
  type BuildResult,
  type LoadedSpec,
} from "../../src/index.js";
import { CATALOG_DIR, resolveExtensionFiles } from "../../src/manifest/release-spec.js";
import { defaultCacheDir } from "../../src/util/cache.js";
import { checkImage } from "../../src/release/image-check.js";
import { runMain } from "../../src/cli/run-main.js";
import { debianArch } from "../../src/base/arch.js";
import { table, humanSize } from "../../src/cli/output.js";
import { SysextError } from "../../src/errors.js";
import type { Finding } from "../../src/checks/finding.js";
import { debPackagesOf, downloadDebs } from "./debs.js";
import { ensureRoot } from "../../scripts/roots.js";
import { bootTest } from "../../src/boot/boot-test.js";
import { PLATFORM_OF_OEM } from "../../src/boot/platforms.js";
import type { BootReport } from "../../src/boot/report-schema.js";

interface Options {
  out: string;
  format: "squashfs" | "erofs" | "ddi";
  base: string | undefined;
  signing: { key: string; certificate: string } | undefined;
  boot: boolean;
  timeoutS: number;
}

function options(): Options {
  const usage =
    "options: --out DIR (default out), --format squashfs|erofs|ddi, --key KEY --certificate CERT (sign DDIs), --base ROOT (default: a cached bootable debootstrap root), --no-boot, --timeout SECONDS (per boot, default 900)";
  let values;
  try {
    ({ values } = parseArgs({
      options: {
        out: { type: "string", default: "out" },
        format: { type: "string", default: "squashfs" },
        base: { type: "string" },
        key: { type: "string" },
        certificate: { type: "string" },
        verbose: { type: "boolean" },
        "no-boot": { type: "boolean", default: false },
        timeout: { type: "string", default: "900" },
      },
    }));
  } catch (e) {
    throw new SysextError("USAGE", (e as Error).message, { hint: usage });
  }
  if (values.format !== "squashfs" && values.format !== "erofs" && values.format !== "ddi") {
    throw new SysextError(
      "USAGE",
      `--format ${JSON.stringify(values.format)} is not squashfs, erofs or ddi`,
      {
        hint: usage,
      },
    );
  }
  if (!values.key !== !values.certificate) {
    throw new SysextError("USAGE", "signing DDIs needs both --key and --certificate", { hint: usage });
  }
  const timeoutS = Number(values.timeout);
  if (!Number.isInteger(timeoutS) || timeoutS <= 0) {
    throw new SysextError("USAGE", `--timeout ${JSON.stringify(values.timeout)} is not a number of seconds`, {
      hint: usage,
    });
  }
  return {
    out: values.out!,
    format: values.format,
    base: values.base,
    signing:
      values.key && values.certificate ? { key: values.key, certificate: values.certificate } : undefined,
    boot: !values["no-boot"],
    timeoutS,
  };
}

/** "yes", "yes (N not verifiable)" or "NO: first failed check". */
function boots(r: BootReport | undefined): string {
  if (!r) return "-";
  const unverified = r.checks.filter((c) => c.id === "unit.platform-unverified").length;
  if (r.ok) return unverified ? `yes (${unverified} unit(s) not verifiable under QEMU)` : "yes";
  const first = r.checks.find((c) => !c.ok && c.severity === "error");
  return `NO: ${first?.message.slice(0, 100) ?? r.outcome}`;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

/** Warnings, one line per code: "3 x maintainer-script: first message (+2 more)". */
function logWarnings(name: string, findings: readonly Finding[]): void {
  const byCode = new Map<string, Finding[]>();
  for (const f of findings.filter((f) => f.severity === "warning"))
    byCode.set(f.code, [...(byCode.get(f.code) ?? []), f]);
  for (const [code, list] of byCode) {
    const first = list[0]!;
    const more = list.length > 1 ? ` (+${list.length - 1} more)` : "";
    log(
      `  ${name}: warning ${list.length} x ${code}: ${first.path ? `${first.path}: ` : ""}${first.message}${more}`,
    );
  }
}

await runMain(async () => {
  const values = options();
  const cache = defaultCacheDir();
  const t0 = Date.now();
  log(`sysextkit example: every OEM extension for Debian 12 (cache: ${cache})`);
  const specs: LoadedSpec[] = [];
  for (const file of await resolveExtensionFiles(undefined, CATALOG_DIR))
    specs.push(await loadSpecFile(file));
  const root = values.base ?? (await ensureRoot("bookworm-boot"));
  const base = await readBase({ path: root });
  const debArch = debianArch(base.arch);
  const debDir = join(cache, "debs", debArch);
  await downloadDebs(debPackagesOf(specs), debDir, debArch);

  const results: BuildResult[] = [];
  for (const spec of specs) {
    const name = spec.spec.name;
    log(`build: ${name} ...`);
    let lastPhase = "";
    const r = await buildExtension({
      spec,
      base,
      outDir: resolve(values.out),
      format: values.format,
      ...(values.signing ? { signing: values.signing } : {}),
      vars: { debDir },
      onProgress: (p) => {
        // One line per source and per phase (write reports bytes many times).
        if (p.phase === "assemble" || (p.phase === "write" && lastPhase !== "write"))
          log(`  ${name}: ${p.message}`);
        lastPhase = p.phase;
      },
    });
    const verdict = await checkImage({ image: r.image, host: base, systemdVersion: 252 });
    if (!verdict.merges) {
      throw new SysextError("CHECK_FAILED", `${r.name} would not merge on its own base: ${verdict.reason}`, {
        location: { file: r.image },
        hint: "inspect it with: npx sysextkit check IMAGE --host BASE_ROOT",
      });
    }
    logWarnings(r.name, r.findings);
    results.push(r);
  }

  // Each image booted on the base in its platform's dress (bootTest); the verdict goes into the table.
  const reports = new Map<string, BootReport>();
  if (values.boot) {
    for (const r of results) {
      const platform = PLATFORM_OF_OEM[r.name] ?? "qemu";
      log(`boot: ${r.name} as ${platform} ...`);
      const report = await bootTest({
        images: [r.image],
        base: root,
        platform,
        timeoutMs: values.timeoutS * 1000,
        onProgress: (m) => log(`  ${r.name}: ${m}`),
      });
      reports.set(r.name, report);
      for (const c of report.checks.filter((c) => !c.ok))
        log(`  ${r.name}: ${c.severity} ${c.id}: ${c.message}`);
    }
  }

  process.stdout.write(
    `\nbuilt ${results.length} extensions for ${base.id} ${base.versionId ?? ""} ${base.arch} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n\n`,
  );
  process.stdout.write(
    `${table(
      ["name", "size", "SYSEXT_VERSION_ID", "boots", "sha256", "image"],
      results.map((r) => [
        r.name,
        humanSize(r.size),
        r.version ?? "-",
        boots(reports.get(r.name)),
        r.sha256 ?? "-",
        r.image,
      ]),
    )}\n`,
  );
  // The images are built either way; a boot with a failed check is reported above, in the table, and by
  // the exit code (units QEMU cannot verify are warnings, said in the table, not failures).
  if (reports.size > 0) {
    const clean = [...reports.values()].filter((r) => r.ok).length;
    process.stdout.write(`\n${clean} of ${reports.size} extensions booted with every check holding\n`);
    if (clean < reports.size) process.exitCode = 1;
  }
});
