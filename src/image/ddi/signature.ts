// Signing inputs (key, certificate, passphrase via util/secret) and the JSON of the root-verity-sig partition.
import { createHash, createPrivateKey, X509Certificate, type KeyObject } from "node:crypto";
import { SysextError } from "../../errors.js";
import { readSecret, secretLabel, type SecretRef } from "../../util/secret.js";
import { signDetached } from "./pkcs7.js";
import { SIGNATURE_PARTITION_SIZE } from "./types.js";

/** Where the signing material comes from: each a file path, env:NAME, - (stdin) or PEM text. */
export interface SignerInput {
  readonly key: SecretRef;
  readonly certificate: SecretRef;
  /** Passphrase of an encrypted key. */
  readonly passphrase?: SecretRef;
}

export interface DdiSigner {
  readonly key: KeyObject;
  readonly certificate: X509Certificate;
}

const keyError = (message: string, hint: string, cause?: unknown) =>
  new SysextError("KEY_INVALID", message, { hint, ...(cause === undefined ? {} : { cause: scrub(cause) }) });

/** Node's key errors carry no key material, but keep only their code and message to be sure. */
function scrub(e: unknown): Error {
  const err = e as NodeJS.ErrnoException;
  const out = new Error(String(err.message ?? e).replace(/-----BEGIN[\s\S]*/g, "[redacted]"));
  out.name = err.code ?? "Error";
  return out;
}

/** Read an X.509 certificate (PEM or DER) without judging its dates (verification reports them). */
export async function readCertificate(ref: SecretRef): Promise<X509Certificate> {
  return (await readCertificateWithLabel(ref)).cert;
}

/** Whether `cert` is valid at `now`; a sentence when it is not. */
export function certificateDateProblem(cert: X509Certificate, now: Date = new Date()): string | undefined {
  const to = new Date(cert.validTo);
  const from = new Date(cert.validFrom);
  if (to.getTime() < now.getTime()) return `expired on ${to.toISOString()}`;
  if (from.getTime() > now.getTime()) return `not valid before ${from.toISOString()}`;
  return undefined;
}

async function readCertificateWithLabel(ref: SecretRef): Promise<{ cert: X509Certificate; label: string }> {
  const s = await readSecret(ref, { what: "certificate" });
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(s.data);
  } catch (e) {
    throw keyError(
      `the certificate from ${s.label} is not an X.509 certificate`,
      "pass a PEM (-----BEGIN CERTIFICATE-----) or DER X.509 certificate, e.g. made with: openssl req -x509 -newkey rsa:2048 -nodes -keyout key.pem -out cert.pem -days 3650 -subj /CN=my-extensions",
      e,
    );
  }
  return { cert, label: s.label };
}

/** Read and check an X.509 certificate (PEM or DER); refuses anything else, and expired or not yet valid ones. */
export async function loadCertificate(ref: SecretRef, now: Date = new Date()): Promise<X509Certificate> {
  const { cert, label } = await readCertificateWithLabel(ref);
  const problem = certificateDateProblem(cert, now);
  if (problem) {
    throw keyError(
      `the certificate from ${label} (${cert.subject.replace(/\n/g, ", ")}) is not valid now: ${problem}`,
      problem.startsWith("expired")
        ? "issue a new certificate for the signing key (openssl req -x509 -new -key key.pem -days 3650 ...) and install it on the base images"
        : "check the clock of this machine, or the notBefore date of the certificate",
    );
  }
  return cert;
}

