// `sysextkit sign`: add a root hash signature to an unsigned DDI (or sidecar image) after the fact, as a direct build would.
import type { X509Certificate } from "node:crypto";
import { constants } from "node:fs";
import { copyFile, open, readFile, stat, writeFile } from "node:fs/promises";
import { resolve } from "node:path";
import { SysextError } from "../../errors.js";
import { exists } from "../../util/fs.js";
import type { SecretRef } from "../../util/secret.js";
import { sidecarPaths } from "./index.js";
import { pkcs7FromFile, verifyDetached } from "./pkcs7.js";
import { withAtomicOutputs } from "./produce.js";
import { isGptImage, readAt, readDdi } from "./read.js";
import { diskUuid, veritySalt } from "./seed.js";
import {
  certificateFingerprint,
  loadCertificate,
  loadSigner,
  signaturePartition,
  signedRootHashText,
  signRootHash,
} from "./signature.js";
import { contentSeed, writeAll } from "./stream.js";
import { FIRST_PARTITION_OFFSET } from "./types.js";
import { checkVerity } from "./verity-check.js";
import { ddiLayout, ddiPartitions, gptLayout, writeGpt } from "./write.js";

export interface SignImageOptions {
  readonly image: string;
  readonly certificate: SecretRef;
  /** A detached PKCS#7 signature of the root hash made elsewhere (DER or PEM file)... */
  readonly signature?: string;
  /** ...or the key to sign with here. */
  readonly key?: SecretRef;
  readonly passphrase?: SecretRef;
  /** Write the signed image here instead of replacing `image`. */
  readonly out?: string;
}

export interface SignImageResult {
  readonly image: string;
  readonly kind: "ddi" | "sidecar";
  readonly rootHash: string;
  readonly signer: string;
  readonly certificateFingerprint: string;
  /** The file written: the signed DDI, or the .roothash.p7s next to a sidecar image. */
  readonly output: string;
}

const fail = (message: string, hint: string, file?: string) =>
  new SysextError("IMAGE_INVALID", message, { hint, ...(file ? { location: { file } } : {}) });

/** Sign an image: nothing is written unless the signature is valid for this image's root hash. */
export async function signImage(o: SignImageOptions): Promise<SignImageResult> {
  if ((o.signature === undefined) === (o.key === undefined)) {
    throw new SysextError(
      "USAGE",
      "sign needs either --signature FILE.p7s or --key KEY (with --certificate)",
      {
        hint: "sign offline and pass --signature ROOTHASH.p7s --certificate CERT, or sign here with --key KEY --certificate CERT",
      },
    );
  }
  const cert = o.key ? undefined : await loadCertificate(o.certificate);
  if (!(await isGptImage(o.image))) return signSidecar(o, cert);
  const info = await readDdi(o.image);
  if (info.signature) {
    throw fail(
      `${o.image} already holds a signature (partition ${info.signature.name})`,
      "sign the unsigned image from `build --sign-later`, or rebuild it",
      o.image,
    );
  }
  const { root, verity } = info;
  if (info.gptProblems.length > 0 || !root || !verity || !info.arch || !info.declaredRootHash) {
    throw fail(
      `${o.image} is not a DDI sysextkit can sign: ${info.gptProblems.join("; ") || "no root and root-verity partitions"}`,
      "run sysextkit verify on it",
      o.image,
    );
  }
  if (root.offset !== FIRST_PARTITION_OFFSET || verity.offset !== root.offset + root.size) {
    throw fail(
      `${o.image} does not have sysextkit's partition layout`,
      "sign images built by sysextkit build --format ddi --sign-later",
      o.image,
    );
  }
  const rootHash = Buffer.from(info.declaredRootHash, "hex");
  const vc = await checkVerity(
    { path: o.image, offset: root.offset, size: root.size },
    await readAt(o.image, verity.offset, verity.size),
    info.declaredRootHash,
  );
  if (vc.problems.length > 0)
    throw fail(
      `${o.image} does not verify: ${vc.problems.join("; ")}`,
      "rebuild the image; a signature would vouch for damaged data",
      o.image,
    );
  const seed = await contentSeed({ path: o.image, offset: root.offset, size: root.size });
  if (!vc.superblock!.salt.equals(veritySalt(seed)) || info.gpt.diskUuid !== diskUuid(seed)) {
    throw fail(
      `${o.image} was not built by sysextkit (its salt and disk GUID are not derived from its content)`,
      "sign it with the tool that built it (systemd-repart: --private-key/--certificate)",
      o.image,
    );
  }
  const { pkcs7, certificate } = await signatureFor(o, cert, rootHash);
  const parts = ddiPartitions({
    arch: info.arch,
    seed,
    rootHash,
    fsSize: root.size,
    hashSize: verity.size,
    signed: true,
  });
  const layout = ddiLayout(root.size, verity.size, true);
  const out = resolve(o.out ?? o.image);
  await withAtomicOutputs([out], async ([tmp]) => {
    await copyFile(o.image, tmp!, constants.COPYFILE_FICLONE);
    const fh = await open(tmp!, "r+");
    try {
      await writeAll(fh, signaturePartition(rootHash, certificate, pkcs7), layout.sigOffset);
      await writeGpt(fh, gptLayout(seed, layout.diskSize, parts));
    } finally {
      await fh.close();
    }
  });
  return result(o.image, "ddi", rootHash, certificate, out);
}

