// `verify IMAGE`: a DDI's GPT, its hash tree against its data, its signature against trusted certificates (or sidecars).
import type { X509Certificate } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { exists } from "../../util/fs.js";
import type { SecretRef } from "../../util/secret.js";
import { sidecarPaths } from "./index.js";
import { verifyDetached } from "./pkcs7.js";
import { isGptImage, readAt, readDdi, type DdiInfo } from "./read.js";
import {
  certificateDateProblem,
  certificateFingerprint,
  readCertificate,
  signedRootHashText,
} from "./signature.js";
import { rootHashUuids } from "./seed.js";
import { checkVerity } from "./verity-check.js";

export interface ImageVerifyOptions {
  /** Certificates to trust (file, env:NAME, - or PEM). Without any, a signature is only checked for consistency. */
  readonly certificates?: readonly SecretRef[];
}

export interface ImageVerifyReport {
  readonly ok: boolean;
  readonly file: string;
  readonly kind: "ddi" | "sidecar";
  readonly failures: string[];
  readonly warnings: string[];
  readonly rootHash: string | undefined;
  readonly signed: boolean;
  /** Subject of the certificate the signature was verified with. */
  readonly signer: string | undefined;
  readonly certificateFingerprint: string | undefined;
}

/** Whether `path` is something verifyImage handles: a GPT disk image, or an image with a NAME.verity sidecar. */
export async function isVerityImage(path: string): Promise<boolean> {
  if ((await stat(path)).isDirectory()) return false;
  return (await isGptImage(path)) || (await exists(sidecarPaths(path).verity));
}

/** Verify a DDI (or a plain image with verity sidecar files); never throws for a bad image. */
export async function verifyImage(
  path: string,
  options: ImageVerifyOptions = {},
): Promise<ImageVerifyReport> {
  const certs: X509Certificate[] = [];
  for (const c of options.certificates ?? []) certs.push(await readCertificate(c));
  const failures: string[] = [];
  const warnings: string[] = [];
  for (const c of certs) {
    const p = certificateDateProblem(c);
    if (p)
      warnings.push(
        `certificate ${c.subject.replace(/\n/g, ", ")} is ${p} (the kernel and systemd do not check dates; renew it anyway)`,
      );
  }
  const gpt = await isGptImage(path).catch(() => false);
  const r = gpt
    ? await verifyDdi(path, certs, failures, warnings)
    : await verifySidecar(path, certs, failures, warnings);
  return { ok: failures.length === 0, file: path, kind: gpt ? "ddi" : "sidecar", failures, warnings, ...r };
}

type Outcome = Pick<ImageVerifyReport, "rootHash" | "signed" | "signer" | "certificateFingerprint">;

async function verifyDdi(
  path: string,
  certs: X509Certificate[],
  failures: string[],
  warnings: string[],
): Promise<Outcome> {
  let info: DdiInfo;
  try {
    info = await readDdi(path);
  } catch (e) {
    failures.push((e as Error).message);
    return { rootHash: undefined, signed: false, signer: undefined, certificateFingerprint: undefined };
  }
  failures.push(...info.gptProblems.map((p) => `GPT: ${p}`));
  const { root, verity, signature } = info;
  if (!root) failures.push("no root partition of a known architecture");
  if (root && !verity) failures.push(`no root-verity partition for ${root.arch}`);
  for (const p of info.partitions) {
    if (p.role && p.arch !== info.arch)
      failures.push(`partition ${p.name}: ${p.role} of ${p.arch}, but the root partition is ${info.arch}`);
  }
  if (!root || !verity)
    return { rootHash: undefined, signed: false, signer: undefined, certificateFingerprint: undefined };
  const expected = info.declaredRootHash!;
  const ids = rootHashUuids(Buffer.from(expected, "hex"));
  if (root.uuid !== ids.data || verity.uuid !== ids.verity) {
    failures.push(
      `partition UUIDs ${root.uuid} / ${verity.uuid} are not the halves of root hash ${expected} (systemd matches partitions by them)`,
    );
  }
  const hash = await readAt(path, verity.offset, verity.size);
  const vc = await checkVerity({ path, offset: root.offset, size: root.size }, hash, expected);
  failures.push(...vc.problems.map((p) => `verity: ${p}`));
  if (!signature) {
    if (certs.length > 0)
      failures.push("the image is not signed (no root-verity-sig partition), but a certificate was given");
    else warnings.push("the image is not signed (no root-verity-sig partition)");
    return { rootHash: expected, signed: false, signer: undefined, certificateFingerprint: undefined };
  }
  const si = info.signatureInfo!;
  if (si.problem || !si.json) {
    failures.push(`signature partition: ${si.problem}`);
    return { rootHash: expected, signed: true, signer: undefined, certificateFingerprint: undefined };
  }
  return checkSignature(
    si.json.signature,
    Buffer.from(si.json.rootHash, "hex"),
    certs,
    si.embeddedSigner,
    si.json.certificateFingerprint,
    failures,
    warnings,
  );
}

