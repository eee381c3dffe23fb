// writeRelease: publish images under versioned names, build payloads, hash everything, then write manifests.
import { createHash } from "node:crypto";
import { copyFile, link, readFile, stat } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { isSystemdArch } from "../base/arch.js";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import { digestFile, exists, withAtomicOutput, writeFileAtomic, type FileDigest } from "../util/fs.js";
import { createCompressedPayload, type CompressionKind } from "../payload/compressed.js";
import { createPayload, loadSigningKeys } from "../payload/crau.js";
import {
  omahaFileName,
  renderNebraska,
  renderOmaha,
  renderSha256Sums,
  renderSysupdateTransfer,
  sysupdatePattern,
  versionedImageName,
} from "./formats.js";
import {
  releaseManifestSchema,
  type ExtensionEntry,
  type MainPayload,
  type ReleaseManifest,
} from "./schema.js";

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
  /** PEM RSA private keys for the CrAU payloads, throwaway first, real key last. */
  readonly keys: readonly string[];
  readonly mainPayload?: { readonly file: string } | MainPayload;
  readonly baseUrl?: string;
  /** Release version; default base.versionId. */
  readonly version?: string;
  readonly compressed?: readonly CompressionKind[];
  readonly workers?: number;
}

export interface ReleaseResult {
  readonly outDir: string;
  readonly manifest: ReleaseManifest;
  /** Every published file name (relative to outDir), sorted. */
  readonly files: string[];
  readonly findings: Finding[];
}

const invalid = (message: string, hint: string, field?: string) =>
  new SysextError("RELEASE_INVALID", message, { hint, ...(field ? { location: { field } } : {}) });

async function resolveMain(main: WriteReleaseOptions["mainPayload"]): Promise<MainPayload | undefined> {
  if (!main) return undefined;
  if (!("file" in main)) return main;
  if (!(await exists(main.file)) || !(await stat(main.file)).isFile()) {
    throw invalid(
      `main payload ${main.file} does not exist`,
      "pass the OS update payload file (e.g. flatcar_production_update.gz) or its name, size and hashes",
      "mainPayload",
    );
  }
  const d = await digestFile(main.file);
  return { name: basename(main.file), size: d.size, sha1Base64: d.sha1Base64, sha256: d.sha256 };
}

