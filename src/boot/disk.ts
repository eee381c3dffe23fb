// The guest's throwaway root disk: an ext4 image of a root directory (cached), or a copy of a disk image.
import { createHash } from "node:crypto";
import { lstat, mkdir, readdir, rename, rm, stat } from "node:fs/promises";
import { join, resolve } from "node:path";
import { SysextError } from "../errors.js";
import { runTool } from "../util/exec.js";
import { exists, tempSibling } from "../util/fs.js";
import { withLock } from "../util/lock.js";
import type { BootBase } from "./base.js";

const MiB = 1024 * 1024;
/** Free space every cached root disk gets on top of its content (sparse: costs nothing until used). */
const HEADROOM = 1024 * MiB;

/** Size, modification time, owner and mode of every entry below `root`: changes when the tree changes. */
async function treeFingerprint(root: string): Promise<{ digest: string; bytes: number }> {
  const h = createHash("sha256");
  let bytes = 0;
  const walk = async (dir: string, rel: string): Promise<void> => {
    const names = (await readdir(dir)).sort();
    for (const n of names) {
      const p = join(dir, n);
      const st = await lstat(p);
      bytes += st.isFile() ? st.blocks * 512 : 4096;
      h.update(`${rel}/${n}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.size}\0${st.mtimeMs}\0${st.ino}\n`);
      if (st.isDirectory()) await walk(p, `${rel}/${n}`);
    }
  };
  await walk(root, "");
  return { digest: h.digest("hex"), bytes };
}

/**
 * An ext4 image of the root directory `root` (mkfs.ext4 -d: owners, modes, xattrs and hard links as in
 * the tree), cached under `cacheDir` by a fingerprint of the tree, so later boots of an unchanged base
 * only copy it. Older disks of the same root are removed when a new one is made.
 */
export async function cachedRootDisk(root: string, cacheDir: string): Promise<string> {
  const abs = resolve(root);
  const dir = join(cacheDir, "boot-disks");
  await mkdir(dir, { recursive: true });
  const rootKey = createHash("sha256").update(abs).digest("hex").slice(0, 16);
  const { digest, bytes } = await treeFingerprint(abs);
  const disk = join(dir, `${rootKey}-${digest.slice(0, 16)}.raw`);
  return withLock(
    disk,
    async () => {
      if (await exists(disk)) return disk;
      const size = Math.ceil((bytes * 1.15 + HEADROOM) / MiB);
      const tmp = tempSibling(disk);
      try {
        await runTool("mkfs.ext4", ["-q", "-F", "-L", "sysextkit-root", "-d", abs, tmp, `${size}M`]);
        await rename(tmp, disk);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      for (const old of await readdir(dir)) {
        if (old.startsWith(`${rootKey}-`) && old.endsWith(".raw") && join(dir, old) !== disk) {
          await rm(join(dir, old), { force: true });
        }
      }
      return disk;
    },
    { waitMs: 30 * 60_000, what: `the cached root disk of ${abs}` },
  );
}

/** A writable throwaway copy of the base's disk at `out` (raw, sparse); the base is only read. */
export async function throwawayDisk(base: BootBase, out: string, cacheDir: string): Promise<void> {
  if (base.kind === "directory") {
    await runTool("cp", ["--sparse=always", await cachedRootDisk(base.path, cacheDir), out]);
  } else if (base.kind === "raw") {
    await runTool("cp", ["--sparse=always", "--reflink=auto", base.path, out]);
  } else {
    await runTool("qemu-img", ["convert", "-q", "-O", "raw", base.path, out]);
  }
}

/** Free bytes of the ext4 file system at `offset` of `disk` (dumpe2fs -h). */
async function freeBytes(disk: string, offset: number): Promise<number> {
  const { stdout } = await runTool("dumpe2fs", ["-h", fsSpec(disk, offset)], {
    env: { LC_ALL: "C" },
  });
  const field = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+)`, "m").exec(stdout)?.[1] ?? NaN);
  return field("Free blocks") * field("Block size");
}

/** How e2fsprogs names a file system inside an image: "disk.raw?offset=N". */
export function fsSpec(disk: string, offset: number): string {
  return offset === 0 ? disk : `${disk}?offset=${offset}`;
}

/**
 * Make sure `needed` bytes fit into the root file system of the throwaway disk: a whole-disk ext4 is
 * grown (truncate + resize2fs); a partition that is too small is an error naming the shortfall.
 */
export async function ensureSpace(disk: string, offset: number, needed: number): Promise<void> {
  const free = await freeBytes(disk, offset);
  const want = needed + 64 * MiB;
  if (free >= want) return;
  if (offset !== 0) {
    throw new SysextError(
      "USAGE",
      `the root partition of the disk has ${Math.floor(free / MiB)} MiB free, the extensions and files need ${Math.ceil(want / MiB)} MiB`,
      { location: { file: disk }, hint: "boot a disk image with more free space in its root partition" },
    );
  }
  const size = (await stat(disk)).size + want - free + 64 * MiB;
  await runTool("truncate", ["-s", String(Math.ceil(size / MiB) * MiB), disk]);
  await runTool("e2fsck", ["-fy", disk]).catch(() => undefined);
  await runTool("resize2fs", ["-f", disk]);
}
