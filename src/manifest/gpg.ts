// Signed checksums: a detached OpenPGP signature of SHA256SUMS (SHA256SUMS.gpg, what systemd-pull checks), the public keyring to install, verification.
//
// OpenPGP is done by the openpgp package (OpenPGP.js), loaded only when a signature is made or checked.
// Signatures are reproducible: their time is SOURCE_DATE_EPOCH (or 0), raised to the signing key's
// creation time (gpg refuses a signature older than its key), and no random salt notation is added;
// RSA and EdDSA signatures then depend only on the key and the data.
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PrivateKey, PublicKey } from "openpgp";
import { SysextError } from "../errors.js";
import { exists, resolveEpoch } from "../util/fs.js";
import { readSecret, redactSecrets, type SecretRef } from "../util/secret.js";

/** The signature file systemd-sysupdate asks for next to SHA256SUMS (Verify=true). */
export const SIGNATURE_FILE = "SHA256SUMS.gpg";

export interface GpgSigningKey {
  /** Primary key fingerprint, 40 (v4) or 64 (v6) upper-case hex digits. */
  readonly fingerprint: string;
  /** Where the key came from, safe to print ("file key.asc", "environment variable K"). */
  readonly label: string;
  /** The decrypted key (never printed). */
  readonly key: PrivateKey;
  /** Creation time of the (sub)key that signs. */
  readonly signingKeyCreated: Date;
}

const openpgp = () => import("openpgp");
const CONFIG = { nonDeterministicSignaturesViaNotation: false } as const;

function keyError(message: string, hint: string, e?: unknown): SysextError {
  const cause = e instanceof Error ? new Error(redactSecrets(e.message)) : undefined;
  return new SysextError("KEY_INVALID", message, { hint, ...(cause ? { cause } : {}) });
}

const isArmored = (data: Buffer, kind: string) =>
  data.subarray(0, 200).toString("latin1").trimStart().startsWith(`-----BEGIN PGP ${kind}`);

/**
 * Load an OpenPGP secret key (armored or binary) from a file, `env:NAME` or `-` (standard input); a
 * protected key needs `passphrase` (same kinds of reference). The key material is never echoed.
 */
export async function loadGpgSigningKey(
  ref: SecretRef,
  options: { passphrase?: SecretRef } = {},
): Promise<GpgSigningKey> {
  const secret = await readSecret(ref, { what: "OpenPGP secret key" });
  const pgp = await openpgp();
  const hint =
    "pass an OpenPGP secret key (gpg --export-secret-keys --armor KEYID > key.asc) as a file, env:NAME or -";
  if (isArmored(secret.data, "PUBLIC KEY")) {
    throw keyError(`${secret.label} holds an OpenPGP public key; signing needs the secret key`, hint);
  }
  let keys: PrivateKey[];
  try {
    keys = isArmored(secret.data, "PRIVATE KEY")
      ? await pgp.readPrivateKeys({ armoredKeys: secret.data.toString("utf8") })
      : await pgp.readPrivateKeys({ binaryKeys: new Uint8Array(secret.data) });
  } catch (e) {
    throw keyError(`${secret.label} is not an OpenPGP secret key`, hint, e);
  }
  if (keys.length !== 1) {
    throw keyError(
      `${secret.label} holds ${keys.length} OpenPGP secret keys; give exactly one`,
      "export only the signing key: gpg --export-secret-keys --armor KEYID",
    );
  }
  let key = keys[0]!;
  if (!key.isDecrypted()) {
    if (options.passphrase === undefined) {
      throw keyError(
        `the OpenPGP secret key from ${secret.label} is protected by a passphrase`,
        "pass the passphrase with --gpg-passphrase FILE, env:NAME or - (standard input)",
      );
    }
    const pass = await readSecret(options.passphrase, { what: "OpenPGP passphrase", hideRef: true });
    try {
      key = await pgp.decryptKey({
        privateKey: key,
        passphrase: pass.data.toString("utf8").replace(/\r?\n$/, ""),
      });
    } catch (e) {
      throw keyError(
        `the passphrase from ${pass.label} does not unlock the OpenPGP secret key from ${secret.label}`,
        "check the passphrase (a trailing newline is ignored)",
        e,
      );
    }
  }
  let signing;
  try {
    signing = await key.getSigningKey(undefined, new Date());
  } catch (e) {
    throw keyError(
      `the OpenPGP key from ${secret.label} (${key.getFingerprint().toUpperCase()}) has no valid signing key`,
      "use a key with a signing capability that is neither expired nor revoked",
      e,
    );
  }
  return {
    fingerprint: key.getFingerprint().toUpperCase(),
    label: secret.label,
    key,
    signingKeyCreated: signing.getCreationTime(),
  };
}

