// The base OS release an extension binds to: read from an os-release file, a root directory or explicit values.
import { lstat, readFile, readlink, stat } from "node:fs/promises";
import { join } from "node:path";
import { SysextError } from "../errors.js";
import { parseEnvFile } from "../util/env-file.js";
import { hostArch, normalizeArch, type SystemdArch } from "./arch.js";

export interface BaseRelease {
  readonly id: string;
  readonly versionId: string | undefined;
  readonly sysextLevel: string | undefined;
  readonly idLike: readonly string[];
  readonly arch: SystemdArch;
  /** Whether the arch came from the caller (--arch) or was assumed to be this machine's. */
  readonly archSource: "explicit" | "host";
  /** All os-release fields as read. */
  readonly fields: Readonly<Record<string, string>>;
  /** Where it came from (file path, root directory or "explicit values"). */
  readonly source: string;
  /** Root directory of the base, when one was given (for package databases and layout checks). */
  readonly root: string | undefined;
  /** true: usr/sbin is a symlink (merged sbin); false: a real directory; undefined: unknown. */
  readonly mergedSbin: boolean | undefined;
}

export interface BaseInput {
  /** An os-release file or a root directory holding usr/lib/os-release or etc/os-release. */
  readonly path?: string;
  /** Explicit os-release fields (ID, VERSION_ID, ...); override what the path provides. */
  readonly values?: Readonly<Record<string, string>>;
  /** Architecture in any known spelling; defaults to this machine's. */
  readonly arch?: string;
}

/** Read and validate a base release. */
export async function readBase(input: BaseInput): Promise<BaseRelease> {
  let fields: Record<string, string> = {};
  let source = "explicit values";
  let root: string | undefined;
  let mergedSbin: boolean | undefined;
  const path = input.path;
  if (path !== undefined) {
    const st = await stat(path).catch((e: unknown) => {
      throw new SysextError("BASE_INVALID", `cannot read base ${path}: ${(e as Error).message}`, {
        cause: e,
        location: { file: path },
        hint: "pass an os-release file (e.g. /etc/os-release) or the root directory of the base image",
      });
    });
    let file = path;
    if (st.isDirectory()) {
      root = path;
      const candidates = [join(root, "usr/lib/os-release"), join(root, "etc/os-release")];
      const hit = await firstReadable(candidates);
      if (!hit) {
        throw new SysextError("BASE_INVALID", `no os-release found in base root ${root}`, {
          location: { file: root },
          hint: "the root directory must contain usr/lib/os-release or etc/os-release",
        });
      }
      file = hit;
      mergedSbin = await detectMergedSbin(root);
    }
    fields = Object.fromEntries(parseEnvFile(await readOsRelease(file), file));
    source = file;
  }
  fields = { ...fields, ...(input.values ?? {}) };
  const id = fields.ID;
  if (!id) {
    throw new SysextError("BASE_INVALID", `base release has no ID`, {
      location: { file: source, field: "ID" },
      hint: "os-release must contain ID=<name>, e.g. ID=flatcar",
    });
  }
  const arch = input.arch === undefined ? hostArch() : normalizeArch(input.arch, "--arch");
  return Object.freeze({
    id,
    versionId: fields.VERSION_ID || undefined,
    sysextLevel: fields.SYSEXT_LEVEL || undefined,
    idLike: (fields.ID_LIKE ?? "").split(/\s+/).filter(Boolean),
    arch,
    archSource: input.arch === undefined ? "host" : "explicit",
    fields: Object.freeze({ ...fields }),
    source,
    root,
    mergedSbin,
  });
}

async function readOsRelease(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    throw new SysextError("BASE_INVALID", `cannot read os-release file ${file}: ${(e as Error).message}`, {
      cause: e,
      location: { file },
      hint: "pass a readable os-release file (e.g. /etc/os-release) or the root directory of the base image",
    });
  }
}

async function firstReadable(paths: string[]): Promise<string | undefined> {
  for (const p of paths) {
    try {
      // os-release may itself be a relative symlink (etc/os-release -> ../usr/lib/os-release).
      const st = await lstat(p);
      if (st.isSymbolicLink()) {
        const t = await readlink(p);
        if (t.startsWith("/")) continue;
      }
      await readFile(p);
      return p;
    } catch {
      // try the next
    }
  }
  return undefined;
}

async function detectMergedSbin(root: string): Promise<boolean | undefined> {
  try {
    const st = await lstat(join(root, "usr/sbin"));
    return st.isSymbolicLink();
  } catch {
    return undefined;
  }
}
