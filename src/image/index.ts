// Image backends behind one entry point: squashfs, erofs or a plain directory, written exactly at `out`.
import type { Compression, ImageFormat } from "../spec/schema.js";
import { writeDirectory } from "./directory.js";
import { EROFS_DEFAULT_COMPRESSION, writeErofs, type ErofsOptions } from "./erofs.js";
import { SQUASHFS_DEFAULT_COMPRESSION, writeSquashfs } from "./squashfs.js";

export interface ImageWriteOptions extends ErofsOptions {
  readonly format: ImageFormat;
}

/** Write the image. File system images are padded to a multiple of 4096 bytes. */
export async function writeImage(o: ImageWriteOptions): Promise<void> {
  switch (o.format) {
    case "squashfs":
      return writeSquashfs(o);
    case "erofs":
      return writeErofs(o);
    case "directory":
      return writeDirectory(o);
    case "ddi":
      throw new Error("DDIs are written by writeVerityImage (image/ddi/produce.ts), not writeImage");
  }
}

/** The compression a format uses when none is asked for (undefined: the format does not compress). */
export function effectiveCompression(
  format: ImageFormat,
  asked: Compression | undefined,
  filesystem?: "erofs" | "squashfs",
): Compression | undefined {
  if (asked !== undefined || format === "directory") return asked;
  const fs = format === "ddi" ? (filesystem ?? "erofs") : format;
  return fs === "squashfs" ? SQUASHFS_DEFAULT_COMPRESSION : EROFS_DEFAULT_COMPRESSION;
}

export { treeToTar } from "./tar-writer.js";
export { inspectImage, type ImageInfo } from "./inspect.js";
