// Entry listings of images: squashfs through unsquashfs -lln, directories through lstat (erofs: erofs-reader.ts).
import { lstat, readdir, readlink } from "node:fs/promises";
import { join } from "node:path";
import { runTool } from "../util/exec.js";

export type ImageFileType = "dir" | "file" | "symlink" | "char" | "block" | "fifo" | "socket";

export interface ImageFile {
  path: string;
  type: ImageFileType;
  /** Permission bits (mode & 0o7777). */
  mode: number;
  size?: number;
  target?: string;
  /** Device numbers of char and block devices. */
  devMajor?: number;
  devMinor?: number;
}

/** Linux's dev_t (new_encode_dev, as erofs and stat store it) split into major and minor. */
export function splitDev(rdev: number): { devMajor: number; devMinor: number } {
  const r = BigInt(rdev);
  return {
    devMajor: Number(((r >> 8n) & 0xfffn) | ((r >> 32n) & ~0xfffn)),
    devMinor: Number((r & 0xffn) | ((r >> 12n) & ~0xffn)),
  };
}

const TYPE_CHARS: Readonly<Record<string, ImageFileType>> = {
  d: "dir",
  "-": "file",
  l: "symlink",
  c: "char",
  b: "block",
  p: "fifo",
  s: "socket",
};

/** Parse `ls -l` style permissions ("rwsr-xr-x") into mode bits. */
export function parsePermissions(p: string): number {
  let mode = 0;
  for (let i = 0; i < 9; i++) {
    const ch = p[i] ?? "-";
    if (ch !== "-" && ch !== "S" && ch !== "T") mode |= 1 << (8 - i);
    if ("sStT".includes(ch)) mode |= i === 2 ? 0o4000 : i === 5 ? 0o2000 : 0o1000;
  }
  return mode;
}

const LLN =
  /^([-dlcbps])(\S{9}) (\d+)\/(\d+) +(\d+|\d+, *\d+) (\d{4}-\d\d-\d\d \d\d:\d\d) squashfs-root(?:\/(.*))?$/;

export async function listSquashfs(path: string): Promise<ImageFile[]> {
  const { stdout } = await runTool("unsquashfs", ["-lln", "-UTC", path], { env: { TZ: "UTC", LC_ALL: "C" } });
  const files: ImageFile[] = [];
  for (const line of stdout.split("\n")) {
    const m = LLN.exec(line);
    if (!m || m[7] === undefined) continue; // the root itself, or not a listing line
    const type = TYPE_CHARS[m[1]!]!;
    let p = m[7];
    let target: string | undefined;
    if (type === "symlink") {
      const i = p.indexOf(" -> ");
      if (i >= 0) {
        target = p.slice(i + 4);
        p = p.slice(0, i);
      }
    }
    const dev = /^(\d+), *(\d+)$/.exec(m[5]!);
    files.push({
      path: p,
      type,
      mode: parsePermissions(m[2]!),
      ...(type === "file" ? { size: Number(m[5]) } : {}),
      ...(target !== undefined ? { target } : {}),
      ...(dev && (type === "char" || type === "block")
        ? { devMajor: Number(dev[1]), devMinor: Number(dev[2]) }
        : {}),
    });
  }
  return files;
}

export async function listDirectory(root: string): Promise<ImageFile[]> {
  const out: ImageFile[] = [];
  const visit = async (rel: string): Promise<void> => {
    for (const n of await readdir(join(root, rel))) {
      const p = rel ? `${rel}/${n}` : n;
      const st = await lstat(join(root, p));
      const type: ImageFileType = st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
          ? "symlink"
          : st.isCharacterDevice()
            ? "char"
            : st.isBlockDevice()
              ? "block"
              : st.isFIFO()
                ? "fifo"
                : st.isSocket()
                  ? "socket"
                  : "file";
      const f: ImageFile = { path: p, type, mode: st.mode & 0o7777 };
      if (type === "file") f.size = st.size;
      if (type === "symlink") f.target = await readlink(join(root, p));
      if (type === "char" || type === "block") Object.assign(f, splitDev(st.rdev));
      out.push(f);
      if (type === "dir") await visit(p);
    }
  };
  await visit("");
  return out;
}
