// Planning a release directory: validate inputs, hash images, load keys, refuse an outDir holding another release.
import { readdir, readFile, stat } from "node:fs/promises";
import { basename, join } from "node:path";
import { isSystemdArch } from "../base/arch.js";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import { digestFile, exists, type FileDigest } from "../util/fs.js";
import { tempOwner } from "../util/temp.js";
import type { CompressionKind } from "../payload/compressed.js";
import { requireBlockMultiple } from "../payload/image-io.js";
import type { SigningKey } from "../payload/keys.js";
import { loadSigningKeys, type SigningKeyInput } from "../payload/sign.js";
import type { SecretRef } from "../util/secret.js";
import { loadGpgSigningKey, type GpgSigningKey } from "./gpg.js";
import { extensionUpdateVersion, osImageName, publishedImageName, sysupdateFiles } from "./sysupdate.js";
import { releaseManifestSchema, type MainPayload, type ReleaseManifest } from "./schema.js";

export interface ReleaseExtensionInput {
  readonly name: string;
  /** systemd architecture (x86-64, arm64, ...). */
  readonly arch: string;
  /** The built raw image. */
  readonly image: string;
  readonly release: Readonly<Record<string, string>>;
  readonly sysextVersionId?: string;
  /** The image's release file carries user.extension-release.strict=0 (merges under any file name). */
  readonly nonStrictName: boolean;
}

export interface WriteReleaseOptions {
  readonly outDir: string;
  readonly base: { readonly id: string; readonly versionId: string };
  readonly extensions: readonly ReleaseExtensionInput[];
  /**
   * RSA private keys for the CrAU payloads, throwaway first, real key last (at most 3): each a file path,
   * `env:NAME`, `-` (standard input), PEM text given by value (util/secret), or an already loaded key.
   */
  readonly keys: readonly SigningKeyInput[];
  readonly mainPayload?: { readonly file: string } | MainPayload;
  readonly baseUrl?: string;
  /** Where systemd-sysupdate fetches from (Path= of the source drop-ins); default baseUrl. */
  readonly sysupdateUrl?: string;
  /**
   * OpenPGP secret key that signs SHA256SUMS into SHA256SUMS.gpg (file, env:NAME or -, or a key loaded with
   * loadGpgSigningKey); the sysupdate transfers then say Verify=true.
   */
  readonly gpgKey?: SecretRef | GpgSigningKey;
  /** Passphrase of a protected gpgKey (file, env:NAME or -). */
  readonly gpgPassphrase?: SecretRef;
  /** Release version; default base.versionId. */
  readonly version?: string;
  readonly compressed?: readonly CompressionKind[];
  readonly workers?: number;
}

/** A checked release, ready to publish: nothing has been written yet. */
export interface ReleasePlan {
  readonly options: WriteReleaseOptions;
  readonly version: string;
  /** The extensions, sorted byte-wise by name. */
  readonly extensions: readonly ReleaseExtensionInput[];
  /** Digest of each extension's image, in the order of `extensions` (published images are links or copies). */
  readonly imageDigests: readonly FileDigest[];
  /** The extension version sysupdate compares (`@v`), in the order of `extensions`. */
  readonly updateVersions: readonly string[];
  /** The key that signs SHA256SUMS, loaded and unlocked. */
  readonly gpgKey: GpgSigningKey | undefined;
  readonly compressed: readonly CompressionKind[];
  /** The signing keys, loaded once. */
  readonly keys: readonly SigningKey[];
  /** manifest.json without its extensions (they are filled in once every file is hashed). */
  readonly skeleton: ReleaseManifest;
  readonly findings: readonly Finding[];
}

const VERSION_RE = /^[A-Za-z0-9._+-]+$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

const invalid = (message: string, hint: string, field?: string) =>
  new SysextError("RELEASE_INVALID", message, { hint, ...(field ? { location: { field } } : {}) });

/** The main OS payload's name, size and hashes; a missing file is refused before anything is written. */
async function resolveMain(main: WriteReleaseOptions["mainPayload"]): Promise<MainPayload | undefined> {
  if (!main) return undefined;
  if (!("file" in main)) return main;
  if (!(await exists(main.file)) || !(await stat(main.file)).isFile()) {
    throw new SysextError("RELEASE_INVALID", `main payload ${main.file} does not exist`, {
      location: { file: main.file, field: "mainPayload" },
      hint: "pass the OS update payload file (e.g. flatcar_production_update.gz) or its name, size and hashes",
    });
  }
  const d = await digestFile(main.file);
  return { name: basename(main.file), size: d.size, sha1Base64: d.sha1Base64, sha256: d.sha256 };
}

