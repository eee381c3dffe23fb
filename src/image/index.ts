// Image backends behind one entry point: squashfs, erofs or a plain directory, written exactly at `out`.
import type { Compression } from "../spec/schema.js";
import type { Tree } from "../tree/tree.js";
import { writeDirectory } from "./directory.js";
import { writeErofs } from "./erofs.js";
import { writeSquashfs } from "./squashfs.js";

export interface ImageWriteOptions {
  tree: Tree;
  /** Where to write (the caller wraps this in withAtomicOutput and passes the temporary name). */
  out: string;
  format: "squashfs" | "erofs" | "directory";
  compression: Compression | undefined;
  compressionLevel: number | undefined;
  blockSize: number | undefined;
  /** The one timestamp of every entry and of the file system itself. */
  epoch: number;
  /** Scratch space (erofs stages the tree here). */
  workDir: string;
  onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** Write the image. File system images are padded to a multiple of 4096 bytes. */
export async function writeImage(o: ImageWriteOptions): Promise<void> {
  const progress = o.onProgress ? { onProgress: o.onProgress } : {};
  switch (o.format) {
    case "squashfs":
      return writeSquashfs({ ...o, ...progress });
    case "erofs":
      return writeErofs({ ...o, ...progress });
    case "directory":
      return writeDirectory({ tree: o.tree, out: o.out, epoch: o.epoch, ...progress });
  }
}

export { treeToTar } from "./tar-writer.js";
export { inspectImage, type ImageInfo } from "./inspect.js";
