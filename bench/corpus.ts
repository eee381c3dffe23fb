// Benchmark corpus: a tree of real files (copied from this machine's /usr) of a requested size, cached.
import { copyFile, lstat, mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { join, relative } from "node:path";

const SOURCES = ["/usr/lib", "/usr/share", "/usr/bin"];
const MAX_FILE = 16 << 20;

/** Make (once) a tree under `cacheDir` holding at least `bytes` of real files below usr/. */
export async function realTree(
  cacheDir: string,
  bytes: number,
): Promise<{ dir: string; bytes: number; files: number }> {
  const dir = join(cacheDir, `tree-${Math.round(bytes / 1e6)}MB`);
  const marker = `${dir}.complete`;
  if (existsSync(marker) && existsSync(dir)) {
    const [b = 0, f = 0] = (await readFile(marker, "utf8")).split(" ").map(Number);
    return { dir, bytes: b, files: f };
  }
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  let total = 0;
  let files = 0;
  const walk = async (src: string): Promise<boolean> => {
    let names: string[];
    try {
      names = (await readdir(src)).sort();
    } catch {
      return false;
    }
    for (const name of names) {
      if (total >= bytes) return true;
      const p = join(src, name);
      const st = await lstat(p).catch(() => undefined);
      if (!st) continue;
      if (st.isDirectory()) {
        if (p.includes("node_modules") || p.startsWith("/usr/lib/modules")) continue;
        if (await walk(p)) return true;
      } else if (st.isFile() && st.size > 0 && st.size <= MAX_FILE) {
        const dest = join(tmp, "usr", relative("/usr", p));
        await mkdir(join(dest, ".."), { recursive: true });
        try {
          await copyFile(p, dest);
          total += st.size;
          files++;
        } catch {
          // unreadable file: skip
        }
      }
    }
    return false;
  };
  for (const s of SOURCES) if (await walk(s)) break;
  await rm(dir, { recursive: true, force: true });
  await rename(tmp, dir);
  await writeFile(marker, `${total} ${files}`);
  return { dir, bytes: total, files };
}