async function signSidecar(o: SignImageOptions, cert: X509Certificate | undefined): Promise<SignImageResult> {
  const side = sidecarPaths(o.image);
  if (!(await exists(side.verity)) || !(await exists(side.roothash))) {
    throw fail(
      `${o.image} is neither a DDI nor an image with ${side.verity} and ${side.roothash}`,
      "build with --format ddi --sign-later, or --verity sidecar --sign-later",
      o.image,
    );
  }
  if (await exists(side.signature))
    throw fail(
      `${o.image} is already signed: ${side.signature} exists`,
      "remove it first if you mean to replace the signature",
      side.signature,
    );
  const hex = (await readFile(side.roothash, "latin1")).trim().toLowerCase();
  const vc = await checkVerity(
    { path: o.image, offset: 0, size: (await stat(o.image)).size },
    await readFile(side.verity),
    hex,
  );
  if (vc.problems.length > 0)
    throw fail(
      `${o.image} does not verify: ${vc.problems.join("; ")}`,
      "rebuild the image; a signature would vouch for damaged data",
      o.image,
    );
  const rootHash = Buffer.from(hex, "hex");
  const { pkcs7, certificate } = await signatureFor(o, cert, rootHash);
  const target = o.out ? resolve(o.out) : side.signature;
  await withAtomicOutputs([target], ([tmp]) => writeFile(tmp!, pkcs7, { mode: 0o644 }));
  return result(o.image, "sidecar", rootHash, certificate, target);
}

/** The PKCS#7 to store: made here with the key, or the given one after checking it is over this root hash. */
async function signatureFor(
  o: SignImageOptions,
  cert: X509Certificate | undefined,
  rootHash: Buffer,
): Promise<{ pkcs7: Buffer; certificate: X509Certificate }> {
  if (o.key) {
    const signer = await loadSigner({
      key: o.key,
      certificate: o.certificate,
      ...(o.passphrase ? { passphrase: o.passphrase } : {}),
    });
    return { pkcs7: signRootHash(rootHash, signer), certificate: signer.certificate };
  }
  const file = o.signature!;
  const raw = await readFile(file).catch((e: unknown) => {
    throw new SysextError(
      "KEY_INVALID",
      `cannot read the signature ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        location: { file },
        hint: "pass the detached PKCS#7 signature of NAME.roothash (DER or PEM)",
      },
    );
  });
  let pkcs7: Buffer;
  try {
    pkcs7 = pkcs7FromFile(raw);
  } catch (e) {
    throw new SysextError("KEY_INVALID", `${file} is not a PKCS#7 signature: ${(e as Error).message}`, {
      location: { file },
      hint: "make it with: openssl smime -sign -noattr -binary -in NAME.roothash -signer cert.pem -inkey key.pem -outform DER -out NAME.roothash.p7s",
    });
  }
  const text = signedRootHashText(rootHash);
  const v = verifyDetached(pkcs7, text, [cert!]);
  if (v.ok) return { pkcs7, certificate: cert! };
  const withNewline = verifyDetached(pkcs7, Buffer.concat([text, Buffer.from("\n")]), [cert!]);
  throw new SysextError(
    "KEY_INVALID",
    withNewline.ok
      ? `${file} signs the root hash followed by a newline; the kernel and systemd check the bare hex string`
      : `${file} is not a valid signature of this image's root hash ${rootHash.toString("hex")} by the given certificate: ${v.reason}`,
    {
      location: { file },
      hint: withNewline.ok
        ? "sign NAME.roothash exactly as sysextkit wrote it (no trailing newline), e.g. openssl smime -sign -noattr -binary -in NAME.roothash ..."
        : "sign the NAME.roothash written with this image (not one from another build), with the key that belongs to --certificate",
    },
  );
}

function result(
  image: string,
  kind: "ddi" | "sidecar",
  rootHash: Buffer,
  cert: X509Certificate,
  output: string,
): SignImageResult {
  return {
    image,
    kind,
    rootHash: rootHash.toString("hex"),
    signer: cert.subject.replace(/\n/g, ", "),
    certificateFingerprint: certificateFingerprint(cert),
    output,
  };
}
