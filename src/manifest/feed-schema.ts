// feed.json: the index of a sysupdate feed (the images of many releases under one signed SHA256SUMS), with its zod schema.
import { z } from "zod";
import { isSysupdateVersion } from "./sysupdate.js";
import { newestVersion } from "./strverscmp.js";

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "SHA-256 as 64 lowercase hex digits");
const fileName = z
  .string()
  .min(1)
  .refine((s) => !s.includes("/") && s !== "." && s !== "..", "a plain file name without '/'");
const version = z.string().refine(isSysupdateVersion, "a sysupdate version [A-Za-z0-9.,_+-]");

export const feedImageSchema = z.strictObject({
  /** `<name>-<OS VERSION_ID>-<version>-<arch>.raw` */
  file: fileName,
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  arch: z.string().min(1),
  /** The OS release the image is bound to (extension-release ID and VERSION_ID). */
  osId: z.string().min(1),
  osVersion: version,
  /** The extension version sysupdate compares. */
  version,
  size: z.number().int().nonnegative(),
  sha256: hex64,
});

export const feedSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Every image, sorted by file name. */
  images: z.array(feedImageSchema),
  /** `<name>_<OS VERSION_ID>_<arch>.raw` -> the newest image for that OS release (same bytes). */
  osImages: z.array(z.strictObject({ file: fileName, image: fileName })),
  signature: z
    .strictObject({ file: z.literal("SHA256SUMS.gpg"), fingerprint: z.string().regex(/^[0-9A-F]{40,64}$/) })
    .optional(),
});

export type FeedImage = z.infer<typeof feedImageSchema>;
export type Feed = z.infer<typeof feedSchema>;

/** The newest image of each extension, architecture and OS release (what systemd-sysupdate picks there). */
export interface FeedNewest {
  readonly name: string;
  readonly arch: string;
  readonly osId: string;
  readonly osVersion: string;
  readonly version: string;
  readonly file: string;
}

/** Group images by extension, architecture and OS release; the newest by strverscmp_improved, ties by file name. */
export function newestImages(images: readonly FeedImage[]): FeedNewest[] {
  const groups = new Map<string, FeedImage[]>();
  for (const im of [...images].sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0))) {
    const key = JSON.stringify([im.name, im.arch, im.osId, im.osVersion]);
    groups.set(key, [...(groups.get(key) ?? []), im]);
  }
  return [...groups.values()]
    .map((g) => newestVersion(g, (im) => im.version)!)
    .map(({ name, arch, osId, osVersion, version, file }) => ({ name, arch, osId, osVersion, version, file }))
    .sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}

/**
 * OS versions that sysupdate's `<name>-%w-@v-%a.raw` cannot tell apart: on VERSION_ID `a`, the pattern
 * also matches images of `b` when `b` starts with `a-`. Returns the first colliding pair, if any.
 */
export function collidingOsVersions(versions: Iterable<string>): [string, string] | undefined {
  const all = [...new Set(versions)];
  for (const a of all) for (const b of all) if (b.startsWith(`${a}-`)) return [a, b];
  return undefined;
}
