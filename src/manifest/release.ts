// writeRelease: publish images under versioned names, build payloads, write manifests, sign SHA256SUMS; staged, then renamed.
import { copyFile, link, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Finding } from "../checks/finding.js";
import { SysextError } from "../errors.js";
import { removeOnSignal, sweepStaleOnce, tempSibling } from "../util/temp.js";
import { createCompressedPayload } from "../payload/compressed.js";
import { createPayload } from "../payload/crau.js";
import { signDetached } from "./gpg.js";
import { releaseFiles } from "./generated.js";
import { planRelease, type ReleasePlan, type WriteReleaseOptions } from "./release-plan.js";
import { releaseManifestSchema, type ExtensionEntry, type ReleaseManifest } from "./schema.js";
import {
  extensionPattern,
  osImageName,
  publishedImageName,
  stagePattern,
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

/** Place an image into the staging directory: a hard link when possible, else a copy. */
async function publishImage(src: string, dest: string): Promise<void> {
  try {
    await link(src, dest);
  } catch {
    await copyFile(src, dest);
  }
}

/** Publish a release directory: versioned images, CrAU and compressed payloads, and every manifest. */
export async function writeRelease(options: WriteReleaseOptions): Promise<ReleaseResult> {
  return publishRelease(await planRelease(options));
}

/** Write one extension's image and payloads into the staging directory; returns its manifest entry. */
async function publishExtension(plan: ReleasePlan, stage: string, i: number): Promise<ExtensionEntry> {
  const { options, version } = plan;
  const e = plan.extensions[i]!;
  const imageDigest = plan.imageDigests[i]!;
  const updateVersion = plan.updateVersions[i]!;
  const osVersion = options.base.versionId;
  const imageName = publishedImageName(e.name, osVersion, updateVersion, e.arch);
  const imagePath = join(stage, imageName);
  await publishImage(e.image, imagePath);
  const osImage = osImageName(e.name, osVersion, e.arch);
  await publishImage(imagePath, join(stage, osImage));
  const crau = await createPayload({
    image: imagePath,
    keys: plan.keys,
    outDir: stage,
    name: e.name,
    ...(options.workers ? { workers: options.workers } : {}),
  });
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
    const c = await createCompressedPayload(imagePath, stage, kind);
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
 * Write a planned release into a staging directory beside outDir (images and payloads first, then the
 * generated texts, manifest.json last), then publish it with one rename: a reader sees no release or the
 * complete one. An outDir that already holds this same release (byte-identical manifest.json) is
 * refreshed file by file with identical content, manifest.json last, so it is complete at every moment.
 */
export async function publishRelease(plan: ReleasePlan): Promise<ReleaseResult> {
  const outDir = resolve(plan.options.outDir);
  await mkdir(dirname(outDir), { recursive: true });
  await sweepStaleOnce(dirname(outDir));
  await sweepStaleOnce(outDir);
  const stage = tempSibling(outDir);
  const untrack = removeOnSignal(stage);
  try {
    await mkdir(stage);
    const entries: ExtensionEntry[] = [];
    for (const i of plan.extensions.keys()) entries.push(await publishExtension(plan, stage, i));
    const manifest = releaseManifestSchema.parse({ ...plan.skeleton, extensions: entries });
    const { binaries, texts, signature } = releaseFiles(manifest);
    // Payload checksums were written with their payloads; SHA256SUMS, its signature, manifest.json go last.
    for (const [name, text] of texts) {
      if (name.endsWith(".sha256") || name === "manifest.json") continue;
      await writeFile(join(stage, name), text, { mode: 0o644 });
    }
    if (signature && plan.gpgKey) {
      const sig = await signDetached(Buffer.from(texts.get("SHA256SUMS")!), plan.gpgKey);
      await writeFile(join(stage, signature), sig, { mode: 0o644 });
    }
    await writeFile(join(stage, "manifest.json"), texts.get("manifest.json")!, { mode: 0o644 });
    const last = ["SHA256SUMS", ...(signature ? [signature] : []), "manifest.json"];
    await commit(stage, outDir, last);
    const names = [...binaries.keys(), ...texts.keys(), ...(signature ? [signature] : [])];
    return { outDir, manifest, files: names.sort(), findings: [...plan.findings] };
  } finally {
    await rm(stage, { recursive: true, force: true });
    untrack();
  }
}

/** Move the staged release into place (see publishRelease); the files in `last` are moved last, in order. */
async function commit(stage: string, outDir: string, last: readonly string[]): Promise<void> {
  try {
    // rename(2) replaces a missing or empty directory atomically.
    await rename(stage, outDir);
    return;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
  }
  const staged = await readFile(join(stage, "manifest.json"));
  const current = await readFile(join(outDir, "manifest.json")).catch(() => undefined);
  if (!current || !current.equals(staged)) {
    throw new SysextError("OUTPUT_EXISTS", `${outDir} already holds files of another release`, {
      location: { file: outDir },
      hint: "releases are immutable once published: write to a new, empty directory",
    });
  }
  const first = (await readdir(stage)).filter((n) => !last.includes(n)).sort();
  for (const n of [...first, ...last]) await rename(join(stage, n), join(outDir, n));
}
