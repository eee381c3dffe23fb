// The main job: build every OEM extension of the catalog for a real Debian 12 (bookworm) base into out/.
//
//   npm run example                       # as root: debootstrap base + apt-get download, then build
//   SYSEXTKIT_CACHE=/tmp/c npm run example -- --out out --format erofs
//   npm run example -- --format ddi --key key.pem --certificate cert.pem    # signed DDIs
//
// Steps: a cached debootstrap root (minbase + systemd) is the base release; the .deb files each OEM
// needs are fetched with `apt-get download` into the cache; every extensions/*/extension.yaml is built
// for that base with the library API; a table of what was built ends the run.
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
import { debPackagesOf, downloadDebs, ensureBase } from "./debs.js";
import { BASE_INCLUDE } from "./packages.js";

interface Options {
  out: string;
  format: "squashfs" | "erofs" | "ddi";
  base: string | undefined;
  signing: { key: string; certificate: string } | undefined;
}

function options(): Options {
  const usage =
    "options: --out DIR (default out), --format squashfs|erofs|ddi, --key KEY --certificate CERT (sign DDIs), --base ROOT (default: a cached debootstrap root)";
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
  return {
    out: values.out!,
    format: values.format,
    base: values.base,
    signing:
      values.key && values.certificate ? { key: values.key, certificate: values.certificate } : undefined,
  };
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
  const root =
    values.base ?? (await ensureBase(join(cache, "bases", "bookworm-systemd"), { include: BASE_INCLUDE }));
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

  process.stdout.write(
    `\nbuilt ${results.length} extensions for ${base.id} ${base.versionId ?? ""} ${base.arch} in ${((Date.now() - t0) / 1000).toFixed(0)} s\n\n`,
  );
  process.stdout.write(
    `${table(
      ["name", "size", "SYSEXT_VERSION_ID", "sha256", "image"],
      results.map((r) => [r.name, humanSize(r.size), r.version ?? "-", r.sha256 ?? "-", r.image]),
    )}\n`,
  );
});
