// writeRelease: publish images under versioned names, build payloads, hash everything, write manifests, sign SHA256SUMS.
import { createHash } from "node:crypto";
import { copyFile, link } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import type { Finding } from "../checks/finding.js";
import { digestFile, withAtomicOutput, writeFileAtomic, type FileDigest } from "../util/fs.js";
import { createCompressedPayload } from "../payload/compressed.js";
import { createPayload } from "../payload/crau.js";
import { omahaFileName, renderNebraska, renderOmaha, renderSha256Sums } from "./formats.js";
import { SIGNATURE_FILE, signDetached } from "./gpg.js";
import { planRelease, type ReleasePlan, type WriteReleaseOptions } from "./release-plan.js";
import { releaseManifestSchema, type ExtensionEntry, type ReleaseManifest } from "./schema.js";
import {
  extensionPattern,
  osImageName,
  publishedImageName,
  stagePattern,
  sysupdateFiles,
  sysupdateFileNames,
} from "./sysupdate.js";

export type { ReleaseExtensionInput, ReleasePlan, WriteReleaseOptions } from "./release-plan.js";

export interface ReleaseResult {
  readonly outDir: string;
  readonly manifest: ReleaseManifest;
  /** Every published file name (relative to outDir), sorted. */
  readonly files: string[];
  readonly findings: Finding[];
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
  return publishRelease(await planRelease(options));
}

/** Publish one extension's image and payloads into outDir; returns its manifest entry. */
async function publishExtension(
  plan: ReleasePlan,
  i: number,
  files: Map<string, FileDigest>,
): Promise<ExtensionEntry> {
  const { options, version } = plan;
  const e = plan.extensions[i]!;
  const imageDigest = plan.imageDigests[i]!;
  const updateVersion = plan.updateVersions[i]!;
  const osVersion = options.base.versionId;
  const imageName = publishedImageName(e.name, osVersion, updateVersion, e.arch);
  const imagePath = join(options.outDir, imageName);
  await publishImage(e.image, imagePath);
  files.set(imageName, imageDigest);
  const osImage = osImageName(e.name, osVersion, e.arch);
  await publishImage(imagePath, join(options.outDir, osImage));
  files.set(osImage, imageDigest);
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
  for (const kind of plan.compressed) {
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
  return {
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
    sysupdate: {
      version: updateVersion,
      matchPattern: extensionPattern(e.name),
      osImage,
      stagePattern: stagePattern(e.name),
      files: sysupdateFileNames(e.name, plan.skeleton.sysupdateUrl !== undefined),
    },
    payloads,
  };
}

/**
 * Write a planned release: images and payloads first, then (once every named file exists and is hashed)
 * the manifests, each atomically, manifest.json last so that its presence marks a complete release.
 */
export async function publishRelease(plan: ReleasePlan): Promise<ReleaseResult> {
  const { options } = plan;
  const files = new Map<string, FileDigest>();
  const entries: ExtensionEntry[] = [];
  for (const i of plan.extensions.keys()) entries.push(await publishExtension(plan, i, files));
  const manifest = releaseManifestSchema.parse({ ...plan.skeleton, extensions: entries });

  const texts = new Map<string, string>();
  texts.set(omahaFileName(manifest), renderOmaha(manifest));
  texts.set("nebraska-package.json", renderNebraska(manifest));
  const url = manifest.sysupdateUrl;
  for (const e of manifest.extensions)
    for (const f of sysupdateFiles(e.name, { verify: plan.gpgKey !== undefined, ...(url ? { url } : {}) }))
      texts.set(f.file, f.text);
  const manifestText = `${JSON.stringify(manifest, null, 2)}\n`;
  texts.set("manifest.json", manifestText);
  const sums = [...files.entries()].map(([name, d]) => ({ name, sha256: d.sha256 }));
  for (const [name, text] of texts) sums.push({ name, sha256: sha256Hex(text) });
  texts.delete("manifest.json");
  for (const [name, text] of texts) await writeFileAtomic(join(options.outDir, name), text);
  const sumsText = renderSha256Sums(sums);
  await writeFileAtomic(join(options.outDir, "SHA256SUMS"), sumsText);
  if (plan.gpgKey) {
    const sig = await signDetached(Buffer.from(sumsText), plan.gpgKey);
    await writeFileAtomic(join(options.outDir, SIGNATURE_FILE), sig);
  }
  await writeFileAtomic(join(options.outDir, "manifest.json"), manifestText);
  const published = [
    ...sums.map((s) => s.name),
    "SHA256SUMS",
    ...(plan.gpgKey ? [SIGNATURE_FILE] : []),
  ].sort();
  return { outDir: options.outDir, manifest, files: published, findings: [...plan.findings] };
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}