/** The signature time: the build epoch, raised to the signing key's creation (in whole seconds). */
export function signatureDate(key: GpgSigningKey, epoch = resolveEpoch()): Date {
  return new Date(Math.max(epoch, Math.ceil(key.signingKeyCreated.getTime() / 1000)) * 1000);
}

/** A binary detached signature of `data` (the SHA256SUMS.gpg format systemd-pull hands to gpg --verify). */
export async function signDetached(
  data: Uint8Array,
  key: GpgSigningKey,
  epoch?: number,
): Promise<Uint8Array> {
  const pgp = await openpgp();
  const message = await pgp.createMessage({ binary: data });
  return pgp.sign({
    message,
    signingKeys: key.key,
    detached: true,
    format: "binary",
    date: signatureDate(key, epoch),
    config: CONFIG,
  }) as Promise<Uint8Array>;
}

/** The public key, binary (what `gpg --export` writes): install as /etc/systemd/import-pubring.pgp and .gpg. */
export function exportPublicKeyring(key: GpgSigningKey): Uint8Array {
  return key.key.toPublic().write();
}

/** Read OpenPGP public keys (armored or binary keyrings; secret keys count for their public part). */
export async function readPublicKeyring(refs: readonly SecretRef[]): Promise<PublicKey[]> {
  const pgp = await openpgp();
  const out: PublicKey[] = [];
  for (const ref of refs) {
    const s = await readSecret(ref, { what: "OpenPGP public key" });
    try {
      const armored = isArmored(s.data, "PUBLIC KEY") || isArmored(s.data, "PRIVATE KEY");
      const keys = armored
        ? await pgp.readKeys({ armoredKeys: s.data.toString("utf8") })
        : await pgp.readKeys({ binaryKeys: new Uint8Array(s.data) });
      out.push(...keys.map((k) => k.toPublic()));
    } catch (e) {
      throw keyError(
        `${s.label} is not an OpenPGP public key or keyring`,
        "pass the keyring written by --gpg-export-public, or gpg --export [--armor] KEYID output",
        e,
      );
    }
  }
  return out;
}

/**
 * Check a detached signature as gpg --verify does for systemd-pull: every signature in it must be a
 * good one by a key of `keys`. Returns undefined when it holds, else why not.
 */
export async function verifyDetached(
  data: Uint8Array,
  signature: Uint8Array,
  keys: readonly PublicKey[],
): Promise<string | undefined> {
  const pgp = await openpgp();
  let sig;
  try {
    const text = Buffer.from(signature.subarray(0, 100)).toString("latin1").trimStart();
    sig = text.startsWith("-----BEGIN PGP SIGNATURE")
      ? await pgp.readSignature({ armoredSignature: Buffer.from(signature).toString("utf8") })
      : await pgp.readSignature({ binarySignature: signature });
  } catch (e) {
    return `not an OpenPGP signature (${(e as Error).message})`;
  }
  const message = await pgp.createMessage({ binary: data });
  const r = await pgp.verify({ message, signature: sig, verificationKeys: [...keys], format: "binary" });
  if (r.signatures.length === 0) return "holds no signature";
  const known = new Set(keys.flatMap((k) => k.getKeyIDs().map((id) => id.toHex())));
  for (const s of r.signatures) {
    const id = s.keyID.toHex().toUpperCase();
    if (!known.has(s.keyID.toHex())) return `signed by key ${id}, which is not in the given keyring`;
    try {
      await s.verified;
    } catch (e) {
      return `BAD signature by key ${id}: ${(e as Error).message}`;
    }
  }
  return undefined;
}

/**
 * Failures of SHA256SUMS.gpg in `dir` against the keyrings `refs`: missing, not a signature, another key's,
 * or not matching SHA256SUMS (a tampered SHA256SUMS). Empty when the signature holds.
 */
export async function checkSignedSums(dir: string, refs: readonly SecretRef[]): Promise<string[]> {
  const keys = await readPublicKeyring(refs);
  const sigPath = join(dir, SIGNATURE_FILE);
  if (!(await exists(sigPath)))
    return [`${SIGNATURE_FILE}: missing (systemd-sysupdate with Verify=true refuses the directory)`];
  const sums = await readFile(join(dir, "SHA256SUMS")).catch(() => undefined);
  if (!sums) return [`${SIGNATURE_FILE}: SHA256SUMS is missing, nothing to check the signature against`];
  const why = await verifyDetached(new Uint8Array(sums), new Uint8Array(await readFile(sigPath)), keys);
  return why === undefined ? [] : [`${SIGNATURE_FILE}: ${why}`];
}

/** A signed release or feed verified without a keyring: said plainly (a failure unless checks are skipped). */
export function gpgNotChecked(fingerprint: string | undefined): string {
  return `${SIGNATURE_FILE}: signature NOT checked; pass --gpg-public KEYRING (the key ${fingerprint ?? "that signed it"}) or --no-signature-check`;
}