/** What makes two releases the same: everything except derived payload bytes. */
function identity(m: ReleaseManifest): string {
  return JSON.stringify({
    version: m.version,
    base: m.base,
    baseUrl: m.baseUrl ?? null,
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

async function publishImage(src: string, dest: string): Promise<void> {
  if (resolve(src) === resolve(dest)) return;
  await withAtomicOutput(dest, async (tmp) => {
    try {
      await link(src, tmp);
    } catch {
      await copyFile(src, tmp);
    }
  });
}

/** Publish a release directory: versioned images, CrAU and compressed payloads, and every manifest. */
export async function writeRelease(options: WriteReleaseOptions): Promise<ReleaseResult> {
  const version = options.version ?? options.base.versionId;
  const findings: Finding[] = [];
  if (!/^[A-Za-z0-9._+-]+$/.test(version)) {
    throw invalid(
      `release version ${JSON.stringify(version)} has characters sysupdate does not accept`,
      "use only [A-Za-z0-9._+-]",
      "version",
    );
  }
  if (options.extensions.length === 0)
    throw invalid("the release has no extensions", "add at least one extension");
  const exts = [...options.extensions].sort((a, b) =>
    Buffer.compare(Buffer.from(a.name), Buffer.from(b.name)),
  );
  const arches = new Set(exts.map((e) => e.arch));
  if (arches.size > 1) {
    throw invalid(
      `extensions span architectures ${[...arches].join(", ")}`,
      "write one release directory per architecture (OUT/<arch>/), as Omaha serves one architecture per response",
    );
  }
  const digests = new Map<string, FileDigest>();
  for (const [i, e] of exts.entries()) {
    if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(e.name))
      throw invalid(
        `extension name ${JSON.stringify(e.name)} is not a plain file name`,
        "use letters, digits, '.', '_' and '-'",
        `extensions[${i}].name`,
      );
    if (exts.findIndex((x) => x.name === e.name) !== i)
      throw invalid(
        `extension ${e.name} is listed twice`,
        "list each extension once per release",
        `extensions[${i}].name`,
      );
    if (!isSystemdArch(e.arch))
      throw invalid(
        `architecture ${JSON.stringify(e.arch)} is not a systemd architecture name`,
        "use x86-64, arm64, ... (the spelling of ARCHITECTURE=)",
        `extensions[${i}].arch`,
      );
    if (!(await exists(e.image)))
      throw invalid(
        `image ${e.image} of extension ${e.name} does not exist`,
        "build the extension first",
        `extensions[${i}].image`,
      );
    const d = await digestFile(e.image);
    if (d.size === 0 || d.size % 4096 !== 0) {
      throw new SysextError(
        "PAYLOAD_INVALID",
        `image ${e.image} is ${d.size} bytes, not a non-zero multiple of 4096`,
        {
          location: { file: e.image },
          hint: "pad the image to a multiple of 4096 bytes (sysextkit build does this)",
        },
      );
    }
    digests.set(e.name, d);
    if (!e.nonStrictName) {
      findings.push({
        code: "sysupdate-strict-name",
        severity: "warning",
        message: `extension ${e.name} is published as ${versionedImageName(e.name, version, e.arch)} but its release file lacks user.extension-release.strict=0: installed under that name (not via the ${e.name}.raw symlink) systemd-sysext refuses it`,
        hint: "set release.nonStrictName: true in the extension spec",
      });
    }
    const id = e.release.ID;
    if (
      id !== undefined &&
      id !== "_any" &&
      (id !== options.base.id || (e.release.VERSION_ID ?? options.base.versionId) !== options.base.versionId)
    ) {
      findings.push({
        code: "release-base-mismatch",
        severity: "warning",
        message: `extension ${e.name} declares ID=${id} VERSION_ID=${e.release.VERSION_ID ?? ""}, the release is for ${options.base.id} ${options.base.versionId}`,
        hint: "build the extension against the release's base",
      });
    }
  }
  const keys = await loadSigningKeys(options.keys);
  const main = await resolveMain(options.mainPayload);
  const kinds = [...new Set(options.compressed ?? [])].sort();

  // The planned identity must match any release already in outDir, before anything is written.
  const planned: ReleaseManifest = {
    schemaVersion: 1,
    version,
    base: { id: options.base.id, versionId: options.base.versionId },
    ...(options.baseUrl ? { baseUrl: options.baseUrl } : {}),
    ...(main ? { mainPayload: main } : {}),
    extensions: [],
  };
  const manifestPath = join(options.outDir, "manifest.json");
  const fingerprints = keys.map((k) => k.fingerprint);
  const plannedIdentity = identity({
    ...planned,
    extensions: exts.map((e) => ({
      name: e.name,
      arch: e.arch,
      image: { file: "", size: 0, sha256: digests.get(e.name)!.sha256, sha1Base64: "" },
      release: { ...e.release },
      ...(e.sysextVersionId ? { sysextVersionId: e.sysextVersionId } : {}),
      install: { versionedName: "", symlink: "" },
      payloads: [
        { kind: "crau" as const, keyFingerprints: fingerprints },
        ...kinds.map((k) => ({ kind: k, keyFingerprints: [] })),
      ].map((p) => ({ file: "", size: 0, sha256: "", sha1Base64: "", ...p })),
    })),
  });
  if (await exists(manifestPath)) {
    let same = false;
    try {
      same =
        identity(releaseManifestSchema.parse(JSON.parse(await readFile(manifestPath, "utf8")))) ===
        plannedIdentity;
    } catch {
      same = false;
    }
    if (!same) {
      throw new SysextError("OUTPUT_EXISTS", `${options.outDir} already holds a different release`, {
        location: { file: manifestPath },
        hint: "choose an empty output directory (releases are immutable once published)",
      });
    }
  }

  const files = new Map<string, FileDigest>();
  const entries: ExtensionEntry[] = [];
  for (const e of exts) {
    const imageName = versionedImageName(e.name, version, e.arch);
    const imagePath = join(options.outDir, imageName);
    await publishImage(e.image, imagePath);
    const imageDigest = await digestFile(imagePath);
    files.set(imageName, imageDigest);
    const crau = await createPayload({
      image: imagePath,
      keys: options.keys,
      outDir: options.outDir,
      name: e.name,
      ...(options.workers ? { workers: options.workers } : {}),
    });
    files.set(basename(crau.file), crau);
    files.set(basename(crau.sha256File), await digestFile(crau.sha256File));
    const payloads: ExtensionEntry["payloads"] = [
      {
        file: basename(crau.file),
        kind: "crau",
        size: crau.size,
        sha256: crau.sha256,
        sha1Base64: crau.sha1Base64,
        keyFingerprints: crau.keyFingerprints,
      },
    ];
    for (const kind of kinds) {
      const c = await createCompressedPayload(imagePath, options.outDir, kind);
      files.set(basename(c.file), c);
      payloads.push({
        file: basename(c.file),
        kind,
        size: c.size,
        sha256: c.sha256,
        sha1Base64: c.sha1Base64,
        keyFingerprints: [],
      });
    }
    entries.push({
      name: e.name,
      arch: e.arch,
      image: {
        file: imageName,
        size: imageDigest.size,
        sha256: imageDigest.sha256,
        sha1Base64: imageDigest.sha1Base64,
      },
      release: Object.fromEntries(
        Object.entries(e.release).sort(([a], [b]) => Buffer.compare(Buffer.from(a), Buffer.from(b))),
      ),
      ...(e.sysextVersionId ? { sysextVersionId: e.sysextVersionId } : {}),
      install: { versionedName: `${e.name}-${version}.raw`, symlink: `/etc/extensions/${e.name}.raw` },
      ...(options.baseUrl
        ? { sysupdate: { transfer: `${e.name}.conf`, matchPattern: sysupdatePattern(e.name) } }
        : {}),
      payloads,
    });
  }
  const manifest = releaseManifestSchema.parse({ ...planned, extensions: entries });

  // Every named file exists and is hashed; render the manifests, then write them (manifest.json last).
  const texts = new Map<string, string>();
  texts.set(omahaFileName(manifest), renderOmaha(manifest));
  texts.set("nebraska-package.json", renderNebraska(manifest));
  if (options.baseUrl)
    for (const e of manifest.extensions)
      texts.set(`${e.name}.conf`, renderSysupdateTransfer(e, options.baseUrl));
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  texts.set("manifest.json", manifestText);
  const sums = [...files.entries()].map(([name, d]) => ({ name, sha256: d.sha256 }));
  for (const [name, text] of texts) sums.push({ name, sha256: sha256Hex(text) });
  texts.delete("manifest.json");
  for (const [name, text] of texts) await writeFileAtomic(join(options.outDir, name), text);
  await writeFileAtomic(join(options.outDir, "SHA256SUMS"), renderSha256Sums(sums));
  await writeFileAtomic(manifestPath, manifestText);
  const published = [...sums.map((s) => s.name), "SHA256SUMS"].sort();
  return { outDir: options.outDir, manifest, files: published, findings };
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
