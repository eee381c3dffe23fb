// Image backends behind one entry point: squashfs, erofs or a plain directory, written exactly at `out`.
import type { ImageFormat } from "../spec/schema.js";
import { writeDirectory } from "./directory.js";
import { writeErofs, type ErofsOptions } from "./erofs.js";
import { writeSquashfs } from "./squashfs.js";

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
  }
}

export { treeToTar } from "./tar-writer.js";
export { inspectImage, type ImageInfo } from "./inspect.js";
