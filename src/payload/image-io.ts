// Reading payload inputs: the image checks every payload kind shares, and exact positional reads.
import { stat, type FileHandle } from "node:fs/promises";
import { SysextError } from "../errors.js";
import { BLOCK_SIZE } from "./proto.js";

/** Size of a regular image file; PAYLOAD_INVALID naming the file when it is missing or not a file. */
export async function imageFileSize(image: string): Promise<number> {
  try {
    const st = await stat(image);
    if (!st.isFile()) throw new Error("not a regular file");
    return st.size;
  } catch (e) {
    throw new SysextError("PAYLOAD_INVALID", `cannot read image ${image}: ${(e as Error).message}`, {
      location: { file: image },
      cause: e,
      hint: "pass the path of a built extension image",
    });
  }
}

/** Refuse an image update_engine would refuse: empty or not a multiple of 4096 bytes. */
export function requireBlockMultiple(image: string, size: number): void {
  if (size === 0 || size % BLOCK_SIZE !== 0) {
    throw new SysextError(
      "PAYLOAD_INVALID",
      `image ${image} is ${size} bytes, not a non-zero multiple of ${BLOCK_SIZE}; update_engine refuses it`,
      {
        location: { file: image },
        hint: "pad the image to a multiple of 4096 bytes (sysextkit build does this)",
      },
    );
  }
}

/** The size of an image a CrAU payload can carry (see requireBlockMultiple). */
export async function checkCrauImage(image: string): Promise<number> {
  const size = await imageFileSize(image);
  requireBlockMultiple(image, size);
  return size;
}

/** Read exactly `length` bytes at `position`; undefined when the file ends first. */
export async function readRange(
  fh: FileHandle,
  position: number,
  length: number,
): Promise<Buffer | undefined> {
  const buf = Buffer.allocUnsafe(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(buf, done, length - done, position + done);
    if (bytesRead === 0) return undefined;
    done += bytesRead;
  }
  return buf;
}

/** readRange for files that must hold the range (an image being read): IO error naming the file otherwise. */
export async function readExact(
  fh: FileHandle,
  file: string,
  position: number,
  length: number,
): Promise<Buffer> {
  const buf = await readRange(fh, position, length);
  if (!buf) {
    throw new SysextError("IO", `${file} ended early: expected ${length} bytes at offset ${position}`, {
      location: { file },
      hint: "the file changed while it was read; do not modify it during the run",
    });
  }
  return buf;
}
