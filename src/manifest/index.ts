// Public entry of the manifest step: the release manifest schema, renderers, writeRelease and verifyRelease.
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
  renderSysupdateTransfer,
  sysupdatePattern,
  versionedImageName,
} from "./formats.js";
export { publishRelease, writeRelease, type ReleaseResult } from "./release.js";
export {
  planRelease,
  type ReleaseExtensionInput,
  type ReleasePlan,
  type WriteReleaseOptions,
} from "./release-plan.js";
export { verifyRelease, type ReleaseVerifyReport, type VerifyReleaseOptions } from "./verify.js";
