// Build a whole release: every extension for every architecture, then payloads and manifests per architecture.
import { join, resolve } from "node:path";
import { normalizeArch, type SystemdArch } from "../base/arch.js";
import { readBase } from "../base/base.js";
import { buildExtension, type BuildProgress, type BuildResult } from "../build.js";
import { SysextError } from "../errors.js";
import type { CompressionKind } from "../payload/compressed.js";
import { loadSpecFile } from "../spec/load.js";
import type { ImageFormat } from "../spec/schema.js";
import type { SignerInput } from "../image/ddi/signature.js";
import { loadSigningKeys, type SigningKeyInput } from "../payload/sign.js";
import { exists, writeFileAtomic } from "../util/fs.js";
import type { SecretRef } from "../util/secret.js";
import { withWorkDir } from "../util/temp.js";
import { exportPublicKeyring, loadGpgSigningKey } from "./gpg.js";
import { planRelease, type ReleasePlan } from "./release-plan.js";
import { publishRelease, type ReleaseResult } from "./release.js";
import { resolveExtensionFiles } from "./release-spec.js";

export interface BuildReleaseOptions {
  /** Base os-release file or root directory. */
  readonly base: string;
  readonly architectures: readonly string[];
  /** extension.yaml files (default: the catalog). */
  readonly extensions?: readonly string[];
  readonly outDir: string;
  /** Signing keys (throwaway first, real last): file paths, env:NAME, - (standard input) or PEM text. */
  readonly keys: readonly SigningKeyInput[];
  readonly vars?: Readonly<Record<string, string>>;
  readonly mainPayload?: string;
  readonly baseUrl?: string;
  /** Where systemd-sysupdate fetches from (default baseUrl). */
  readonly sysupdateUrl?: string;
  /** OpenPGP secret key that signs SHA256SUMS (file, env:NAME or -); read once for every architecture. */
  readonly gpgKey?: SecretRef;
  readonly gpgPassphrase?: SecretRef;
  /** Write the signing key's public keyring here (binary; a host installs it as import-pubring.pgp/.gpg). */
  readonly gpgExportPublic?: string;
  readonly compressed?: readonly CompressionKind[];
  readonly version?: string;
  readonly strict?: boolean;
  /** Image format for every extension (e.g. "ddi"); default: each spec's image.format. */
  readonly format?: ImageFormat;
  /** Sign the root hash of DDIs with this key and certificate (file, env:NAME, - or PEM). */
  readonly verityKey?: SignerInput;
  readonly onProgress?: (message: string) => void;
}

export interface BuildReleaseResult {
  /** Every build, its `image` the published <name>-<version>-<arch>.raw (builds happen in a temporary directory). */
  readonly builds: readonly BuildResult[];
  /** One release directory per architecture: <out>/<arch>/. */
  readonly releases: ReadonlyArray<ReleaseResult & { readonly arch: SystemdArch }>;
}

/**
 * Build every extension for every architecture, then publish each architecture's release directory.
 * Keys and the main payload are checked before building; every directory is planned (and an outDir
 * holding another release refused) before any of them is written.
 */