/** Read the signing key and certificate and check that they belong together. */
export async function loadSigner(input: SignerInput, now?: Date): Promise<DdiSigner> {
  const certificate = await loadCertificate(input.certificate, now);
  const k = await readSecret(input.key, { what: "private key" });
  const passphrase =
    input.passphrase === undefined
      ? undefined
      : (await readSecret(input.passphrase, { what: "key passphrase" })).data;
  let key: KeyObject;
  try {
    key = createPrivateKey({
      key: k.data,
      format: k.data.includes("-----BEGIN") ? "pem" : "der",
      ...(k.data.includes("-----BEGIN") ? {} : { type: "pkcs8" }),
      ...(passphrase ? { passphrase } : {}),
    });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const encrypted = /ENCRYPTED PRIVATE KEY|Proc-Type: 4,ENCRYPTED/.test(k.data.toString("latin1"));
    if (
      !passphrase &&
      (encrypted || code === "ERR_MISSING_PASSPHRASE" || code === "ERR_OSSL_CRYPTO_INTERRUPTED_OR_CANCELLED")
    ) {
      throw keyError(
        `the private key from ${k.label} is encrypted and no passphrase was given`,
        "pass --key-passphrase FILE|env:NAME|- (the passphrase is never printed), or decrypt the key: openssl pkey -in key.pem -out plain.pem",
        e,
      );
    }
    if (passphrase) {
      throw keyError(
        `cannot decrypt the private key from ${k.label} with the given passphrase`,
        "check the passphrase (--key-passphrase)",
        e,
      );
    }
    throw keyError(
      `the private key from ${k.label} is not a PEM or DER private key`,
      "pass a PEM private key (-----BEGIN PRIVATE KEY----- or RSA/EC PRIVATE KEY)",
      e,
    );
  }
  if (key.asymmetricKeyType !== "rsa" && key.asymmetricKeyType !== "ec") {
    throw keyError(
      `the private key from ${k.label} is ${key.asymmetricKeyType ?? "of an unknown type"}; root hash signatures need RSA or ECDSA`,
      "use an RSA key (openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048) for signatures that are reproducible byte for byte",
    );
  }
  if (!certificate.checkPrivateKey(key)) {
    throw keyError(
      `the private key from ${k.label} does not belong to the certificate from ${secretLabel(input.certificate)}`,
      "pass the certificate issued for this key (compare: openssl x509 -noout -pubkey -in cert.pem and openssl pkey -pubout -in key.pem)",
    );
  }
  return { key, certificate };
}

/** SHA-256 of the certificate's DER, lowercase hex without separators (the DPS certificateFingerprint). */
export function certificateFingerprint(cert: X509Certificate): string {
  return createHash("sha256").update(cert.raw).digest("hex");
}

/** The text that is signed: the root hash as lowercase hex, nothing else (no newline). */
export function signedRootHashText(rootHash: Buffer): Buffer {
  return Buffer.from(rootHash.toString("hex"), "latin1");
}

export function signRootHash(rootHash: Buffer, signer: DdiSigner): Buffer {
  return signDetached(signedRootHashText(rootHash), signer.key, signer.certificate);
}

/**
 * The root-verity-sig partition: compact JSON {rootHash, certificateFingerprint, signature} (repart's key
 * order, no newline), NUL-padded to the partition's 16 KiB.
 */
export function signaturePartition(rootHash: Buffer, certificate: X509Certificate, pkcs7: Buffer): Buffer {
  const json = JSON.stringify({
    rootHash: rootHash.toString("hex"),
    certificateFingerprint: certificateFingerprint(certificate),
    signature: pkcs7.toString("base64"),
  });
  const out = Buffer.alloc(SIGNATURE_PARTITION_SIZE);
  if (Buffer.byteLength(json) > out.length) {
    throw new SysextError(
      "KEY_INVALID",
      `the signature JSON is ${Buffer.byteLength(json)} bytes, more than the ${out.length}-byte signature partition`,
      {
        hint: "use a certificate without a long chain or large extensions (systemd-repart has the same limit)",
      },
    );
  }
  out.write(json, 0, "utf8");
  return out;
}

export interface SignatureJson {
  readonly rootHash: string;
  readonly certificateFingerprint: string | undefined;
  readonly signature: Buffer;
}

/** Parse the signature partition's content; a string says what is wrong with it. */
export function parseSignaturePartition(data: Buffer): SignatureJson | string {
  let end = data.indexOf(0);
  if (end < 0) end = data.length;
  if (data.subarray(end).some((b) => b !== 0)) return "bytes after the JSON object are not all NUL";
  if (end === 0) return "the signature partition is empty";
  let v: unknown;
  try {
    v = JSON.parse(data.subarray(0, end).toString("utf8"));
  } catch (e) {
    return `the signature partition is not JSON (${(e as Error).message})`;
  }
  const o = v as Record<string, unknown>;
  if (typeof o !== "object" || o === null) return "the signature partition is not a JSON object";
  if (typeof o.rootHash !== "string" || !/^[0-9a-f]{64}$/.test(o.rootHash))
    return "rootHash is missing or not 64 lowercase hex digits";
  if (typeof o.signature !== "string" || !/^[A-Za-z0-9+/=]+$/.test(o.signature))
    return "signature is missing or not base64";
  if (o.certificateFingerprint !== undefined && typeof o.certificateFingerprint !== "string")
    return "certificateFingerprint is not a string";
  return {
    rootHash: o.rootHash,
    certificateFingerprint: o.certificateFingerprint as string | undefined,
    signature: Buffer.from(o.signature, "base64"),
  };
}