/** What makes two releases the same: version, base, URLs, main payload, images, release keys, signers. */
function identity(m: ReleaseManifest): string {
  return JSON.stringify({
    version: m.version,
    base: m.base,
    baseUrl: m.baseUrl ?? null,
    sysupdateUrl: m.sysupdateUrl ?? null,
    signature: m.signature?.fingerprint ?? null,
    main: m.mainPayload ?? null,
    ext: m.extensions.map((e) => ({
      name: e.name,
      arch: e.arch,
      image: e.image.sha256,
      release: Object.entries(e.release).sort(),
      v: e.sysextVersionId ?? null,
      payloads: e.payloads.map((p) => [p.kind, p.keyFingerprints]),
    })),
  });
}

/** Check one extension input and hash its image; returns the image's digest. */
async function checkExtension(
  e: ReleaseExtensionInput,
  i: number,
  all: readonly ReleaseExtensionInput[],
): Promise<FileDigest> {
  const field = (k: string) => `extensions[${i}].${k}`;
  if (!NAME_RE.test(e.name))
    throw invalid(
      `extension name ${JSON.stringify(e.name)} is not a plain file name`,
      "use letters, digits, '.', '_' and '-'",
      field("name"),
    );
  if (all.findIndex((x) => x.name === e.name) !== i)
    throw invalid(
      `extension ${e.name} is listed twice`,
      "list each extension once per release",
      field("name"),
    );
  if (!isSystemdArch(e.arch))
    throw invalid(
      `architecture ${JSON.stringify(e.arch)} is not a systemd architecture name`,
      "use x86-64, arm64, ... (the spelling of ARCHITECTURE=)",
      field("arch"),
    );
  if (!(await exists(e.image)))
    throw new SysextError("RELEASE_INVALID", `image ${e.image} of extension ${e.name} does not exist`, {
      location: { file: e.image, field: field("image") },
      hint: "build the extension first (sysextkit build)",
    });
  const d = await digestFile(e.image);
  requireBlockMultiple(e.image, d.size);
  return d;
}

function extensionFindings(
  e: ReleaseExtensionInput,
  o: WriteReleaseOptions,
  updateVersion: string,
): Finding[] {
  const out: Finding[] = [];
  const osVersion = o.base.versionId;
  if (!e.nonStrictName) {
    out.push({
      code: "sysupdate-strict-name",
      severity: "warning",
      message: `extension ${e.name} is installed by systemd-sysupdate as ${osImageName(e.name, osVersion, e.arch)} (and published as ${publishedImageName(e.name, osVersion, updateVersion, e.arch)}) but its release file lacks user.extension-release.strict=0: systemd-sysext before 256 refuses it under that name`,
      hint: "set release.nonStrictName: true in the extension spec",
    });
  }
  if (e.sysextVersionId !== undefined && e.sysextVersionId !== updateVersion) {
    out.push({
      code: "sysupdate-version",
      severity: "info",
      message: `extension ${e.name}: systemd-sysupdate compares version ${updateVersion} (SYSEXT_VERSION_ID ${e.sysextVersionId} has characters sysupdate does not accept)`,
    });
  }
  const id = e.release.ID;
  const versionId = e.release.VERSION_ID ?? o.base.versionId;
  if (id !== undefined && id !== "_any" && (id !== o.base.id || versionId !== o.base.versionId)) {
    out.push({
      code: "release-base-mismatch",
      severity: "warning",
      message: `extension ${e.name} declares ID=${id} VERSION_ID=${e.release.VERSION_ID ?? ""}, the release is for ${o.base.id} ${o.base.versionId}`,
      hint: "build the extension against the release's base",
    });
  }
  return out;
}

/**
 * Validate a release before anything is written: names, architectures, images (present, multiple of
 * 4096), signing keys, the main payload, and that outDir holds no manifest.json of a different release.
 */