export async function buildRelease(options: BuildReleaseOptions): Promise<BuildReleaseResult> {
  const progress = options.onProgress ?? (() => undefined);
  if (options.keys.length === 0) {
    throw new SysextError("USAGE", "a release needs at least one signing key for its payloads", {
      hint: "pass --key PRIVATE.pem (create one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out key.pem)",
    });
  }
  const keys = await loadSigningKeys(options.keys);
  if (options.gpgExportPublic !== undefined && options.gpgKey === undefined) {
    throw new SysextError(
      "USAGE",
      "--gpg-export-public needs --gpg-key (the key whose public part to write)",
      {
        hint: "pass --gpg-key KEY with it",
      },
    );
  }
  const gpgKey = options.gpgKey
    ? await loadGpgSigningKey(
        options.gpgKey,
        options.gpgPassphrase ? { passphrase: options.gpgPassphrase } : {},
      )
    : undefined;
  // The DDI signing key is read once (it may come from standard input) and checked before any build.
  const verityKey = options.verityKey
    ? await (await import("../image/ddi/signature.js")).loadSigner(options.verityKey)
    : undefined;
  if (options.mainPayload !== undefined && !(await exists(options.mainPayload))) {
    throw new SysextError("RELEASE_INVALID", `main payload ${options.mainPayload} does not exist`, {
      location: { file: options.mainPayload, field: "mainPayload" },
      hint: "pass the OS update payload file (e.g. flatcar_production_update.gz)",
    });
  }
  const files = await resolveExtensionFiles(options.extensions, process.cwd());
  const specs = await Promise.all(files.map((f) => loadSpecFile(f)));
  for (const s of specs) {
    if (s.spec.image.verity === "sidecar" && (options.format ?? s.spec.image.format) !== "ddi") {
      throw new SysextError(
        "RELEASE_INVALID",
        `${s.spec.name}: images with verity sidecar files cannot be published`,
        {
          location: { ...(s.file ? { file: s.file } : {}), field: "image.verity" },
          hint: "payloads and sysupdate transfers carry one file per extension: publish it as a DDI (image.format: ddi or release --format ddi)",
        },
      );
    }
  }
  const arches = options.architectures.map((a) => normalizeArch(a, "--arch"));
  return withWorkDir("release", async (work) => {
    const plans: Array<{ arch: SystemdArch; plan: ReleasePlan; builds: BuildResult[] }> = [];
    for (const arch of arches) {
      const base = await readBase({ path: options.base, arch });
      if (!base.versionId) {
        throw new SysextError(
          "BASE_INVALID",
          `base ${base.source} has no VERSION_ID; a release is tied to one`,
          {
            location: { file: base.source, field: "VERSION_ID" },
            hint: "use the os-release of the exact base release",
          },
        );
      }
      const archBuilds: BuildResult[] = [];
      for (const loaded of specs) {
        if (loaded.spec.architectures && !loaded.spec.architectures.includes(arch)) {
          progress(`skip ${loaded.spec.name} (${arch} not in its architectures)`);
          continue;
        }
        progress(`build ${loaded.spec.name} for ${arch}`);
        const r = await buildExtension({
          spec: loaded,
          base,
          outDir: join(work, arch),
          // Published as <name>-<version>-<arch>.raw: the strict=0 xattr lets it merge under that name too.
          nonStrictName: true,
          ...(options.vars ? { vars: options.vars } : {}),
          ...(options.strict ? { strict: true } : {}),
          ...(options.format ? { format: options.format } : {}),
          ...(verityKey ? { signing: verityKey } : {}),
          onProgress: (p: BuildProgress) => progress(`${loaded.spec.name} ${arch}: ${p.message}`),
        });
        archBuilds.push(r);
      }
      const plan = await planRelease({
        outDir: resolve(options.outDir, arch),
        base: { id: base.id, versionId: base.versionId },
        extensions: archBuilds.map((b) => ({
          name: b.name,
          arch: b.arch,
          image: b.image,
          release: b.release,
          ...(b.version !== undefined ? { sysextVersionId: b.version } : {}),
          nonStrictName: b.nonStrictName,
        })),
        keys,
        ...(options.mainPayload ? { mainPayload: { file: options.mainPayload } } : {}),
        ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
        ...(options.sysupdateUrl ? { sysupdateUrl: options.sysupdateUrl } : {}),
        ...(gpgKey ? { gpgKey } : {}),
        ...(options.version ? { version: options.version } : {}),
        ...(options.compressed ? { compressed: options.compressed } : {}),
      });
      plans.push({ arch, plan, builds: archBuilds });
    }
    const releases: Array<ReleaseResult & { arch: SystemdArch }> = [];
    const builds: BuildResult[] = [];
    for (const { arch, plan, builds: archBuilds } of plans) {
      progress(`payloads and manifests for ${arch}`);
      const published = await publishRelease(plan);
      releases.push({ ...published, arch });
      // Report the published images, not the temporary build directory (removed below).
      for (const b of archBuilds) {
        const entry = published.manifest.extensions.find((x) => x.name === b.name);
        builds.push({ ...b, image: entry ? join(published.outDir, entry.image.file) : b.image });
      }
    }
    if (gpgKey && options.gpgExportPublic !== undefined)
      await writeFileAtomic(options.gpgExportPublic, exportPublicKeyring(gpgKey));
    return { builds, releases };
  });
}
