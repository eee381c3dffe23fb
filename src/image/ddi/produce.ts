// Writing a verity-protected image and its companion files as one unit: all appear, or none do.
import { mkdir, rename, rm, writeFile } from "node:fs/promises";
import { dirname } from "node:path";
import type { SystemdArch } from "../../base/arch.js";
import type { ImageFormat } from "../../spec/schema.js";
import { SysextError } from "../../errors.js";
import { tempSibling } from "../../util/fs.js";
import { writeImage, type ImageWriteOptions } from "../index.js";
import {
  rootHashFileText,
  sidecarPaths,
  writeDdiImage,
  writeVeritySidecars,
  type VerityFilesystem,
} from "./index.js";
import { certificateFingerprint, loadSigner, type DdiSigner, type SignerInput } from "./signature.js";
import type { DdiPartitionInfo } from "./write.js";

/** How an image is protected: a DDI, or a plain image with sidecar files; signed now, later, or never. */
export interface VerityRequest {
  readonly kind: "ddi" | "sidecar";
  /** For a DDI: the file system in its root partition (default erofs). */
  readonly filesystem?: VerityFilesystem;
  /** Where the key and certificate come from, or an already loaded signer (several builds, one stdin). */
  readonly sign?: SignerInput | DdiSigner;
  /** Write `<name>.roothash` for an offline signature (`sysextkit sign`) instead of signing now. */
  readonly signLater?: boolean;
  readonly seed?: Buffer;
}

export interface VerityInfo {
  readonly kind: "ddi" | "sidecar";
  readonly filesystem: VerityFilesystem;
  readonly rootHash: string;
  /** sysextkit's content-derived seed (salt, disk and signature partition UUIDs derive from it). */
  readonly seed: string;
  readonly signed: boolean;
  /** The signature is still to be made: sign `roothashFile` and run `sysextkit sign`. */
  readonly signLater: boolean;
  readonly certificateFingerprint: string | undefined;
  readonly signer: string | undefined;
  /** Companion files written next to the image. */
  readonly files: { readonly roothash?: string; readonly verity?: string; readonly signature?: string };
  readonly partitions: readonly DdiPartitionInfo[] | undefined;
}

/** What a build asks for, checked: undefined when the image gets no verity at all. */
export function resolveVerityRequest(o: {
  format: ImageFormat;
  filesystem: VerityFilesystem | undefined;
  verity: "none" | "sidecar" | undefined;
  sign: SignerInput | DdiSigner | undefined;
  signLater: boolean | undefined;
}): VerityRequest | undefined {
  const bad = (message: string, hint: string, field: string) =>
    new SysextError("FORMAT_UNSUPPORTED", message, { hint, location: { field } });
  if (o.filesystem !== undefined && o.format !== "ddi") {
    throw bad(
      `image.filesystem ${o.filesystem} is for the ddi format, not ${o.format}`,
      "remove image.filesystem, or use format ddi",
      "image.filesystem",
    );
  }
  if (o.verity === "sidecar" && o.format !== "squashfs" && o.format !== "erofs") {
    throw bad(
      `verity sidecar files are for squashfs and erofs images, not ${o.format}`,
      o.format === "ddi"
        ? "a DDI carries its verity data inside; remove image.verity"
        : "use format squashfs or erofs with verity: sidecar",
      "image.verity",
    );
  }
  const kind = o.format === "ddi" ? "ddi" : o.verity === "sidecar" ? "sidecar" : undefined;
  if (!kind) {
    if (o.sign || o.signLater) {
      throw bad(
        `a ${o.format} image has no root hash to sign`,
        "sign a DDI (--format ddi) or a plain image with verity sidecar files (--verity sidecar)",
        "image.format",
      );
    }
    return undefined;
  }
  return {
    kind,
    ...(o.filesystem ? { filesystem: o.filesystem } : {}),
    ...(o.sign ? { sign: o.sign } : {}),
    ...(o.signLater ? { signLater: true } : {}),
  };
}

/** Load the signing material before any work, so a bad key fails the build before anything is written. */
export async function prepareSigner(req: VerityRequest | undefined): Promise<DdiSigner | undefined> {
  if (!req) return undefined;
  if (req.sign && req.signLater) {
    throw new SysextError("USAGE", "--sign-later and a signing key exclude each other", {
      hint: "either sign now (--key and --certificate) or later (--sign-later, then sysextkit sign)",
    });
  }
  if (!req.sign) return undefined;
  return isLoadedSigner(req.sign) ? req.sign : loadSigner(req.sign);
}

