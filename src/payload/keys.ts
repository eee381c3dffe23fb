// Signing and verification keys: PEM loading with clear errors, RSA-only checks, SPKI fingerprints.
import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import { readFile } from "node:fs/promises";
import { SysextError } from "../errors.js";

export interface SigningKey {
  readonly file: string;
  readonly key: KeyObject;
  /** Signature length in bytes (RSA modulus length). */
  readonly signatureSize: number;
  /** SHA-256 of the public key's SPKI DER, lowercase hex. */
  readonly fingerprint: string;
}

export interface VerifyKey {
  readonly file: string;
  readonly key: KeyObject;
  readonly fingerprint: string;
}

async function readPem(file: string, what: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (e) {
    throw new SysextError("KEY_INVALID", `cannot read ${what} ${file}: ${(e as Error).message}`, {
      location: { file },
      cause: e,
      hint: "pass the path of an existing PEM file",
    });
  }
}

/** SHA-256 of the SPKI DER encoding of a key's public half, hex. */
export function keyFingerprint(key: KeyObject): string {
  const pub = key.type === "private" ? createPublicKey(key) : key;
  return createHash("sha256")
    .update(pub.export({ type: "spki", format: "der" }))
    .digest("hex");
}

function requireRsa(key: KeyObject, file: string): void {
  if (key.asymmetricKeyType !== "rsa") {
    throw new SysextError(
      "KEY_INVALID",
      `key ${file} is a ${key.asymmetricKeyType ?? "unknown"} key; CrAU payloads are signed with RSA (PKCS#1 v1.5, SHA-256)`,
      {
        location: { file },
        hint: "create one with: openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048",
      },
    );
  }
}

/** Load an unencrypted RSA private key (PKCS#1 or PKCS#8 PEM). */
export async function loadSigningKey(file: string): Promise<SigningKey> {
  const pem = await readPem(file, "private key");
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: pem, format: "pem" });
  } catch (e) {
    const msg = (e as Error).message;
    const encrypted = /passphrase|encrypted|bad decrypt/i.test(msg) || pem.includes("ENCRYPTED");
    throw new SysextError(
      "KEY_INVALID",
      encrypted
        ? `private key ${file} is encrypted with a passphrase`
        : `${file} is not a readable PEM private key: ${msg}`,
      {
        location: { file },
        cause: e,
        hint: encrypted
          ? "decrypt it first (openssl pkey -in KEY -out PLAIN.pem) or sign on a machine that holds the plain key"
          : "pass a PEM RSA private key (-----BEGIN PRIVATE KEY----- or -----BEGIN RSA PRIVATE KEY-----)",
      },
    );
  }
  requireRsa(key, file);
  const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
  return { file, key, signatureSize: Math.ceil(bits / 8), fingerprint: keyFingerprint(key) };
}

/** Load an RSA public key from a PEM public key or (unencrypted) private key. */
export async function loadVerifyKey(file: string): Promise<VerifyKey> {
  const pem = await readPem(file, "public key");
  let key: KeyObject;
  try {
    key = createPublicKey({ key: pem, format: "pem" });
  } catch (e) {
    throw new SysextError(
      "KEY_INVALID",
      `${file} is not a readable PEM public or private key: ${(e as Error).message}`,
      {
        location: { file },
        cause: e,
        hint: "export the public key with: openssl pkey -in PRIVATE.pem -pubout -out PUBLIC.pem",
      },
    );
  }
  requireRsa(key, file);
  return { file, key, fingerprint: keyFingerprint(key) };
}
