// CrAU signatures: key loading, version numbering, the Signatures message, RSASSA-PKCS1-v1_5 over SHA-256.
import { constants, privateEncrypt, publicDecrypt } from "node:crypto";
import { SysextError } from "../errors.js";
import { loadSigningKey, type SigningKey, type VerifyKey } from "./keys.js";
import { SignaturesMessage } from "./proto.js";
import type { SecretRef } from "../util/secret.js";

/** The version update_engine (C++) checks (payload_signer.cc kSignatureMessageCurrentVersion). */
export const CURRENT_SIGNATURE_VERSION = 2;

/**
 * At most three keys: update_engine numbers n signatures `3 - n, ..., 2` in uint32, so a fourth key
 * would get version 2^32 - 1. Three cover a throwaway key, an outgoing and an incoming real key.
 */
export const MAX_SIGNING_KEYS = CURRENT_SIGNATURE_VERSION + 1;

/**
 * Signature versions as Flatcar's payload_signer numbers them: the last signature is version 2 (the one
 * update_engine checks), earlier ones count down (one key: 2; two: 1, 2; three: 0, 1, 2).
 */
export function signatureVersions(count: number): number[] {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SIGNING_KEYS) {
    throw new SysextError(
      "USAGE",
      `${count} signing keys given; a CrAU payload takes 1 to ${MAX_SIGNING_KEYS}`,
      {
        hint: `update_engine checks version ${CURRENT_SIGNATURE_VERSION}, the last key's; earlier keys get 1 and 0. Pass 1 to ${MAX_SIGNING_KEYS} --key options, the real key last`,
      },
    );
  }
  return Array.from({ length: count }, (_, i) => CURRENT_SIGNATURE_VERSION + 1 - count + i);
}

/** A signing key as callers give it: a secret reference (path, env:NAME, -, PEM text) or an already loaded key. */
export type SigningKeyInput = SecretRef | SigningKey;

/**
 * Load and check every signing key (KEY_INVALID naming its source on failure; USAGE for none or too
 * many). Already loaded keys pass through, so a key read once (e.g. from standard input) is not read again.
 */
export async function loadSigningKeys(keys: readonly SigningKeyInput[]): Promise<SigningKey[]> {
  if (keys.length === 0) {
    throw new SysextError("KEY_INVALID", "no signing key given; CrAU payloads must be signed", {
      hint: "pass --key PRIVATE.pem, --key env:NAME or --key - (throwaway key first, the real key last)",
    });
  }
  signatureVersions(keys.length);
  const out: SigningKey[] = [];
  for (const k of keys) out.push(typeof k === "string" ? await loadSigningKey(k) : k);
  return out;
}

/** The Signatures message for one signature per key, in key order. */
export function encodeSignatures(keys: readonly SigningKey[], data: readonly Buffer[]): Buffer {
  const versions = signatureVersions(keys.length);
  const msg = SignaturesMessage.fromObject({
    signatures: keys.map((_, i) => ({ version: versions[i], data: data[i] })),
  });
  return Buffer.from(SignaturesMessage.encode(msg).finish());
}

/** Zero-filled signatures of the final length: the manifest names the signature size before signing. */
export function placeholderSignatures(keys: readonly SigningKey[]): Buffer {
  return encodeSignatures(
    keys,
    keys.map((k) => Buffer.alloc(k.signatureSize)),
  );
}

/** DER prefix of a PKCS#1 v1.5 DigestInfo for SHA-256 (RFC 8017, section 9.2, note 1). */
const SHA256_DIGEST_INFO = Buffer.from("3031300d060960864801650304020105000420", "hex");

/** RSASSA-PKCS1-v1_5 with SHA-256 over an already computed digest: identical to signing the data. */
export function signDigest(key: SigningKey, digest: Buffer): Buffer {
  return privateEncrypt(
    { key: key.key, padding: constants.RSA_PKCS1_PADDING },
    Buffer.concat([SHA256_DIGEST_INFO, digest]),
  );
}

/** Whether an RSASSA-PKCS1-v1_5 signature carries exactly DigestInfo(SHA-256, digest) for this key. */
export function signatureMatches(sig: Buffer, digest: Buffer, key: VerifyKey): boolean {
  try {
    const recovered = publicDecrypt({ key: key.key, padding: constants.RSA_PKCS1_PADDING }, sig);
    return recovered.equals(Buffer.concat([SHA256_DIGEST_INFO, digest]));
  } catch {
    return false;
  }
}
