// `sysextkit build`: build one extension image from a spec (or from --dir/--tar sources) for a base release.
import { Option, type Command } from "commander";
import { resolve } from "node:path";
import type { BuildResult } from "../../build.js";
import { SysextError } from "../../errors.js";
import type { LoadedSpec } from "../../spec/load.js";
import type { Compression, ImageFormat } from "../../spec/schema.js";
import type { Finding } from "../../checks/finding.js";
import { formatFinding, humanSize, printJson, progressPrinter } from "../output.js";
import { collect, parseVars } from "./shared.js";

interface BuildFlags {
  base?: string;
  arch?: string;
  format?: ImageFormat;
  compression?: Compression;
  out: string;
  json?: boolean;
  strict?: boolean;
  sysextVersion?: string;
  verbose?: boolean;
  name?: string;
  dir: string[];
  tar: string[];
  exclude: string[];
  var: string[];
  templates?: string;
  filesystem?: "erofs" | "squashfs";
  verity?: "none" | "sidecar";
  key?: string;
  certificate?: string;
  keyPassphrase?: string;
  signLater?: boolean;
}

export function registerBuild(program: Command): void {
  program
    .command("build")
    .description("build a sysext image for a base release")
    .argument(
      "[spec]",
      "extension.yaml, a folder holding one, or a catalog name such as oem-vmware (omit to build from --name with --dir/--tar)",
    )
    .option("--base <path>", "base os-release file or root directory of the base image")
    .option("--arch <arch>", "target architecture (x86-64, arm64, ...; aliases like amd64 accepted)")
    .option("--format <format>", "squashfs | erofs | ddi | directory (default from the spec, else squashfs)")
    .addOption(
      new Option("--filesystem <fs>", "ddi: the file system in the root partition (default erofs)").choices([
        "erofs",
        "squashfs",
      ]),
    )
    .addOption(
      new Option(
        "--verity <mode>",
        "squashfs/erofs: sidecar writes NAME.verity + NAME.roothash (+ .roothash.p7s)",
      ).choices(["none", "sidecar"]),
    )
    .option("--key <pem>", "sign the root hash: private key file, env:NAME or - (never printed)")
    .option("--certificate <pem>", "X.509 certificate of --key: file, env:NAME or -")
    .option("--key-passphrase <ref>", "passphrase of an encrypted --key: file, env:NAME or -")
    .option("--sign-later", "write NAME.roothash to sign offline; then sysextkit sign")
    .option("--compression <c>", "zstd | gzip | xz | lz4 | lz4hc | none")
    .option("--out <dir>", "output directory", "out")
    .option("--name <name>", "extension name when building without a spec")
    .option("--dir <path>", "directory source (repeatable, without a spec)", collect, [])
    .option("--tar <file>", "tar archive source (repeatable, without a spec)", collect, [])
    .option(
      "--exclude <glob>",
      "leave paths out of the image, e.g. 'etc/**' (repeatable, without a spec; a spec uses strip.paths)",
      collect,
      [],
    )
    .option("--var <key=value>", "set a spec variable (repeatable)", collect, [])
    .option("--templates <dir>", "templates directory (default: the package's templates/)")
    .option("--strict", "treat warnings as errors")
    .option(
      "--sysext-version <v>",
      "SYSEXT_VERSION_ID (default: the spec's metadata.version, else the main package's)",
    )
    .option("--verbose", "list every finding (default: info findings are counted per code)")
    .option("--json", "print the result as JSON")
    .action(async (specPath: string | undefined, flags: BuildFlags) => {
      const loaded = await specFor(specPath, flags);
      if (!flags.base) {
        throw new SysextError("USAGE", "--base is required", {
          hint: "pass the base's os-release file (e.g. --base /etc/os-release) or its root directory",
        });
      }
      const { buildExtension } = await import("../../build.js");
      const bar = progressPrinter(true);
      let result: BuildResult;
      try {
        result = await buildExtension({
          spec: loaded,
          base: { path: flags.base, ...(flags.arch ? { arch: flags.arch } : {}) },
          outDir: flags.out,
          vars: parseVars(flags.var),
          ...(flags.format ? { format: flags.format } : {}),
          ...(flags.compression ? { compression: flags.compression } : {}),
          ...(flags.strict ? { strict: true } : {}),
          ...(flags.sysextVersion ? { version: flags.sysextVersion } : {}),
          ...(flags.templates ? { templatesDir: resolve(flags.templates) } : {}),
          ...(flags.filesystem ? { filesystem: flags.filesystem } : {}),
          ...(flags.verity ? { verity: flags.verity } : {}),
          ...(flags.signLater ? { signLater: true } : {}),
          ...signingFlags(flags),
          onProgress: (p) =>
            bar.update(
              p.bytesTotal
                ? `${p.message} ${Math.floor(((p.bytesDone ?? 0) * 100) / p.bytesTotal)}%`
                : p.message,
            ),
        });
      } finally {
        bar.done();
      }
      if (flags.json) {
        printJson(result);
        return;
      }
      printBuild(result, flags.verbose ?? false);
    });
}

