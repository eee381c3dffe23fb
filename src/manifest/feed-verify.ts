// verifyFeed: a sysupdate feed holds exactly what feed.json and SHA256SUMS say, signed, and which image is newest per OS release.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { digestFile } from "../util/fs.js";
import { tempOwner } from "../util/temp.js";
import { FEED_INDEX } from "./feed.js";
import { feedSchema, newestImages, type Feed, type FeedNewest } from "./feed-schema.js";
import { parseSha256Sums } from "./formats.js";
import { checkSignedSums, gpgNotChecked, SIGNATURE_FILE } from "./gpg.js";
import {
  matchPattern,
  extensionPattern,
  osImageName,
  publishedImageName,
  stagePattern,
} from "./sysupdate.js";

export interface FeedVerifyReport {
  readonly ok: boolean;
  readonly dir: string;
  readonly failures: string[];
  readonly warnings: string[];
  readonly feed?: Feed;
  /** What systemd-sysupdate on each OS release picks: the newest image per extension and architecture. */
  readonly newest: FeedNewest[];
  /** Whether the feed is signed, and whether SHA256SUMS.gpg was checked against a keyring. */
  readonly signatureCheck: { readonly signed: boolean; readonly checked: boolean };
}

/** Check a feed written by updateFeed; never throws for a bad feed (only for an unreadable keyring). */
export async function verifyFeed(
  dir: string,
  options: {
    readonly gpgPublicKeys?: readonly string[];
    /** Accept a signed feed without a keyring (the report then says the signature was not checked). */
    readonly noSignatureCheck?: boolean;
  } = {},
): Promise<FeedVerifyReport> {
  const failures: string[] = [];
  const warnings: string[] = [];
  let feed: Feed;
  try {
    feed = feedSchema.parse(JSON.parse(await readFile(join(dir, FEED_INDEX), "utf8")));
  } catch (e) {
    failures.push(`${FEED_INDEX}: missing or invalid: ${(e as Error).message.split("\n")[0]}`);
    return {
      ok: false,
      dir,
      failures,
      warnings,
      newest: [],
      signatureCheck: { signed: false, checked: false },
    };
  }
  const sumsText = await readFile(join(dir, "SHA256SUMS"), "utf8").catch(() => undefined);
  const sums = sumsText === undefined ? undefined : parseSha256Sums(sumsText);
  if (!sums) failures.push("SHA256SUMS: missing or not in sha256sum format");

  const sha = new Map<string, string>();
  for (const im of feed.images) {
    sha.set(im.file, im.sha256);
    if (im.file !== publishedImageName(im.name, im.osVersion, im.version, im.arch))
      failures.push(
        `${im.file}: name does not carry ${im.name}, OS ${im.osVersion}, version ${im.version}, ${im.arch}`,
      );
    const v = matchPattern(extensionPattern(im.name), im.file, { arch: im.arch, osVersion: im.osVersion });
    if (v !== im.version)
      failures.push(`${im.file}: sysupdate on ${im.osVersion} reads version ${v ?? "(no match)"}`);
  }
  const newest = newestImages(feed.images);
  const wantAlias = new Map(newest.map((n) => [osImageName(n.name, n.osVersion, n.arch), n] as const));
  for (const a of feed.osImages) {
    const n = wantAlias.get(a.file);
    if (!n) failures.push(`${a.file}: no image of that OS release in ${FEED_INDEX}`);
    else if (n.file !== a.image)
      failures.push(`${a.file}: is ${a.image}, the newest for OS ${n.osVersion} is ${n.file}`);
    else if (matchPattern(stagePattern(n.name), a.file, n) !== n.osVersion)
      failures.push(
        `${a.file}: the staging pattern ${stagePattern(n.name)} does not read OS version ${n.osVersion}`,
      );
    const s = sha.get(a.image);
    if (s) sha.set(a.file, s);
  }
  for (const name of wantAlias.keys())
    if (!feed.osImages.some((a) => a.file === name))
      failures.push(`${FEED_INDEX}: lacks the staging name ${name}`);

  // Every file is listed with the hash feed.json gives, and holds it; nothing else is in the directory.
  const listed = new Set(sums?.keys() ?? []);
  for (const [name, want] of sha) {
    if (sums && sums.get(name) !== want)
      failures.push(
        `SHA256SUMS: ${name} ${sums.has(name) ? "has another hash than" : "is not listed, but is in"} ${FEED_INDEX}`,
      );
    const d = await digestFile(join(dir, name)).catch(() => undefined);
    if (!d) failures.push(`${name}: missing`);
    else if (d.sha256 !== want) failures.push(`${name}: sha256 ${d.sha256}, ${FEED_INDEX} says ${want}`);
    listed.delete(name);
  }
  if (sums) {
    const idx = await digestFile(join(dir, FEED_INDEX));
    if (sums.get(FEED_INDEX) !== idx.sha256)
      failures.push(`SHA256SUMS: ${FEED_INDEX} is not listed with its hash`);
    listed.delete(FEED_INDEX);
    for (const extra of listed)
      failures.push(`SHA256SUMS: lists ${extra}, which ${FEED_INDEX} does not name`);
  }
  const known = new Set([...sha.keys(), FEED_INDEX, "SHA256SUMS", SIGNATURE_FILE]);
  const leftovers: string[] = [];
  for (const n of await readdir(dir)) {
    if (known.has(n)) continue;
    if (tempOwner(n) !== undefined) leftovers.push(n);
    else failures.push(`${n}: not part of the feed`);
  }
  // feed.json, SHA256SUMS and SHA256SUMS.gpg are written under temporary names before any is renamed:
  // such a name means an update is under way or was killed between the renames.
  if (leftovers.length > 0)
    failures.unshift(
      `incomplete: ${leftovers.sort().join(", ")} left by an interrupted update (run sysextkit feed again)`,
    );

  const checked = options.gpgPublicKeys !== undefined && options.gpgPublicKeys.length > 0;
  if (checked) failures.push(...(await checkSignedSums(dir, options.gpgPublicKeys!)));
  else if (feed.signature) {
    // Like a payload without a trusted key: a signed feed verified without its keyring fails unless skipped.
    const why = gpgNotChecked(feed.signature.fingerprint);
    if (options.noSignatureCheck) warnings.push(why);
    else failures.push(why);
  }
  const signatureCheck = { signed: feed.signature !== undefined, checked };
  return { ok: failures.length === 0, dir, failures, warnings, feed, newest, signatureCheck };
}
