// Places files into the ext4 root file system of a throwaway disk with debugfs (no mount, no root needed).
import { lstat, mkdir, readdir, readlink, symlink, writeFile } from "node:fs/promises";
import { join, posix, resolve } from "node:path";
import { SysextError } from "../errors.js";
import { runTool } from "../util/exec.js";
import { fsSpec } from "./disk.js";

/** One thing to place into the guest: a host file or directory, or literal content. */
export type GuestFile =
  | { readonly target: string; readonly source: string; readonly mode?: number }
  | { readonly target: string; readonly content: string | Uint8Array; readonly mode?: number }
  | { readonly target: string; readonly symlink: string };

/** Guest paths are written into debugfs commands: absolute, plain characters only. */
const SAFE_PATH = /^\/[A-Za-z0-9._@%+=:,~/-]*$/;

export function checkGuestPath(path: string, what: string): string {
  const norm = posix.normalize(path);
  if (!SAFE_PATH.test(norm) || norm === "/" || path.split("/").includes("..")) {
    throw new SysextError("USAGE", `${what}: guest path ${JSON.stringify(path)} is not usable`, {
      hint: "give an absolute guest path of letters, digits and . _ - + @ % = : , ~ (no spaces, no ..)",
    });
  }
  return norm.replace(/\/$/, "");
}

function checkLinkTarget(target: string): string {
  if (!/^[A-Za-z0-9._@%+=:,~/-]+$/.test(target)) {
    throw new SysextError("USAGE", `symlink target ${JSON.stringify(target)} is not usable in the guest`, {
      hint: "symlink targets placed into the guest are plain paths without spaces",
    });
  }
  return target;
}

type Op =
  | { kind: "dir"; path: string; mode: number }
  | { kind: "file"; path: string; local: string; mode: number }
  | { kind: "symlink"; path: string; target: string };

/** Expand files and directories into operations; literal content is staged below `stage`. */
async function plan(files: readonly GuestFile[], stage: string): Promise<Op[]> {
  const ops: Op[] = [];
  let n = 0;
  const local = async (p: string): Promise<string> => {
    // debugfs reads the local file by name: give it a plain one (a symlink to the real file).
    const name = join(stage, `f${n++}`);
    await symlink(resolve(p), name);
    return name;
  };
  const addTree = async (src: string, target: string, mode?: number): Promise<void> => {
    const st = await lstat(src).catch((e: unknown) => {
      throw new SysextError("IO", `cannot read ${src}: ${(e as Error).message}`, {
        cause: e,
        location: { file: src },
        hint: "give an existing host file or directory to place into the guest",
      });
    });
    if (st.isDirectory()) {
      ops.push({ kind: "dir", path: target, mode: st.mode & 0o7777 });
      for (const name of (await readdir(src)).sort()) {
        await addTree(join(src, name), checkGuestPath(`${target}/${name}`, src));
      }
    } else if (st.isSymbolicLink()) {
      ops.push({ kind: "symlink", path: target, target: checkLinkTarget(await readlink(src)) });
    } else if (st.isFile()) {
      ops.push({ kind: "file", path: target, local: await local(src), mode: mode ?? st.mode & 0o7777 });
    } else {
      throw new SysextError("USAGE", `${src} is not a regular file, directory or symlink`, {
        location: { file: src },
        hint: "only files, directories and symlinks can be placed into the guest",
      });
    }
  };
  await mkdir(stage, { recursive: true });
  for (const f of files) {
    const target = checkGuestPath(f.target, "guest file");
    if ("symlink" in f) ops.push({ kind: "symlink", path: target, target: checkLinkTarget(f.symlink) });
    else if ("content" in f) {
      const name = join(stage, `f${n++}`);
      await writeFile(name, f.content);
      ops.push({ kind: "file", path: target, local: name, mode: f.mode ?? 0o644 });
    } else await addTree(f.source, target, f.mode);
  }
  return ops;
}