/** --key/--certificate/--key-passphrase as the library's signing input (both or neither). */
function signingFlags(flags: BuildFlags): {
  signing?: { key: string; certificate: string; passphrase?: string };
} {
  if (!flags.key && !flags.certificate) {
    if (flags.keyPassphrase)
      throw new SysextError("USAGE", "--key-passphrase without --key", {
        hint: "pass --key and --certificate",
      });
    return {};
  }
  if (!flags.key || !flags.certificate) {
    throw new SysextError(
      "USAGE",
      `--${flags.key ? "certificate" : "key"} is missing: signing needs both --key and --certificate`,
      {
        hint: "pass the private key with --key and its X.509 certificate with --certificate",
      },
    );
  }
  return {
    signing: {
      key: flags.key,
      certificate: flags.certificate,
      ...(flags.keyPassphrase ? { passphrase: flags.keyPassphrase } : {}),
    },
  };
}

/** Lines describing a DDI's or sidecar image's verity: root hash, signer, companion files. */
export function verityLines(r: BuildResult): string[] {
  const v = r.verity;
  if (!v) return [];
  const what =
    v.kind === "ddi" ? `DDI (${v.filesystem} + dm-verity sha256)` : `${v.filesystem} + verity sidecar files`;
  const lines = [`  verity:  ${what}`, `  root hash: ${v.rootHash}`];
  if (v.signed) lines.push(`  signed by: ${v.signer} (certificate sha256 ${v.certificateFingerprint})`);
  else if (v.signLater)
    lines.push(
      `  UNSIGNED (signature to come): sign ${v.files.roothash}, then: sysextkit sign ${r.image} --signature FILE.p7s --certificate CERT`,
    );
  else
    lines.push(
      `  UNSIGNED: no --key given; ship ${v.files.roothash ?? "NAME.roothash"} next to it for dm-verity; a base requiring signed extensions (root=signed+absent) refuses it`,
    );
  for (const [k, f] of Object.entries(v.files)) lines.push(`  ${k}: ${f}`);
  return lines;
}

export function printBuild(r: BuildResult, verbose = false): void {
  const lines = [
    `built ${r.name} (${r.format}${r.compression ? `, ${r.compression}` : ""}) for ${r.base.id} ${r.base.versionId ?? "(no VERSION_ID)"} ${r.arch}`,
    `  image:   ${r.image}`,
    `  size:    ${humanSize(r.size)} (${r.size} bytes), ${r.entries} entries`,
    ...(r.sha256 ? [`  sha256:  ${r.sha256}`] : []),
    ...verityLines(r),
    `  release: ${r.releaseFile}`,
    ...Object.entries(r.release).map(([k, v]) => `    ${k}=${v}`),
  ];
  lines.push(...summarizeFindings(r.findings, verbose));
  process.stdout.write(`${lines.join("\n")}\n`);
}

async function specFor(specPath: string | undefined, flags: BuildFlags): Promise<LoadedSpec> {
  const { loadSpecFile, specFromObject } = await import("../../spec/load.js");
  const { resolveSpecRef } = await import("../../spec/catalog.js");
  if (specPath !== undefined) {
    if (flags.name || flags.dir.length || flags.tar.length || flags.exclude.length) {
      throw new SysextError("USAGE", "--name/--dir/--tar/--exclude are for building without a spec", {
        hint: "either pass an extension.yaml (its strip.paths and drop leave paths out), or --name with --dir/--tar sources",
      });
    }
    return loadSpecFile(await resolveSpecRef(specPath));
  }
  if (!flags.name || flags.dir.length + flags.tar.length === 0) {
    throw new SysextError("USAGE", "no spec given", {
      hint: "pass an extension.yaml, or --name NAME with one or more --dir PATH / --tar FILE",
    });
  }
  const { flagAdvice } = await import("../../checks/advice.js");
  return specFromObject(
    {
      name: flags.name,
      sources: [
        ...flags.dir.map((d) => ({ type: "directory", path: resolve(d) })),
        ...flags.tar.map((t) => ({ type: "tar", path: resolve(t) })),
      ],
      ...(flags.exclude.length ? { strip: { paths: flags.exclude } } : {}),
    },
    process.cwd(),
    { advice: flagAdvice("--exclude") },
  );
}

/** Errors and warnings one per line; info findings counted per code unless verbose. */
export function summarizeFindings(findings: readonly Finding[], verbose: boolean): string[] {
  const lines: string[] = [];
  const infos = new Map<string, Finding[]>();
  for (const f of findings) {
    if (f.severity !== "info" || verbose) lines.push(`  ${formatFinding(f)}`);
    else infos.set(f.code, [...(infos.get(f.code) ?? []), f]);
  }
  for (const [code, list] of infos) {
    lines.push(
      list.length === 1
        ? `  ${formatFinding(list[0]!)}`
        : `  info    ${code}: ${list.length} findings (--verbose lists them)`,
    );
  }
  return lines;
}