async function verifySidecar(
  path: string,
  certs: X509Certificate[],
  failures: string[],
  warnings: string[],
): Promise<Outcome> {
  const side = sidecarPaths(path);
  const none = { rootHash: undefined, signed: false, signer: undefined, certificateFingerprint: undefined };
  if (!(await exists(side.verity)) || !(await exists(side.roothash))) {
    failures.push(`${path} is not a DDI and has no ${side.verity} + ${side.roothash} next to it`);
    return none;
  }
  const text = (await readFile(side.roothash, "latin1")).trim();
  if (!/^[0-9a-fA-F]{64}$/.test(text)) {
    failures.push(`${side.roothash} does not hold a 64-digit hex root hash`);
    return none;
  }
  const rootHash = text.toLowerCase();
  const vc = await checkVerity(
    { path, offset: 0, size: (await stat(path)).size },
    await readFile(side.verity),
    rootHash,
  );
  failures.push(...vc.problems.map((p) => `verity: ${p}`));
  if (!(await exists(side.signature))) {
    if (certs.length > 0) failures.push(`not signed: no ${side.signature}`);
    else warnings.push(`not signed (no ${side.signature})`);
    return { ...none, rootHash };
  }
  return checkSignature(
    await readFile(side.signature),
    Buffer.from(rootHash, "hex"),
    certs,
    undefined,
    undefined,
    failures,
    warnings,
  );
}

function checkSignature(
  pkcs7: Buffer,
  rootHash: Buffer,
  certs: X509Certificate[],
  embedded: X509Certificate | undefined,
  fingerprint: string | undefined,
  failures: string[],
  warnings: string[],
): Outcome {
  const content = signedRootHashText(rootHash);
  const trusted = certs.length > 0 ? certs : embedded ? [embedded] : [];
  const base = { rootHash: rootHash.toString("hex"), signed: true };
  if (trusted.length === 0) {
    warnings.push("signature not checked: pass --certificate CERT (the PKCS#7 carries no certificate)");
    return { ...base, signer: undefined, certificateFingerprint: undefined };
  }
  if (certs.length === 0)
    warnings.push(
      "signature checked only against the certificate it carries; pass --certificate CERT to check it is the one you trust",
    );
  const v = verifyDetached(pkcs7, content, trusted);
  if (!v.ok) {
    failures.push(`signature: ${v.reason}`);
    return { ...base, signer: undefined, certificateFingerprint: undefined };
  }
  const fp = certificateFingerprint(v.certificate);
  if (fingerprint !== undefined && fingerprint !== fp) {
    failures.push(`signature partition: certificateFingerprint ${fingerprint} is not the signer's (${fp})`);
  }
  return { ...base, signer: v.certificate.subject.replace(/\n/g, ", "), certificateFingerprint: fp };
}
