// Signing and verification keys: read through util/secret (file, env:NAME, -, PEM text), RSA-only checks, SPKI fingerprints.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { SysextError } from "../errors.js";
import { readSecret, type Secret, type SecretRef } from "../util/secret.js";

export interface SigningKey {
  /** How the key is named in reports and errors: its path, or where it came from; never its content. */
  readonly name: string;
  /** The file it was read from, when it came from a file. */
  readonly file: string | undefined;
  readonly key: KeyObject;
  /** Signature length in bytes (RSA modulus length). */
  readonly signatureSize: number;
  /** SHA-256 of the public key's SPKI DER, lowercase hex. */
  readonly fingerprint: string;
}

export interface VerifyKey {
  /** How the key is named in reports: its path, or where it came from; never its content. */
  readonly name: string;
  readonly file: string | undefined;
  readonly key: KeyObject;
  readonly fingerprint: string;
}

/** A printable name for a key: the path of a key file, else the secret's label. */
function keyName(s: Secret): string {
  return s.file ?? s.label;
}

const where = (s: Secret) => (s.file ? { location: { file: s.file } } : {});

/** SHA-256 of the SPKI DER encoding of a key's public half, hex. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
}

function requireRsa(key: KeyObject, s: Secret): void {
  if (key.asymmetricKeyType !== "rsa") {
    throw new SysextError(
      "KEY_INVALID",
      `the key from ${s.label} is a ${key.asymmetricKeyType ?? "unknown"} key; CrAU payloads are signed with RSA (PKCS#1 v1.5, SHA-256)`,
      {
        ...where(s),
        hint: "create one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
      },
    );
  }
}

/** A crypto error's message without anything that could quote the key (OpenSSL messages do not, but be sure). */
function reason(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  return m.includes("-----") || m.length > 200 ? "not a PEM key OpenSSL can read" : m;
}

/**
 * Load an unencrypted RSA private key (PKCS#1 or PKCS#8 PEM) from a file path, `env:NAME`, `-` (standard
 * input) or PEM text given by value (see util/secret). Errors name the source, never the key.
 */
export async function loadSigningKey(ref: SecretRef): Promise<SigningKey> {
  const s = await readSecret(ref, { what: "private key" });
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: s.data, format: "pem" });
  } catch (e) {
    const msg = reason(e);
    const encrypted = /passphrase|encrypted|bad decrypt/i.test(msg) || s.data.includes("ENCRYPTED");
    throw new SysextError(
      "KEY_INVALID",
      encrypted
        ? `the private key from ${s.label} is encrypted with a passphrase`
        : `the private key from ${s.label} is not a readable PEM private key: ${msg}`,
      {
        ...where(s),
        hint: encrypted
          ? "decrypt it first (openssl pkey -in KEY -out PLAIN.pem) or sign on a machine that holds the plain key"
          : "pass an unencrypted PEM RSA private key (PKCS#8 or PKCS#1, as openssl genpkey writes it) as a file, env:NAME or -",
      },
    );
  }
  requireRsa(key, s);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return {
    name: keyName(s),
    file: s.file,
    key,
    signatureSize: Math.ceil(bits / 8),
    fingerprint: keyFingerprint(key),
  };
}

/** Load an RSA public key from a PEM public key or (unencrypted) private key, named like loadSigningKey's. */
export async function loadVerifyKey(ref: SecretRef): Promise<VerifyKey> {
  const s = await readSecret(ref, { what: "public key" });
  let key: KeyObject;
  try {
    key = createPublicKey({ key: s.data, format: "pem" });
  } catch (e) {
    throw new SysextError(
      "KEY_INVALID",
      `the key from ${s.label} is not a readable PEM public or private key: ${reason(e)}`,
      {
        ...where(s),
        hint: "export the public key with: openssl pkey -in PRIVATE.pem -pubout -out PUBLIC.pem",
      },
    );
  }
  requireRsa(key, s);
  return { name: keyName(s), file: s.file, key, fingerprint: keyFingerprint(key) };
}
