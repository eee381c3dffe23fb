// Public entry of the manifest step: the release manifest schema, renderers, writeRelease, verifyRelease, sysupdate feeds.
export {
  extensionEntrySchema,
  mainPayloadSchema,
  payloadEntrySchema,
  releaseManifestSchema,
  type ExtensionEntry,
  type MainPayload,
  type PayloadEntry,
  type ReleaseManifest,
} from "./schema.js";
export {
  crauPayloads,
  omahaFileName,
  parseSha256Sums,
  renderNebraska,
  renderOmaha,
  renderSha256Sums,
} from "./formats.js";
export {
  extensionPattern,
  extensionUpdateVersion,
  isSysupdateVersion,
  matchPattern,
  osImageName,
  publishedImageName,
  stagePattern,
  sysupdateFiles,
  type SysupdateFile,
  type SysupdateOptions,
} from "./sysupdate.js";
export { newestVersion, strverscmpImproved } from "./strverscmp.js";
export {
  exportPublicKeyring,
  loadGpgSigningKey,
  readPublicKeyring,
  signDetached,
  verifyDetached,
  type GpgSigningKey,
} from "./gpg.js";
export { FEED_INDEX, updateFeed, type FeedResult, type UpdateFeedOptions } from "./feed.js";
export { feedSchema, type Feed, type FeedImage, type FeedNewest } from "./feed-schema.js";
export { verifyFeed, type FeedVerifyReport } from "./feed-verify.js";
export { publishRelease, writeRelease, type ReleaseResult } from "./release.js";
export {
  planRelease,
  type ReleaseExtensionInput,
  type ReleasePlan,
  type WriteReleaseOptions,
} from "./release-plan.js";
export { verifyRelease, type ReleaseVerifyReport, type VerifyReleaseOptions } from "./verify.js";
