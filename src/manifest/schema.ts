// manifest.json: the release description every other manifest is generated from, with its zod schema.
import { z } from "zod";

/*
 * Release directory layout (one directory per base release and architecture, served under one base URL):
 *   <name>-<OS VERSION_ID>-<ext version>-<arch>.raw   the image under its published name (sysupdate <name>-%w-@v-%a.raw)
 *   <name>_<OS VERSION_ID>_<arch>.raw                 the same image keyed by the OS version (staging, <name>_@v_%a.raw)
 *   <name>.gz, <name>.gz.sha256       the signed CrAU payload (Flatcar's name; clients glob *<name>.gz)
 *   <published image name>.{zst,xz,gz}  optional plain compressed payloads
 *   omaha.xml | omaha-packages.xml    Omaha <manifest> (with a main OS payload) or just the extra <packages>
 *   nebraska-package.json             body for POST /api/apps/{appID}/packages
 *   <name>.transfer, <name>.conf, <name>.feature, <name>-stage.transfer, <name>-stage.conf, <name>.source.conf
 *                                     systemd-sysupdate files (src/manifest/sysupdate.ts; source.conf with a URL)
 *   SHA256SUMS, SHA256SUMS.gpg        checksums of every file, detached OpenPGP signature (with a gpg key)
 *   manifest.json                     written last; marks a complete release
 * Installed names: Flatcar keeps /oem/sysext/<name>-<OS version>.raw and links /etc/extensions/<name>.raw to
 * it; sysupdate keeps /opt/extensions/<name>/<published name> and links /etc/extensions/<name>_<OS>_<arch>.raw,
 * and stages the next OS's image as /var/lib/extensions/<name>_<OS>_<arch>.raw. systemd-sysext checks the
 * installed (link) name: 256+ cuts it at '_', older versions need the user.extension-release.strict=0 xattr
 * on the release file (writeRelease warns when an extension lacks it).
 */

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, "SHA-256 as 64 lowercase hex digits");
const sha1b64 = z.string().regex(/^[A-Za-z0-9+/]{27}=$/, "SHA-1 as base64");
/** A plain published file name (no directories): what clients append to the base URL. */
const fileName = z
  .string()
  .min(1)
  .refine((s) => !s.includes("/") && s !== "." && s !== "..", "a plain file name without '/'");

export const payloadEntrySchema = z.strictObject({
  file: fileName,
  kind: z.enum(["crau", "zst", "xz", "gz"]),
  size: z.number().int().nonnegative(),
  sha256: hex64,
  sha1Base64: sha1b64,
  /** SHA-256 of each signing key's SPKI DER (CrAU only; empty for plain compressed payloads). */
  keyFingerprints: z.array(hex64),
});

export const extensionEntrySchema = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/),
  /** systemd architecture spelling (x86-64, arm64, ...). */
  arch: z.string().min(1),
  /** The published image under its versioned name `<name>-<version>-<arch>.raw`. */
  image: z.strictObject({
    file: fileName,
    size: z.number().int().nonnegative(),
    sha256: hex64,
    sha1Base64: sha1b64,
  }),
  /** The extension-release keys (ID, VERSION_ID, ARCHITECTURE, SYSEXT_*...). */
  release: z.record(z.string(), z.string()),
  sysextVersionId: z.string().optional(),
  /** Installed names: Flatcar stores `<name>-<version>.raw` and links `/etc/extensions/<name>.raw` to it. */
  install: z.strictObject({ versionedName: z.string(), symlink: z.string() }),
  /** systemd-sysupdate: the versions it compares, the published names and the generated files. */
  sysupdate: z.strictObject({
    /** The extension version (`@v` of the extension's own transfer). */
    version: z.string().regex(/^[A-Za-z0-9.,_+-]+$/, "sysupdate version characters [A-Za-z0-9.,_+-]"),
    /** `<name>-%w-@v-%a.raw`: what the extension's own transfer matches. */
    matchPattern: z.string(),
    /** The image under `<name>_<OS VERSION_ID>_<arch>.raw`, what the staging transfer fetches. */
    osImage: fileName,
    /** `<name>_@v_%a.raw`: what the staging transfer (OS component, feature <name>) matches. */
    stagePattern: z.string(),
    /** Transfers, feature and source drop-in written for this extension. */
    files: z.array(fileName),
  }),
  payloads: z.array(payloadEntrySchema),
});

export const mainPayloadSchema = z.strictObject({
  name: fileName,
  size: z.number().int().nonnegative(),
  sha1Base64: sha1b64,
  sha256: hex64,
});

export const releaseManifestSchema = z.strictObject({
  schemaVersion: z.literal(1),
  /** Release version (the Omaha manifest version; the extension version where SYSEXT_VERSION_ID is unset); defaults to base.versionId. */
  version: z.string().regex(/^[A-Za-z0-9._+-]+$/, "sysupdate version characters [A-Za-z0-9._+-]"),
  base: z.strictObject({ id: z.string().min(1), versionId: z.string().min(1) }),
  baseUrl: z.string().optional(),
  /** Where the sysupdate transfers fetch from (the Path= of each <name>.source.conf). */
  sysupdateUrl: z.string().optional(),
  /** SHA256SUMS is signed: the detached signature file and the signing key's fingerprint. */
  signature: z
    .strictObject({ file: z.literal("SHA256SUMS.gpg"), fingerprint: z.string().regex(/^[0-9A-F]{40,64}$/) })
    .optional(),
  mainPayload: mainPayloadSchema.optional(),
  extensions: z.array(extensionEntrySchema),
});

export type PayloadEntry = z.infer<typeof payloadEntrySchema>;
export type ExtensionEntry = z.infer<typeof extensionEntrySchema>;
export type MainPayload = z.infer<typeof mainPayloadSchema>;
export type ReleaseManifest = z.infer<typeof releaseManifestSchema>;
