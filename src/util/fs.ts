// File helpers: atomic outputs (temporary name then rename), streaming hashes, existence checks.
import { createHash } from "node:crypto";
import { constants } from "node:fs";
import { lstat, mkdir, open, rename, rm, writeFile, type FileHandle } from "node:fs/promises";
import { dirname } from "node:path";
import { SysextError, type ErrorCode } from "../errors.js";
import { removeOnSignal, sweepStaleOnce, tempSibling } from "./temp.js";

export { tempSibling } from "./temp.js";

/**
 * Produce `finalPath` by letting `produce` write a temporary sibling, then renaming it into place.
 * On any failure (and on SIGINT/SIGTERM) the temporary file or directory is removed and nothing appears
 * at `finalPath`; a SIGKILL leaves a PID-tagged temporary name that the next run removes.
 */
export async function withAtomicOutput<T>(
  finalPath: string,
  produce: (tmpPath: string) => Promise<T>,
  options: { replaceDirectory?: boolean } = {},
): Promise<T> {
  return withAtomicOutputs([finalPath], ([tmp]) => produce(tmp!), options);
}

/**
 * Outputs that belong together (a payload and its checksum): `produce` writes every temporary sibling, then
 * they are renamed in the given order, so the LAST one is the commit marker. A reader that finds the last
 * file disagreeing with the others is looking at an interrupted publish (verify reports it as incomplete).
 */
export async function withAtomicOutputs<T>(
  finalPaths: readonly string[],
  produce: (tmpPaths: string[]) => Promise<T>,
  options: { replaceDirectory?: boolean } = {},
): Promise<T> {
  const dirs = [...new Set(finalPaths.map((p) => dirname(p)))];
  for (const d of dirs) {
    await mkdir(d, { recursive: true });
    await sweepStaleOnce(d);
  }
  const tmps = finalPaths.map((p) => tempSibling(p));
  const untrack = tmps.map((t) => removeOnSignal(t));
  const cleanup = () => Promise.all(tmps.map((t) => rm(t, { recursive: true, force: true })));
  try {
    const result = await produce(tmps);
    for (const [i, tmp] of tmps.entries()) {
      if (options.replaceDirectory) await rm(finalPaths[i]!, { recursive: true, force: true });
      await rename(tmp, finalPaths[i]!);
      // rename(2) does nothing when both names are hard links of one file (a re-run placing the same
      // image): the temporary name would stay behind.
      await rm(tmp, { force: true });
    }
    return result;
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    for (const u of untrack) u();
  }
}

export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  await withAtomicOutput(path, (tmp) => writeFile(tmp, data, { mode: 0o644 }));
}

export interface FileDigest {
  readonly size: number;
  readonly sha256: string; // lowercase hex
  readonly sha1Base64: string;
  readonly sha256Base64: string;
}

/** Stream a file once and return its size with SHA-256 (hex and base64) and SHA-1 (base64). */
export async function digestFile(path: string): Promise<FileDigest> {
  const h256 = createHash("sha256");
  const h1 = createHash("sha1");
  let size = 0;
  try {
    // One buffer for the whole file: a stream's fresh 1 MiB chunks would pile up as garbage (tens of MiB
    // of RSS) until the next collection.
    const fh = await open(path, "r");
    try {
      const buf = Buffer.allocUnsafe(1 << 20);
      for (;;) {
        const { bytesRead } = await fh.read(buf, 0, buf.length, size);
        if (bytesRead === 0) break;
        size += bytesRead;
        h256.update(buf.subarray(0, bytesRead));
        h1.update(buf.subarray(0, bytesRead));
      }
    } finally {
      await fh.close();
    }
  } catch (e) {
    throw new SysextError("IO", `cannot read ${path}: ${(e as Error).message}`, {
      cause: e,
      location: { file: path },
      hint: "check that the file exists, is a regular file and is readable",
    });
  }
  const d256 = h256.digest();
  return {
    size,
    sha256: d256.toString("hex"),
    sha256Base64: d256.toString("base64"),
    sha1Base64: h1.digest("base64"),
  };
}

/**
 * Open an input file for reading, refusing anything but a regular file. Opened non-blocking and checked
 * on the open descriptor: a FIFO (even one named like a .deb) or a device can neither hang the build
 * nor be swapped in between a check and the open. Errors are `code` errors naming the file and `what` it is.
 */
export async function openRegularFile(
  path: string,
  what: string,
  code: ErrorCode = "SOURCE_INVALID",
): Promise<FileHandle> {
  let fh: FileHandle;
  try {
    fh = await open(path, constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
  } catch (e) {
    throw new SysextError(
      code,
      `cannot open ${what} ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      {
        cause: e,
        location: { file: path },
        hint: `check that the ${what} exists and is readable by the user running sysextkit`,
      },
    );
  }
  const st = await fh.stat();
  if (!st.isFile()) {
    await fh.close();
    const kind = st.isFIFO()
      ? "a FIFO"
      : st.isDirectory()
        ? "a directory"
        : st.isSocket()
          ? "a socket"
          : "a device";
    throw new SysextError(code, `${what} ${path} is ${kind}, not a regular file`, {
      location: { file: path },
      hint: `replace it with the real ${what} (sysextkit reads only regular files as inputs)`,
    });
  }
  return fh;
}

export async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** The build epoch: SOURCE_DATE_EPOCH when set (validated), else the fixed epoch 0. Never "now". */
export function resolveEpoch(env: NodeJS.ProcessEnv = process.env, explicit?: number): number {
  if (explicit !== undefined) return explicit;
  const raw = env.SOURCE_DATE_EPOCH;
  if (raw === undefined || raw === "") return 0;
  if (!/^\d+$/.test(raw) || Number(raw) > 0xffffffff) {
    throw new SysextError(
      "USAGE",
      `SOURCE_DATE_EPOCH=${JSON.stringify(raw)} is not a whole number of seconds`,
      {
        hint: "set SOURCE_DATE_EPOCH to a UNIX timestamp such as $(git log -1 --format=%ct), or unset it",
        location: { field: "SOURCE_DATE_EPOCH" },
      },
    );
  }
  return Number(raw);
}
