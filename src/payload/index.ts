// Public entry of the payload step: CrAU payloads, plain compressed payloads, and the payload verifier.
export {
  createPayload,
  imageBaseName,
  type CreatePayloadOptions,
  type PayloadProgress,
  type PayloadResult,
} from "./crau.js";
export { loadSigningKeys, MAX_SIGNING_KEYS, signatureVersions, type SigningKeyInput } from "./sign.js";
export type { TrustOptions, VerifyKeyInput } from "./trust.js";
export { createCompressedPayload, type CompressedPayloadResult, type CompressionKind } from "./compressed.js";
export { keyFingerprint, loadSigningKey, loadVerifyKey, type SigningKey, type VerifyKey } from "./keys.js";
export {
  verifyPayload,
  type SignatureReport,
  type VerifyPayloadOptions,
  type VerifyReport,
} from "./verify.js";
export { UPDATE_METADATA_PROTO } from "./proto.js";
