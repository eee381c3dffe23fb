// Staging: write a Tree out as a real directory (exact modes, xattrs, one mtime) for mkfs.erofs or debugging.
import { createReadStream, createWriteStream } from "node:fs";
import { chmod, link, lutimes, mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
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
  await mkdir(dir, { mode: 0o755 });
  await chmod(dir, 0o755);
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
        await mkdir(p, { mode: 0o700 });
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
          await link(join(dir, e.link!), p);
          continue;
        }
        if (e.link !== undefined) inodes.add(e.path);
        done = await writeFile(e, p, done, opts.onBytes);
        break;
      case "symlink":
        await symlink(e.target, p);
        break;
      default:
        await makeNode(e, p);
    }
    if (e.type !== "symlink" && e.type !== "dir") await chmod(p, e.mode & 0o7777);
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
    if (e.type === "dir") await chmod(join(dir, e.path), e.mode & 0o7777);
    await lutimes(join(dir, e.path), t, t);
  }
  await lutimes(dir, t, t);
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

async function writeFile(
  e: FileEntry,
  p: string,
  doneBefore: number,
  onBytes: ((n: number) => void) | undefined,
): Promise<number> {
  const c = e.content;
  const src =
    c.kind === "bytes"
      ? Readable.from([Buffer.from(c.data.buffer, c.data.byteOffset, c.data.byteLength)])
      : c.size === 0
        ? Readable.from([])
        : createReadStream(c.path, { start: c.offset, end: c.offset + c.size - 1, highWaterMark: 1 << 16 });
  let n = 0;
  src.on("data", (chunk: Buffer) => {
    n += chunk.length;
    onBytes?.(doneBefore + n);
  });
  try {
    await pipeline(src, createWriteStream(p, { mode: 0o600, flags: "wx" }));
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
  return doneBefore + n;
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
