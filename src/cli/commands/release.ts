// `sysextkit release [RELEASE_SPEC] --out DIR`: build the extensions of a release, their payloads and all manifests.
import { Option, type Command } from "commander";
import { resolve } from "node:path";
import { SysextError } from "../../errors.js";
import { printJson, progressPrinter, table } from "../output.js";
import { collect, parseCompressedKinds, parseVars } from "./shared.js";

interface ReleaseFlags {
  out?: string;
  base?: string;
  arch: string[];
  extension: string[];
  key: string[];
  var: string[];
  mainPayload?: string;
  baseUrl?: string;
  sysupdateUrl?: string;
  gpgKey?: string;
  gpgPassphrase?: string;
  gpgExportPublic?: string;
  compressed?: string;
  version?: string;
  strict?: boolean;
  json?: boolean;
  format?: "squashfs" | "erofs" | "ddi";
  verityKey?: string;
  verityCertificate?: string;
  verityKeyPassphrase?: string;
}

function verityKeyFlags(flags: ReleaseFlags) {
  if (!flags.verityKey && !flags.verityCertificate) return {};
  if (!flags.verityKey || !flags.verityCertificate) {
    throw new SysextError("USAGE", "signing DDIs needs both --verity-key and --verity-certificate", {
      hint: "pass the private key with --verity-key and its certificate with --verity-certificate",
    });
  }
  return {
    verityKey: {
      key: flags.verityKey,
      certificate: flags.verityCertificate,
      ...(flags.verityKeyPassphrase ? { passphrase: flags.verityKeyPassphrase } : {}),
    },
  };
}

export function registerRelease(program: Command): void {
  program
    .command("release")
    .description(
      "build every extension of a release with payloads and manifests (Omaha, Nebraska, SHA256SUMS, sysupdate)",
    )
    .argument("[release-spec]", "release.yaml (default: the whole catalog; then --base is required)")
    .option("--out <dir>", "output directory (one subdirectory per architecture)")
    .option("--base <path>", "base os-release file or root directory")
    .option(
      "--arch <arch>",
      "architecture (repeatable; default from the spec, else this machine's)",
      collect,
      [],
    )
    .option("--extension <path>", "extension.yaml or folder (repeatable; default: the catalog)", collect, [])
    .option(
      "--key <pem>",
      "RSA private signing key: a PEM file, env:NAME or - for stdin (repeatable: throwaway first, real last)",
      collect,
      [],
    )
    .option("--var <key=value>", "set a spec variable (repeatable)", collect, [])
    .option("--main-payload <file>", "the main OS payload, listed first in the Omaha manifest")
    .option("--base-url <url>", "where the files will be published (Omaha codebase, sysupdate Path=)")
    .option(
      "--sysupdate-url <url>",
      "where systemd-sysupdate fetches from, e.g. a feed (default: --base-url)",
    )
    .option(
      "--gpg-key <key>",
      "OpenPGP secret key signing SHA256SUMS (file, env:NAME or -); transfers say Verify=true",
    )
    .option("--gpg-passphrase <secret>", "passphrase of a protected --gpg-key (file, env:NAME or -)")
    .option("--gpg-export-public <file>", "write the public keyring hosts install as import-pubring.pgp/.gpg")
    .option("--compressed <kinds>", "also publish plain compressed images: zst,xz,gz")
    .option("--version <v>", "release version (default: the base VERSION_ID)")
    .option("--strict", "treat warnings as errors")
    .addOption(
      new Option("--format <format>", "image format of every extension (default: each spec's)").choices([
        "squashfs",
        "erofs",
        "ddi",
      ]),
    )
    .option("--verity-key <pem>", "sign DDI root hashes with this private key: file, env:NAME or -")
    .option("--verity-certificate <pem>", "X.509 certificate of --verity-key")
    .option("--verity-key-passphrase <ref>", "passphrase of an encrypted --verity-key")
    .option("--json", "print the result as JSON")
    .action(async (specPath: string | undefined, flags: ReleaseFlags) => {
      const { buildRelease } = await import("../../manifest/build-release.js");
      const { hostArch } = await import("../../base/arch.js");
      const { loadReleaseSpec, resolveExtensionFiles } = await import("../../manifest/release-spec.js");
      const loaded = specPath ? await loadReleaseSpec(specPath) : undefined;
      const s = loaded?.spec;
      const rel = (p: string | undefined) => (p && loaded ? resolve(loaded.dir, p) : p);
      const base = flags.base ?? rel(s?.base);
      if (!flags.out) throw new SysextError("USAGE", "--out is required", { hint: "pass --out DIR" });
      if (!base) {
        throw new SysextError("USAGE", "no base given", {
          hint: "pass --base (os-release file or root dir) or set base: in the release spec",
        });
      }
      const arches = flags.arch.length ? flags.arch : (s?.architectures ?? [hostArch()]);
      const extensions = flags.extension.length
        ? await resolveExtensionFiles(flags.extension, process.cwd())
        : s?.extensions && (await resolveExtensionFiles(s.extensions, loaded!.dir, loaded!.file));
      const bar = progressPrinter(true);
      const mainPayload = flags.mainPayload ?? rel(s?.mainPayload);
      const baseUrl = flags.baseUrl ?? s?.baseUrl;
      const sysupdateUrl = flags.sysupdateUrl ?? s?.sysupdateUrl;
      const version = flags.version ?? s?.version;
      let result;
      try {
        result = await buildRelease({
          base,
          architectures: arches,
          ...(extensions ? { extensions } : {}),
          outDir: flags.out,
          keys: flags.key,
          vars: { ...(s?.vars ?? {}), ...parseVars(flags.var) },
          ...(mainPayload ? { mainPayload } : {}),
          ...(baseUrl ? { baseUrl } : {}),
          ...(sysupdateUrl ? { sysupdateUrl } : {}),
          ...(flags.gpgKey ? { gpgKey: flags.gpgKey } : {}),
          ...(flags.gpgPassphrase ? { gpgPassphrase: flags.gpgPassphrase } : {}),
          ...(flags.gpgExportPublic ? { gpgExportPublic: flags.gpgExportPublic } : {}),
          compressed: flags.compressed ? parseCompressedKinds(flags.compressed) : (s?.compressed ?? []),
          ...(version ? { version } : {}),
          ...(flags.strict ? { strict: true } : {}),
          ...(flags.format ? { format: flags.format } : {}),
          ...verityKeyFlags(flags),
          onProgress: (m) => bar.update(m),
        });
      } finally {
        bar.done();
      }
      if (flags.json) {
        printJson({ releases: result.releases, builds: result.builds });
        return;
      }
      for (const r of result.releases) {
        process.stdout.write(`release ${r.arch}: ${r.outDir} (${r.files.length} files)\n`);
      }
      process.stdout.write(
        `${table(
          ["name", "arch", "size", "SYSEXT_VERSION_ID", "sha256"],
          result.builds.map((b) => [b.name, b.arch, String(b.size), b.version ?? "-", b.sha256 ?? "-"]),
        )}\n`,
      );
    });
}
