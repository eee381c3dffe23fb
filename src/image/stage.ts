// Staging: write a Tree out as a real directory (exact modes, xattrs, one mtime) for mkfs.erofs or debugging.
import {
  chmodSync,
  closeSync,
  constants,
  copyFileSync,
  linkSync,
  lutimesSync,
  mkdirSync,
  openSync,
  readSync,
  statSync,
  symlinkSync,
  writeFileSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { SysextError } from "../errors.js";
import { isTreePath, parentOf } from "../tree/paths.js";
import type { Tree } from "../tree/tree.js";
import type { DeviceEntry, FileEntry, TreeEntry } from "../tree/types.js";
import { requireTool, spawnTool } from "../util/exec.js";
import { abbreviate, limitError, LIMITS } from "../util/limits.js";

export interface StageOptions {
  readonly epoch: number;
  /** Called with the number of content bytes written so far. */
  readonly onBytes?: (bytesDone: number) => void;
}

/**
 * Create `dir` (which must not exist) holding every entry of `tree`. Modes are set with chmod after the
 * content is written, so neither the process umask nor a setuid-clearing write changes them; xattrs are
 * set with setfattr; every mtime (the root's too) is the epoch, set children-first so no later change
 * touches a directory's time again. Owners are whoever runs this (root in a real build). Further names
 * of a hard-link group are made with link(2) to the group's first name: one inode, content written once.
 */
export async function stageTree(tree: Tree, dir: string, opts: StageOptions): Promise<void> {
  checkStagedPaths(tree, dir);
  mkdirSync(dir, { mode: 0o755 });
  chmodSync(dir, 0o755);
  const isLinkName = (e: TreeEntry) => e.type === "file" && e.link !== undefined && e.link !== e.path;
  const withXattrs = tree.entries.filter(
    (e) => e.xattrs && Object.keys(e.xattrs).length > 0 && !isLinkName(e),
  );
  const setfattr = withXattrs.length > 0 ? await requireTool("setfattr") : undefined;
  let done = 0;
  const links = new Set<string>();
  const inodes = new Set<string>();
  for (const e of tree.entries) {
    // Entries are created by joining paths: a ".." component, or a parent that is a symlink staged
    // earlier, would land outside `dir`. TreeBuilder refuses both; a hand-made Tree is checked here.
    if (!isTreePath(e.path) || ancestors(e.path).some((a) => links.has(a))) {
      throw new SysextError("PATH_ESCAPE", `cannot stage ${JSON.stringify(e.path)} (${e.origin})`, {
        hint: "build the tree with TreeBuilder, which normalises every path and refuses writing through symlinks",
      });
    }
    if (e.type === "symlink") links.add(e.path);
    const p = join(dir, e.path);
    switch (e.type) {
      case "dir":
        mkdirSync(p, { mode: 0o700 });
        break;
      case "file":
        if (isLinkName(e)) {
          // Only to a group's first name staged before: a hand-made Tree cannot link to anything else.
          if (!inodes.has(e.link!)) {
            throw new SysextError(
              "PATH_ESCAPE",
              `cannot stage hard link ${e.path} -> ${e.link} (${e.origin})`,
              {
                hint: "a hard link must name the first path of its group, a regular file earlier in the tree",
              },
            );
          }
          linkSync(join(dir, e.link!), p);
          continue;
        }
        if (e.link !== undefined) inodes.add(e.path);
        done += writeFile(e, p);
        opts.onBytes?.(done);
        break;
      case "symlink":
        symlinkSync(e.target, p);
        break;
      default:
        await makeNode(e, p);
    }
    if (e.type !== "symlink" && e.type !== "dir") chmodSync(p, e.mode & 0o7777);
  }
  if (setfattr) {
    for (const e of withXattrs) {
      for (const name of Object.keys(e.xattrs!).sort()) {
        const raw = e.xattrs![name]!;
        const value = `0x${(typeof raw === "string" ? Buffer.from(raw, "utf8") : Buffer.from(raw)).toString("hex")}`;
        try {
          await spawnTool(setfattr, ["-h", "-n", name, "-v", value, join(dir, e.path)]);
        } catch (err) {
          throw new SysextError("IO", `cannot set xattr ${name} on ${e.path} (${e.origin})`, {
            cause: err,
            hint: "the work directory's file system must support extended attributes (user.* needs ext4, xfs, btrfs or tmpfs ≥ 6.6)",
          });
        }
      }
    }
  }
  const t = new Date(opts.epoch * 1000);
  // Children first: directory modes last (a read-only directory must not block its own staging).
  for (let i = tree.entries.length - 1; i >= 0; i--) {
    const e = tree.entries[i]!;
    if (isLinkName(e)) continue;
    if (e.type === "dir") chmodSync(join(dir, e.path), e.mode & 0o7777);
    lutimesSync(join(dir, e.path), t, t);
  }
  lutimesSync(dir, t, t);
}

/**
 * Every entry is created at `dir/<path>` on this machine, which must fit PATH_MAX: the limit of the
 * erofs and directory backends is therefore LIMITS.hostPathBytes minus the length of `dir`. Checked
 * before anything is written, naming the entry.
 */
function checkStagedPaths(tree: Tree, dir: string): void {
  const room = LIMITS.hostPathBytes - Buffer.byteLength(dir) - 1;
  for (const e of tree.entries) {
    if (Buffer.byteLength(e.path) <= room) continue;
    throw limitError(
      `${abbreviate(e.path)} (${e.origin}) is ${Buffer.byteLength(e.path)} bytes; the erofs and directory backends create it below ${dir}, which leaves ${room} bytes within PATH_MAX (${LIMITS.hostPathBytes + 1})`,
      "use the squashfs format (no staging), a shorter TMPDIR or output directory, or shorten the path in its source",
    );
  }
}

function ancestors(path: string): string[] {
  const out: string[] = [];
  for (let p = parentOf(path); p !== ""; p = parentOf(p)) out.push(p);
  return out;
}

/** One buffer for copying byte ranges of archive blobs (staging copies one file at a time). */
let rangeBuffer: Buffer | undefined;

/**
 * Write a file's content at `p` (created 0600, must not exist). A whole source file is copied by the
 * kernel (copy_file_range, no bytes through JavaScript); a range of an archive blob goes through one
 * reused buffer; generated bytes are written as they are. Synchronous like the rest of staging: one
 * file at a time with no thread-pool round trips is the fastest way through a tree of small files.
 */
function writeFile(e: FileEntry, p: string): number {
  const c = e.content;
  let n: number;
  try {
    if (c.kind === "bytes") {
      writeFileSync(p, c.data, { mode: 0o600, flag: "wx" });
      n = c.data.byteLength;
    } else if (c.offset === 0 && statSync(c.path).size === c.size) {
      copyFileSync(c.path, p, constants.COPYFILE_EXCL);
      n = statSync(p).size;
    } else {
      n = copyRange(c.path, c.offset, c.size, p);
    }
  } catch (err) {
    throw new SysextError("IO", `cannot copy ${e.path} from ${e.origin}: ${(err as Error).message}`, {
      cause: err,
      hint: "check that the source file still exists and is readable, and that the work directory has space",
    });
  }
  if (n !== e.size) {
    const from = c.kind === "file" ? ` (read from ${c.path})` : "";
    throw new SysextError("IO", `${e.path} from ${e.origin}${from} has ${n} bytes, expected ${e.size}`, {
      hint: "the source changed while building; rebuild, and do not modify sources during a build",
    });
  }
  return n;
}

function copyRange(src: string, offset: number, size: number, p: string): number {
  const buf = (rangeBuffer ??= Buffer.allocUnsafe(1 << 20));
  const from = openSync(src, "r");
  try {
    const to = openSync(p, "wx", 0o600);
    try {
      let done = 0;
      while (done < size) {
        const got = readSync(from, buf, 0, Math.min(buf.length, size - done), offset + done);
        if (got === 0) break;
        for (let w = 0; w < got;) w += writeSync(to, buf, w, got - w);
        done += got;
      }
      return done;
    } finally {
      closeSync(to);
    }
  } finally {
    closeSync(from);
  }
}

async function makeNode(e: DeviceEntry, p: string): Promise<void> {
  if (e.type === "socket") {
    throw new SysextError(
      "FORMAT_UNSUPPORTED",
      `${e.path} (${e.origin}) is a socket, which cannot be staged`,
      {
        hint: "sockets are created at run time by the service that listens on them; remove it from the source",
      },
    );
  }
  const mknod = await requireTool("mknod");
  const kind =
    e.type === "char"
      ? ["c", String(e.devMajor ?? 0), String(e.devMinor ?? 0)]
      : e.type === "block"
        ? ["b", String(e.devMajor ?? 0), String(e.devMinor ?? 0)]
        : ["p"];
  try {
    await spawnTool(mknod, ["-m", "0600", p, ...kind]);
  } catch (err) {
    throw new SysextError("FORMAT_UNSUPPORTED", `cannot create ${e.type} node ${e.path} (${e.origin})`, {
      cause: err,
      hint: "device nodes can only be staged as root; build as root, use the squashfs format, or drop the node",
    });
  }
}
