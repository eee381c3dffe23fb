// `sysextkit build`: build one extension image from a spec (or from --dir/--tar sources) for a base release.
import type { Command } from "commander";
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
    .option("--format <format>", "squashfs | erofs | directory (default from the spec, else squashfs)")
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

export function printBuild(r: BuildResult, verbose = false): void {
  const lines = [
    `built ${r.name} (${r.format}${r.compression ? `, ${r.compression}` : ""}) for ${r.base.id} ${r.base.versionId ?? "(no VERSION_ID)"} ${r.arch}`,
    `  image:   ${r.image}`,
    `  size:    ${humanSize(r.size)} (${r.size} bytes), ${r.entries} entries`,
    ...(r.sha256 ? [`  sha256:  ${r.sha256}`] : []),
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