export function isLoadedSigner(s: SignerInput | DdiSigner): s is DdiSigner {
  return typeof s.certificate !== "string";
}

/**
 * Produce `finalPaths` by letting `produce` write temporary siblings, then rename them all into place.
 * On failure every temporary file is removed and nothing appears at any of the final paths.
 */
export async function withAtomicOutputs<T>(
  finalPaths: readonly string[],
  produce: (tmpPaths: readonly string[]) => Promise<T>,
): Promise<T> {
  for (const p of finalPaths) await mkdir(dirname(p), { recursive: true });
  const tmps = finalPaths.map(tempSibling);
  const cleanup = () => Promise.all(tmps.map((t) => rm(t, { force: true, recursive: true })));
  const onSignal = () => void cleanup().finally(() => process.exit(130));
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await produce(tmps);
    for (let i = 0; i < tmps.length; i++) await rename(tmps[i]!, finalPaths[i]!);
    return result;
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

/**
 * Sidecar files left from an earlier build of the same image name would make systemd verify the new image
 * against an old root hash (or, worse, one the caller no longer means): remove those this build does not write.
 */
export async function removeStaleSidecars(image: string, written: readonly string[]): Promise<void> {
  const s = sidecarPaths(image);
  for (const p of [s.verity, s.roothash, s.signature]) if (!written.includes(p)) await rm(p, { force: true });
}

/** Write the image at `image` with verity as `req` asks, plus its companion files, atomically. */
export async function writeVerityImage(
  image: string,
  o: Omit<ImageWriteOptions, "out"> & { readonly arch: SystemdArch },
  req: VerityRequest,
  signer: DdiSigner | undefined,
): Promise<VerityInfo> {
  const side = sidecarPaths(image);
  const filesystem: VerityFilesystem =
    req.kind === "ddi" ? (req.filesystem ?? "erofs") : (o.format as VerityFilesystem);
  const files: { roothash?: string; verity?: string; signature?: string } = {};
  if (req.kind === "sidecar") {
    files.verity = side.verity;
    files.roothash = side.roothash;
    if (signer) files.signature = side.signature;
  } else if (!signer) {
    // Unsigned: systemd learns the root hash only from NAME.roothash next to the DDI (252/257 mount it
    // without dm-verity otherwise); it is also what --sign-later users sign.
    files.roothash = side.roothash;
  }
  const extras = [files.verity, files.roothash, files.signature].filter((p): p is string => p !== undefined);
  const info = await withAtomicOutputs([image, ...extras], async ([tmpImage, ...tmpExtras]) => {
    const tmpOf = (p: string | undefined) => (p === undefined ? "" : tmpExtras[extras.indexOf(p)]!);
    if (req.kind === "ddi") {
      const r = await writeDdiImage({
        ...o,
        out: tmpImage!,
        filesystem,
        ...(signer ? { signer } : {}),
        ...(req.seed ? { seed: req.seed } : {}),
      });
      if (files.roothash)
        await writeFile(tmpOf(files.roothash), rootHashFileText(r.rootHash), { mode: 0o644 });
      return { rootHash: r.rootHash, seed: r.seed, partitions: r.partitions };
    }
    await writeImage({ ...o, format: filesystem, out: tmpImage! });
    const r = await writeVeritySidecars(
      tmpImage!,
      { verity: tmpOf(files.verity), roothash: tmpOf(files.roothash), signature: tmpOf(files.signature) },
      signer,
      req.seed,
    );
    return { rootHash: r.rootHash, seed: r.seed, partitions: undefined };
  });
  await removeStaleSidecars(image, extras);
  return {
    kind: req.kind,
    filesystem,
    rootHash: info.rootHash,
    seed: info.seed,
    signed: signer !== undefined,
    signLater: req.signLater === true,
    certificateFingerprint: signer ? certificateFingerprint(signer.certificate) : undefined,
    signer: signer ? signer.certificate.subject.replace(/\n/g, ", ") : undefined,
    files,
    partitions: info.partitions,
  };
}
