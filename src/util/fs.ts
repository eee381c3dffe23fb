// File helpers: atomic outputs (temporary name then rename), streaming hashes, existence checks.
import { createHash, randomBytes } from "node:crypto";
import { createReadStream } from "node:fs";
import { lstat, mkdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { SysextError } from "../errors.js";

/** A temporary sibling name for `finalPath`, hidden and unique. */
export function tempSibling(finalPath: string): string {
  return join(
    dirname(finalPath),
    `.${basename(finalPath)}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`,
  );
}

/**
 * Produce `finalPath` by letting `produce` write a temporary sibling, then renaming it into place.
 * On any failure the temporary file or directory is removed and nothing appears at `finalPath`.
 */
export async function withAtomicOutput<T>(
  finalPath: string,
  produce: (tmpPath: string) => Promise<T>,
  options: { replaceDirectory?: boolean } = {},
): Promise<T> {
  await mkdir(dirname(finalPath), { recursive: true });
  const tmp = tempSibling(finalPath);
  const cleanup = () => rm(tmp, { recursive: true, force: true });
  const onSignal = () => {
    void cleanup().finally(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  try {
    const result = await produce(tmp);
    if (options.replaceDirectory) await rm(finalPath, { recursive: true, force: true });
    await rename(tmp, finalPath);
    return result;
  } catch (e) {
    await cleanup();
    throw e;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
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
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
      const buf = chunk as Buffer;
      size += buf.length;
      h256.update(buf);
      h1.update(buf);
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