/** Entries of a guest directory (name -> mode), or undefined when it does not exist. */
async function listGuestDir(spec: string, dir: string): Promise<Map<string, number> | undefined> {
  const { stdout, stderr } = await runTool("debugfs", ["-R", `ls -p ${dir}`, spec]);
  if (/File not found|not a directory/i.test(stderr)) return undefined;
  const out = new Map<string, number>();
  for (const line of stdout.split("\n")) {
    // /inode/mode/uid/gid/name/size/
    const m = /^\/\d+\/(\d+)\/\d+\/\d+\/(.*)\/\d*\/$/.exec(line);
    if (m && m[2] !== "." && m[2] !== "..") out.set(m[2]!, Number.parseInt(m[1]!, 8));
  }
  return out;
}

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/**
 * Place `files` into the ext4 file system at `offset` of `disk`, owned by root. Missing parent
 * directories are made (0755); existing files are replaced; an existing directory where a file goes,
 * or a symlink on the way to a target, is an error (debugfs would write through neither safely).
 */
export async function injectFiles(
  disk: string,
  offset: number,
  files: readonly GuestFile[],
  stage: string,
): Promise<void> {
  const spec = fsSpec(disk, offset);
  const ops = await plan(files, stage);
  const listings = new Map<string, Map<string, number> | undefined>();
  const created = new Set<string>();
  const lookup = async (path: string): Promise<number | undefined> => {
    if (created.has(path)) return S_IFDIR;
    const parent = posix.dirname(path);
    // Below a directory made now or one that does not exist, nothing exists yet.
    if (created.has(parent)) return undefined;
    if (parent !== "/" && (await lookup(parent)) === undefined) return undefined;
    if (!listings.has(parent)) listings.set(parent, await listGuestDir(spec, parent));
    return listings.get(parent)?.get(posix.basename(path));
  };
  const cmds: string[] = [];
  const ensureDir = async (dir: string, mode = 0o755): Promise<void> => {
    if (dir === "/") return;
    const found = await lookup(dir);
    if (found === undefined) {
      await ensureDir(posix.dirname(dir));
      cmds.push(`mkdir ${dir}`, ...owner(dir, S_IFDIR | mode));
      created.add(dir);
    } else if ((found & S_IFMT) === S_IFLNK) {
      throw new SysextError("USAGE", `${dir} is a symlink in the guest; files cannot be placed below it`, {
        hint: "give the guest path the symlink points to",
      });
    } else if ((found & S_IFMT) !== S_IFDIR) {
      throw new SysextError("USAGE", `${dir} exists in the guest and is not a directory`, {
        hint: "choose another guest path",
      });
    }
  };
  for (const op of ops) {
    if (op.kind === "dir") {
      await ensureDir(op.path, op.mode);
      continue;
    }
    await ensureDir(posix.dirname(op.path));
    const found = await lookup(op.path);
    if (found !== undefined) {
      if ((found & S_IFMT) === S_IFDIR) {
        throw new SysextError("USAGE", `${op.path} is a directory in the guest`, {
          hint: "place the file at another path, or below that directory",
        });
      }
      cmds.push(`rm ${op.path}`);
    }
    if (op.kind === "file") cmds.push(`write ${op.local} ${op.path}`, ...owner(op.path, 0o100000 | op.mode));
    else cmds.push(`symlink ${op.path} ${op.target}`);
  }
  if (cmds.length === 0) return;
  const cmdFile = join(stage, "debugfs.cmds");
  await writeFile(cmdFile, `${cmds.join("\n")}\n`);
  const { stderr } = await runTool("debugfs", ["-w", "-f", cmdFile, spec]);
  const errors = stderr
    .split("\n")
    .filter((l) => l.trim() !== "" && !/^debugfs \d/.test(l) && !/^\s*Using EXT2FS/.test(l));
  if (errors.length > 0) {
    throw new SysextError(
      "TOOL_FAILED",
      `placing files into the guest disk failed: ${errors.slice(0, 5).join(" | ")}`,
      {
        location: { file: disk },
        hint: "is there enough space in the root file system, and is it ext4?",
      },
    );
  }
}

function owner(path: string, mode: number): string[] {
  return [`sif ${path} mode 0${mode.toString(8)}`, `sif ${path} uid 0`, `sif ${path} gid 0`];
}