export async function planRelease(options: WriteReleaseOptions): Promise<ReleasePlan> {
  const version = options.version ?? options.base.versionId;
  if (!VERSION_RE.test(version)) {
    throw invalid(
      `release version ${JSON.stringify(version)} has characters sysupdate does not accept`,
      "use only [A-Za-z0-9._+-]",
      "version",
    );
  }
  if (options.extensions.length === 0)
    throw invalid("the release has no extensions", "add at least one extension", "extensions");
  const exts = [...options.extensions].sort((a, b) =>
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  const arches = new Set(exts.map((e) => e.arch));
  if (arches.size > 1) {
    throw invalid(
      `extensions span architectures ${[...arches].join(", ")}`,
      "write one release directory per architecture (OUT/<arch>/), as Omaha serves one architecture per response",
      "extensions",
    );
  }
  // A URL that cannot be written into a sysupdate file (control characters) is refused before any work.
  const sysupdateUrl = options.sysupdateUrl ?? options.baseUrl;
  if (sysupdateUrl !== undefined) sysupdateFiles(exts[0]!.name, { verify: false, url: sysupdateUrl });
  const imageDigests: FileDigest[] = [];
  const findings: Finding[] = [];
  const updateVersions: string[] = [];
  for (const [i, e] of exts.entries()) {
    imageDigests.push(await checkExtension(e, i, exts));
    updateVersions.push(extensionUpdateVersion(e.sysextVersionId, version));
    findings.push(...extensionFindings(e, options, updateVersions[i]!));
  }
  if (options.base.versionId.includes("-")) {
    findings.push({
      code: "sysupdate-os-version",
      severity: "warning",
      message: `the OS VERSION_ID ${options.base.versionId} contains '-': a sysupdate pattern <name>-%w-@v-%a.raw on an OS whose VERSION_ID is a prefix of it up to a '-' also matches these images`,
      hint: "use VERSION_IDs without '-' (sysextkit feed refuses two OS versions that collide this way)",
    });
  }
  const keys = await loadSigningKeys(options.keys);
  const gpgKey =
    typeof options.gpgKey === "string"
      ? await loadGpgSigningKey(options.gpgKey, {
          ...(options.gpgPassphrase ? { passphrase: options.gpgPassphrase } : {}),
        })
      : options.gpgKey;
  const main = await resolveMain(options.mainPayload);
  const compressed = [...new Set(options.compressed ?? [])].sort();
  const skeleton: ReleaseManifest = {
    schemaVersion: 1,
    version,
    base: { id: options.base.id, versionId: options.base.versionId },
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(sysupdateUrl ? { sysupdateUrl } : {}),
    ...(gpgKey ? { signature: { file: "SHA256SUMS.gpg" as const, fingerprint: gpgKey.fingerprint } } : {}),
    ...(main ? { mainPayload: main } : {}),
    extensions: [],
  };
  const fingerprints = keys.map((k) => k.fingerprint);
  const planned = identity({
    ...skeleton,
    extensions: exts.map((e, i) => ({
      name: e.name,
      arch: e.arch,
      image: { file: "", size: 0, sha256: imageDigests[i]!.sha256, sha1Base64: "" },
      release: { ...e.release },
      ...(e.sysextVersionId ? { sysextVersionId: e.sysextVersionId } : {}),
      install: { versionedName: "", symlink: "" },
      sysupdate: { version: "x", matchPattern: "", osImage: "x", stagePattern: "", files: [] },
      payloads: [
        { kind: "crau" as const, keyFingerprints: fingerprints },
        ...compressed.map((k) => ({ kind: k, keyFingerprints: [] })),
      ].map((p) => ({ file: "", size: 0, sha256: "", sha1Base64: "", ...p })),
    })),
  });
  await refuseOtherRelease(options.outDir, planned);
  return {
    options,
    version,
    extensions: exts,
    imageDigests,
    updateVersions,
    gpgKey,
    compressed,
    keys,
    skeleton,
    findings,
  };
}

/**
 * An outDir whose manifest.json describes another release (or cannot be read), or that holds files but no
 * release, is never written into. Leftovers of killed runs (PID-tagged temporary names) do not count.
 */
async function refuseOtherRelease(outDir: string, planned: string): Promise<void> {
  const manifestPath = join(outDir, "manifest.json");
  if (!(await exists(manifestPath))) {
    const names = (await readdir(outDir).catch(() => [] as string[])).filter(
      (n) => tempOwner(n) === undefined,
    );
    if (names.length > 0) {
      throw new SysextError(
        "OUTPUT_EXISTS",
        `${outDir} is not empty and holds no release (no manifest.json)`,
        {
          location: { file: outDir },
          hint: `choose an empty output directory; ${outDir} holds ${names.slice(0, 5).join(", ")}${names.length > 5 ? ", ..." : ""}`,
        },
      );
    }
    return;
  }
  let same = false;
  try {
    same =
      identity(releaseManifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")))) === planned;
  } catch {
    same = false;
  }
  if (!same) {
    throw new SysextError("OUTPUT_EXISTS", `${outDir} already holds a different release`, {
      location: { file: manifestPath },
      hint: "choose an empty output directory (releases are immutable once published)",
    });
  }
}
