// Which key a payload must be signed with: the trusted (real) key checks the version-2 signature update_engine reads.
import { SysextError } from "../errors.js";
import type { SecretRef } from "../util/secret.js";
import { loadVerifyKey, type VerifyKey } from "./keys.js";
import { bytes, list, num, type Msg } from "./reassemble.js";
import { CURRENT_SIGNATURE_VERSION, MAX_SIGNING_KEYS, signatureMatches, signatureVersions } from "./sign.js";
import { SignaturesMessage } from "./proto.js";

/** A verification key as callers give it: a secret reference (path, env:NAME, -, PEM text) or a loaded key. */
export type VerifyKeyInput = SecretRef | VerifyKey;

export interface TrustOptions {
  /**
   * Keys to check signatures with (public or private PEM). Without `trustedKey`, the LAST one is the
   * trusted (real) key, matching the signing order (throwaway first, real last); the others are informative.
   */
  readonly publicKeys?: readonly VerifyKeyInput[];
  /** The real key explicitly: the version-2 signature (the one update_engine checks) must verify with it. */
  readonly trustedKey?: VerifyKeyInput;
  /** Skip the signature check; reports then say plainly that signatures were not checked. */
  readonly noSignatureCheck?: boolean;
}

/** Loaded keys: the trusted one (undefined when signatures are not checked) and every key to report on. */
export interface Trust {
  readonly trusted: VerifyKey | undefined;
  readonly all: readonly VerifyKey[];
  readonly skip: boolean;
}

export interface SignatureReport {
  readonly version: number | undefined;
  readonly size: number;
  /** Names of the given keys whose public key validates this signature (key paths, or their source). */
  readonly validKeys: string[];
}

const load = async (k: VerifyKeyInput): Promise<VerifyKey> => (typeof k === "string" ? loadVerifyKey(k) : k);

/**
 * Load the keys once. Without a trusted key and without `noSignatureCheck` this is a USAGE error: a
 * verifier that accepts any signature (or none) proves nothing.
 */
export async function loadTrust(o: TrustOptions): Promise<Trust> {
  const others = await Promise.all((o.publicKeys ?? []).map(load));
  const explicit = o.trustedKey === undefined ? undefined : await load(o.trustedKey);
  const trusted = explicit ?? others.at(-1);
  const all =
    explicit && !others.some((k) => k.fingerprint === explicit.fingerprint) ? [...others, explicit] : others;
  if (o.noSignatureCheck) return { trusted: undefined, all, skip: true };
  if (!trusted) {
    throw new SysextError("USAGE", "no trusted key given: signatures cannot be checked", {
      hint: "pass the real (version-2) public key with --key PUBLIC.pem (the last --key is the trusted one) or --trusted-key PUBLIC.pem; --no-signature-check verifies everything else without signatures",
    });
  }
  return { trusted, all, skip: false };
}

/** What a skipped check leaves in the report. */
export const NOT_CHECKED =
  "signatures were NOT checked (--no-signature-check): nothing shows who made this payload";

/**
 * Check the Signatures message against the SHA-256 of the signed range: versions numbered as Flatcar's
 * payload_signer numbers them (n signatures: 3-n .. 2), and the version-2 signature valid for the trusted key.
 */
export function checkSignatures(
  sigBlob: Buffer,
  digest: Buffer,
  trust: Trust,
  out: { failures: string[]; warnings: string[]; signatures: SignatureReport[] },
): void {
  let sigs: Msg[] = [];
  try {
    sigs = list(SignaturesMessage.toObject(SignaturesMessage.decode(sigBlob)).signatures);
  } catch (e) {
    out.failures.push(`Signatures message does not parse: ${(e as Error).message}`);
  }
  if (sigs.length === 0) out.failures.push("the Signatures message holds no signature");
  for (const [i, s] of sigs.entries()) {
    const data = bytes(s.data) ?? Buffer.alloc(0);
    if (data.length === 0) out.failures.push(`signature ${i} has no data`);
    const valid = trust.all.filter((k) => signatureMatches(data, digest, k)).map((k) => k.name);
    out.signatures.push({ version: num(s.version), size: data.length, validKeys: valid });
  }
  const versions = out.signatures.map((s) => s.version);
  if (sigs.length > MAX_SIGNING_KEYS) {
    out.failures.push(
      `${sigs.length} signatures; update_engine's numbering allows at most ${MAX_SIGNING_KEYS}`,
    );
  } else if (sigs.length > 0) {
    const want = signatureVersions(sigs.length);
    if (versions.some((v, i) => v !== want[i])) {
      out.failures.push(
        `signature versions ${versions.join(", ")}, expected ${want.join(", ")} (the last signature is version ${CURRENT_SIGNATURE_VERSION}, the one update_engine checks)`,
      );
    }
  }
  if (trust.skip) {
    out.warnings.push(NOT_CHECKED);
    return;
  }
  const trusted = trust.trusted!;
  if (sigs.length === 0) return;
  const real = sigs.findIndex((s) => num(s.version) === CURRENT_SIGNATURE_VERSION);
  const realData = real < 0 ? undefined : bytes(sigs[real]!.data);
  if (!realData || !signatureMatches(realData, digest, trusted)) {
    const other = out.signatures.find((s) => s.validKeys.includes(trusted.name));
    out.failures.push(
      `the version-${CURRENT_SIGNATURE_VERSION} signature (the one update_engine checks) does not verify with the trusted key ${trusted.name}` +
        (other ? ` (that key validates the version-${other.version} signature instead)` : ""),
    );
  }
}
