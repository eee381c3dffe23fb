// updateFeed: add releases to a sysupdate feed, the directory systemd-sysupdate's Source Path= points to (all images, one signed SHA256SUMS).
//
// A release directory holds one OS release's images; hosts need every extension version of their OS
// release (and the next OS's image for staging) behind one URL. A feed collects the published images of
// any number of releases (hard links where possible), keeps `<name>_<OS>_<arch>.raw` pointing at the
// newest image of each OS release, and rewrites feed.json, SHA256SUMS and SHA256SUMS.gpg. Published
// names are immutable: an image already in the feed with other content is refused.
import { createHash } from "node:crypto";
import { copyFile, link, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SysextError } from "../errors.js";
import { digestFile, exists, withAtomicOutput, withAtomicOutputs, writeFileAtomic } from "../util/fs.js";
import { withLock } from "../util/lock.js";
import type { SecretRef } from "../util/secret.js";
import {
  collidingOsVersions,
  feedSchema,
  newestImages,
  type Feed,
  type FeedImage,
  type FeedNewest,
} from "./feed-schema.js";
import { renderSha256Sums } from "./formats.js";
import {
  exportPublicKeyring,
  loadGpgSigningKey,
  SIGNATURE_FILE,
  signDetached,
  type GpgSigningKey,
} from "./gpg.js";
import { releaseManifestSchema, type ReleaseManifest } from "./schema.js";
import { isSysupdateVersion, osImageName, publishedImageName } from "./sysupdate.js";

export const FEED_INDEX = "feed.json";

export interface UpdateFeedOptions {
  /** The feed directory (created when missing). */
  readonly dir: string;
  /** Release directories written by writeRelease (their manifest.json names the images). */
  readonly releases: readonly string[];
  /** OpenPGP secret key that signs SHA256SUMS (required once a feed is signed): a reference or a loaded key. */
  readonly gpgKey?: SecretRef | GpgSigningKey;
  readonly gpgPassphrase?: SecretRef;
  /** Write the signing key's public keyring here (binary; a host installs it as import-pubring.pgp/.gpg). */
  readonly gpgExportPublic?: string;
}

export interface FeedResult {
  readonly dir: string;
  readonly feed: Feed;
  /** Image files added by this call. */
  readonly added: string[];
  /** Every file of the feed, sorted. */
  readonly files: string[];
  readonly newest: FeedNewest[];
}

const invalid = (message: string, hint: string, file?: string) =>
  new SysextError("RELEASE_INVALID", message, { hint, ...(file ? { location: { file } } : {}) });

async function readManifest(dir: string): Promise<ReleaseManifest> {
  const file = join(dir, "manifest.json");
  try {
    return releaseManifestSchema.parse(JSON.parse(await readFile(file, "utf8")));
  } catch (e) {
    throw new SysextError(
      "RELEASE_INVALID",
      `${dir} is not a complete release: ${(e as Error).message.split("\n")[0]}`,
      {
        cause: e,
        location: { file },
        hint: "pass release directories written by sysextkit release (OUT/<arch>/)",
      },
    );
  }
}

/** The images a release contributes, each checked against its manifest entry. */
async function releaseImages(dir: string): Promise<Array<FeedImage & { path: string }>> {
  const m = await readManifest(dir);
  const out: Array<FeedImage & { path: string }> = [];
  for (const e of m.extensions) {
    const path = join(dir, e.image.file);
    const d = await digestFile(path);
    if (d.sha256 !== e.image.sha256 || d.size !== e.image.size)
      throw invalid(
        `${path} does not match ${join(dir, "manifest.json")}`,
        "run sysextkit verify on the release",
        path,
      );
    const want = publishedImageName(e.name, m.base.versionId, e.sysupdate.version, e.arch);
    if (e.image.file !== want)
      throw invalid(
        `${path} is not published as ${want}`,
        "re-publish the release with this sysextkit",
        path,
      );
    out.push({
      file: e.image.file,
      name: e.name,
      arch: e.arch,
      osId: m.base.id,
      osVersion: m.base.versionId,
      version: e.sysupdate.version,
      size: d.size,
      sha256: d.sha256,
      path,
    });
  }
  return out;
}

async function loadFeed(dir: string): Promise<Feed | undefined> {
  const file = join(dir, FEED_INDEX);
  if (!(await exists(file))) {
    const entries = (await readdir(dir)).filter((n) => !n.startsWith("."));
    if (entries.length > 0)
      throw new SysextError("OUTPUT_EXISTS", `${dir} holds files but no ${FEED_INDEX}: not a feed`, {
        location: { file: dir },
        hint: "choose an empty or missing directory for a new feed",
      });
    return undefined;
  }
  try {
    return feedSchema.parse(JSON.parse(await readFile(file, "utf8")));
  } catch (e) {
    throw new SysextError("RELEASE_INVALID", `${file} is not a valid feed index`, {
      cause: e,
      location: { file },
      hint: "restore it from a backup, or build the feed again from its release directories",
    });
  }
}

/** Hard link (or copy) `src` to `dest` atomically, replacing what is there. */
async function place(src: string, dest: string): Promise<void> {
  await withAtomicOutput(dest, async (tmp) => {
    try {
      await link(src, tmp);
    } catch {
      await copyFile(src, tmp);
    }
  });
}

