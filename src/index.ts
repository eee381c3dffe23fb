// The public API of sysextkit: everything a program needs; internals stay behind this entry.
export { SysextError, isSysextError, type ErrorCode, type ErrorLocation } from "./errors.js";
export { LIMITS } from "./util/limits.js";
export { readSecret, secretLabel, redactSecrets, type SecretRef } from "./util/secret.js";
export {
  buildExtension,
  DEFAULT_TEMPLATES_DIR,
  type BuildOptions,
  type BuildResult,
  type BuildProgress,
  type BuildPhase,
} from "./build.js";
export { loadSpecFile, parseSpec, specFromObject, type LoadedSpec } from "./spec/load.js";
export { CATALOG_DIR, catalogNames, resolveSpecRef } from "./spec/catalog.js";
export {
  extensionSpecSchema,
  extensionJsonSchema,
  type ExtensionSpec,
  type ExtensionSpecInput,
  type SourceSpec,
  type ImageFormat,
  type Compression,
} from "./spec/schema.js";
export { readBase, type BaseRelease, type BaseInput } from "./base/base.js";
export {
  normalizeArch,
  lookupArch,
  debianArch,
  rpmArch,
  rpmArches,
  hostArch,
  SYSTEMD_ARCHITECTURES,
  type SystemdArch,
} from "./base/arch.js";
export { baseProfile, type BaseProfile, type BaseFamily } from "./base/profiles.js";
export type { Finding, Severity } from "./checks/finding.js";
export { readRpmPackage, nevra, type RpmPackage, type RpmFile, type RpmDep } from "./tree/rpm/package.js";
export { rpmvercmp, compareEvr, parseEvr, type Evr } from "./tree/rpm/vercmp.js";
export { readRpmdb, type RpmdbResult } from "./tree/rpm/rpmdb.js";
export { readSelinuxPolicy, type SelinuxPolicy } from "./tree/selinux.js";
export { inspectImage, type ImageInfo } from "./image/inspect.js";
export {
  checkMerge,
  hostFromBase,
  type HostIdentity,
  type MergeCheckInput,
  type MergeVerdict,
} from "./release/host-check.js";
export { checkImage, type ImageCheckOptions, type ImageCheckResult } from "./release/image-check.js";
export { releaseFields } from "./release/release-file.js";
export { scaffoldExtension } from "./spec/scaffold.js";
export {
  createPayload,
  createCompressedPayload,
  verifyPayload,
  keyFingerprint,
  loadSigningKeys,
  loadVerifyKey,
  signatureVersions,
  MAX_SIGNING_KEYS,
  type SigningKey,
  type SigningKeyInput,
  type VerifyKey,
  type VerifyKeyInput,
  type TrustOptions,
  type CreatePayloadOptions,
  type PayloadProgress,
  type PayloadResult,
  type CompressionKind,
  type CompressedPayloadResult,
  type SignatureReport,
  type VerifyPayloadOptions,
  type VerifyReport,
} from "./payload/index.js";
export {
  writeRelease,
  verifyRelease,
  releaseManifestSchema,
  renderOmaha,
  renderNebraska,
  renderSha256Sums,
  sysupdateFiles,
  publishedImageName,
  osImageName,
  extensionPattern,
  stagePattern,
  matchPattern,
  strverscmpImproved,
  loadGpgSigningKey,
  exportPublicKeyring,
  updateFeed,
  verifyFeed,
  feedSchema,
  type Feed,
  type FeedResult,
  type FeedVerifyReport,
  type UpdateFeedOptions,
  type SysupdateFile,
  type ReleaseManifest,
  type ReleaseExtensionInput,
  type WriteReleaseOptions,
  type ReleaseResult,
  type ReleaseVerifyReport,
  type VerifyReleaseOptions,
} from "./manifest/index.js";
export { buildRelease, type BuildReleaseOptions, type BuildReleaseResult } from "./manifest/build-release.js";
export {
  loadReleaseSpec,
  releaseSpecSchema,
  releaseJsonSchema,
  type ReleaseSpec,
} from "./manifest/release-spec.js";
export { defaultCacheDir } from "./util/cache.js";
export { signImage, type SignImageOptions, type SignImageResult } from "./image/ddi/sign.js";
export { verifyImage, type ImageVerifyOptions, type ImageVerifyReport } from "./image/ddi/verify.js";
export type { VerityInfo, VerityRequest } from "./image/ddi/produce.js";
export type { SignerInput } from "./image/ddi/signature.js";
export {
  writeTrust,
  STRICT_SYSEXT_POLICY,
  type TrustOptions as WriteTrustOptions,
  type TrustResult,
} from "./release/trust.js";
export {
  parseImagePolicy,
  evaluatePolicy,
  SYSEXT_DEFAULT_POLICY,
  type ImagePolicy,
  type PolicyVerdict,
} from "./release/image-policy.js";
export { bootTest, type BootTestOptions } from "./boot/boot-test.js";
export {
  bootReportSchema,
  bootReportJsonSchema,
  BOOT_REPORT_VERSION,
  type BootReport,
  type UnitReport,
  type BootCheck,
} from "./boot/report-schema.js";
export { renderBootReport } from "./boot/render.js";
export { PLATFORMS, PLATFORM_DRESS, PLATFORM_OF_OEM, type PlatformName } from "./boot/platforms.js";
export type { GuestFile } from "./boot/inject.js";
