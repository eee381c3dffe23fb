// The verity backends: a DDI (GPT with root, root-verity, root-verity-sig) or a plain image with verity sidecar files.
import { rename, rm, stat, writeFile } from "node:fs/promises";
import { findTool, spawnTool } from "../../util/exec.js";
import type { SystemdArch } from "../../base/arch.js";
import type { ErofsOptions } from "../erofs.js";
import { writeErofs } from "../erofs.js";
import { writeSquashfs } from "../squashfs.js";
import { signRootHash, type DdiSigner } from "./signature.js";
import { contentSeed, hashRegion, verityParams } from "./stream.js";
import { FIRST_PARTITION_OFFSET } from "./types.js";
import { writeDdi, type DdiWriteResult } from "./write.js";

export type VerityFilesystem = "erofs" | "squashfs";

export interface VerityImageOptions extends ErofsOptions {
  readonly arch: SystemdArch;
  /** The file system inside: erofs (repart's and Flatcar's choice) or squashfs. */
  readonly filesystem: VerityFilesystem;
  readonly signer?: DdiSigner;
  /** Fixed seed instead of the content-derived one (tests comparing with systemd-repart). */
  readonly seed?: Buffer;
}

/** Build the file system with the erofs or squashfs backend, then wrap it into a DDI at `out`. */
export async function writeDdiImage(o: VerityImageOptions): Promise<DdiWriteResult> {
  if (o.filesystem === "squashfs") {
    // mksquashfs writes straight into the root partition's place: no copy.
    await writeSquashfs({ ...o, offset: FIRST_PARTITION_OFFSET });
    const size = (await stat(o.out)).size - FIRST_PARTITION_OFFSET;
    return writeDdi({ ...common(o), filesystem: { path: o.out, offset: FIRST_PARTITION_OFFSET, size } });
  }
  // mkfs.erofs (1.5) cannot write at an offset: write the file system where the DDI goes, then shift it
  // into the root partition's place by inserting 1 MiB before it (no copy on ext4/xfs), else copy it.
  await writeErofs(o);
  const size = (await stat(o.out)).size;
  if (await insertHead(o.out, FIRST_PARTITION_OFFSET)) {
    return writeDdi({ ...common(o), filesystem: { path: o.out, offset: FIRST_PARTITION_OFFSET, size } });
  }
  const fsPath = `${o.out}.fs`;
  await rename(o.out, fsPath);
  try {
    return await writeDdi({ ...common(o), filesystem: { path: fsPath, offset: 0, size } });
  } finally {
    await rm(fsPath, { force: true });
  }
}

/** Insert `bytes` of hole at the start of `file` without moving data (fallocate --insert-range); false if unsupported. */
async function insertHead(file: string, bytes: number): Promise<boolean> {
  const bin = await findTool("fallocate");
  if (!bin) return false;
  const r = await spawnTool(bin, ["--insert-range", "--offset", "0", "--length", String(bytes), file], {
    reject: false,
  });
  return r.exitCode === 0;
}

function common(o: VerityImageOptions) {
  return {
    out: o.out,
    arch: o.arch,
    ...(o.signer ? { signer: o.signer } : {}),
    ...(o.seed ? { seed: o.seed } : {}),
  };
}

export interface SidecarPaths {
  /** `<name>.verity`: the hash device (superblock + tree) systemd finds next to `<name>.raw`. */
  readonly verity: string;
  /** `<name>.roothash`: the root hash as hex. */
  readonly roothash: string;
  /** `<name>.roothash.p7s`: the DER PKCS#7 signature (written when signing). */
  readonly signature: string;
}

export interface SidecarResult {
  readonly rootHash: string;
  readonly seed: string;
  readonly signed: boolean;
}

/** The root hash text as sysextkit writes it to `.roothash` files: hex, no newline (sign the file as it is). */
export function rootHashFileText(rootHash: string): string {
  return rootHash;
}

/**
 * Verity for a plain file system image at `image` (already written): hash device, root hash and, with a
 * signer, the signature, at the given (temporary) paths.
 */
export async function writeVeritySidecars(
  image: string,
  paths: SidecarPaths,
  signer: DdiSigner | undefined,
  seed?: Buffer,
): Promise<SidecarResult> {
  const region = { path: image, offset: 0, size: (await stat(image)).size };
  const s = seed ?? (await contentSeed(region));
  const { tree, hashDevice } = await hashRegion(region, verityParams(s));
  await writeFile(paths.verity, hashDevice, { mode: 0o644 });
  await writeFile(paths.roothash, rootHashFileText(tree.rootHash.toString("hex")), { mode: 0o644 });
  if (signer) await writeFile(paths.signature, signRootHash(tree.rootHash, signer), { mode: 0o644 });
  return { rootHash: tree.rootHash.toString("hex"), seed: s.toString("hex"), signed: signer !== undefined };
}

/** The sidecar file names systemd derives from an image path: `.raw` replaced, else appended. */
export function sidecarPaths(image: string): SidecarPaths {
  const stem = image.endsWith(".raw") ? image.slice(0, -4) : image;
  return { verity: `${stem}.verity`, roothash: `${stem}.roothash`, signature: `${stem}.roothash.p7s` };
}

export type { DdiWriteResult } from "./write.js";
export type { DdiSigner, SignerInput } from "./signature.js";