/** Add release directories to a feed; rewrites the staging names, feed.json, SHA256SUMS and its signature. */
export async function updateFeed(o: UpdateFeedOptions): Promise<FeedResult> {
  const dir = resolve(o.dir);
  if (o.gpgExportPublic !== undefined && o.gpgKey === undefined)
    throw new SysextError("USAGE", "--gpg-export-public needs --gpg-key", {
      hint: "pass --gpg-key KEY with it",
    });
  const key =
    typeof o.gpgKey === "string"
      ? await loadGpgSigningKey(o.gpgKey, o.gpgPassphrase ? { passphrase: o.gpgPassphrase } : {})
      : o.gpgKey;
  const incoming: Array<FeedImage & { path: string }> = [];
  for (const r of o.releases) incoming.push(...(await releaseImages(r)));
  await mkdir(dir, { recursive: true });
  const result = await withLock(dir, () => applyToFeed(dir, incoming, key), {
    waitMs: 120_000,
    what: `feed ${dir}`,
  });
  if (key && o.gpgExportPublic !== undefined)
    await writeFileAtomic(o.gpgExportPublic, exportPublicKeyring(key));
  return result;
}

async function applyToFeed(
  dir: string,
  incoming: ReadonlyArray<FeedImage & { path: string }>,
  key: GpgSigningKey | undefined,
): Promise<FeedResult> {
  const old = await loadFeed(dir);
  if (old?.signature && !key)
    throw new SysextError(
      "USAGE",
      `the feed ${dir} is signed (key ${old.signature.fingerprint}); updating it needs the key`,
      {
        hint: "pass --gpg-key (its SHA256SUMS.gpg would no longer match SHA256SUMS otherwise)",
      },
    );
  const images = new Map((old?.images ?? []).map((im) => [im.file, im] as const));
  const added: string[] = [];
  const toPlace: Array<[string, string]> = [];
  for (const { path, ...im } of incoming) {
    const have = images.get(im.file);
    if (have) {
      if (have.sha256 !== im.sha256)
        throw invalid(
          `${im.file} is already in the feed with other content`,
          "published names are immutable: give the new build another extension version",
          path,
        );
      continue;
    }
    images.set(im.file, im);
    added.push(im.file);
    toPlace.push([path, join(dir, im.file)]);
  }
  const all = [...images.values()].sort((a, b) => (a.file < b.file ? -1 : 1));
  checkConsistent(all);

  const newest = newestImages(all);
  const osImages = newest
    .map((n) => ({ file: osImageName(n.name, n.osVersion, n.arch), image: n.file }))
    .sort((a, b) => (a.file < b.file ? -1 : 1));
  const feed: Feed = {
    schemaVersion: 1,
    images: all,
    osImages,
    ...(key ? { signature: { file: SIGNATURE_FILE, fingerprint: key.fingerprint } } : {}),
  };
  const feedText = `${JSON.stringify(feedSchema.parse(feed), null, 2)}\n`;
  const bySha = new Map(all.map((im) => [im.file, im.sha256] as const));
  const sums = [
    ...all.map((im) => ({ name: im.file, sha256: im.sha256 })),
    ...osImages.map((a) => ({ name: a.file, sha256: bySha.get(a.image)! })),
    { name: FEED_INDEX, sha256: createHash("sha256").update(feedText).digest("hex") },
  ];
  const sumsText = renderSha256Sums(sums);
  // Signed before anything in the feed changes: a key that cannot sign leaves the old feed as it was.
  const signature = key ? await signDetached(Buffer.from(sumsText), key) : undefined;

  for (const [src, dest] of toPlace) await place(src, dest);
  const oldAlias = new Map((old?.osImages ?? []).map((a) => [a.file, a.image] as const));
  for (const a of osImages)
    if (oldAlias.get(a.file) !== a.image || !(await exists(join(dir, a.file))))
      await place(join(dir, a.image), join(dir, a.file));

  // feed.json, SHA256SUMS and SHA256SUMS.gpg are published together: all three are written under
  // temporary names first, then renamed with the signature last. A run killed between the renames leaves
  // its PID-tagged temporaries, which verifyFeed reports as "incomplete" and the next run removes.
  const published = [
    { file: join(dir, FEED_INDEX), data: feedText },
    { file: join(dir, "SHA256SUMS"), data: sumsText },
    ...(signature ? [{ file: join(dir, SIGNATURE_FILE), data: signature }] : []),
  ];
  await withAtomicOutputs(
    published.map((p) => p.file),
    async (tmps) => {
      for (const [i, p] of published.entries()) await writeFile(tmps[i]!, p.data, { mode: 0o644 });
    },
  );
  const files = [...sums.map((s) => s.name), "SHA256SUMS", ...(key ? [SIGNATURE_FILE] : [])].sort();
  return { dir, feed, added, files, newest };
}

/** One OS ID per feed, valid versions, and no two OS versions sysupdate's %w pattern would confuse. */
function checkConsistent(all: readonly FeedImage[]): void {
  const ids = [...new Set(all.map((im) => im.osId))];
  if (ids.length > 1)
    throw invalid(
      `the feed would mix images of OS ${ids.join(" and ")}`,
      "use one feed per OS: sysupdate's %w is only the VERSION_ID, so two OSes with equal VERSION_IDs would collide",
    );
  for (const im of all)
    if (!isSysupdateVersion(im.osVersion) || !isSysupdateVersion(im.version))
      throw invalid(
        `${im.file}: OS version ${im.osVersion} or version ${im.version} is not a sysupdate version`,
        "use [A-Za-z0-9.,_+-]",
      );
  const clash = collidingOsVersions(all.map((im) => im.osVersion));
  if (clash)
    throw invalid(
      `OS versions ${clash[0]} and ${clash[1]} collide: on ${clash[0]} the pattern <name>-%w-@v-%a.raw also matches the images of ${clash[1]}`,
      "keep OS releases whose VERSION_IDs differ by a '-' suffix in separate feeds",
    );
}
