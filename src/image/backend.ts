// What every file system backend is given, and the 4096-byte padding all their images share.
import { stat, truncate } from "node:fs/promises";
import type { Compression } from "../spec/schema.js";
import type { Tree } from "../tree/tree.js";

export interface BackendOptions {
  readonly tree: Tree;
  /** Where to write (the caller wraps this in withAtomicOutput and passes the temporary name). */
  readonly out: string;
  readonly compression: Compression | undefined;
  readonly compressionLevel: number | undefined;
  readonly blockSize: number | undefined;
  /** The one timestamp of every entry and of the file system itself. */
  readonly epoch: number;
  readonly onProgress?: (bytesDone: number, bytesTotal: number) => void;
}

/** Extend a file with zeros to the next multiple of 4096 (update payloads need whole blocks). */
export async function padTo4096(path: string): Promise<void> {
  const { size } = await stat(path);
  if (size % 4096 !== 0) await truncate(path, size + (4096 - (size % 4096)));
}
