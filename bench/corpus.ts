// Benchmark corpora, made by the bench from files every Debian machine has under /usr, cached outside the repo.
import {
  closeSync,
  createWriteStream,
  existsSync,
  lstatSync,
  openSync,
  readdirSync,
  readSync,
} from "node:fs";
import { copyFile, link, mkdir, readFile, readlink, rename, rm, symlink, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { finished } from "node:stream/promises";
import { createReadStream } from "node:fs";

export type CorpusName = "small" | "libs" | "mixed";
export const CORPORA: readonly CorpusName[] = ["small", "libs", "mixed"];

export interface Corpus {
  readonly name: CorpusName;
  readonly dir: string;
  /** Bytes of content on disk (each inode once). */
  readonly bytes: number;
  readonly files: number;
  /** Names that are further hard links to a file already counted. */
  readonly hardLinks: number;
  readonly symlinks: number;
  /** Files over 100 MB. */
  readonly bigFiles: number;
  readonly description: string;
}

/** Bumped whenever a corpus recipe changes, so cached corpora of an older recipe are made again. */
const RECIPE = 3;
const MB = 1e6;

const RECIPES: Record<CorpusName, { description: string; make: (dir: string) => Promise<Stats> }> = {
  small: {
    description: "many small files: /usr/lib, /usr/share, /usr/bin files up to 16 MB, copied one by one",
    make: (dir) => copyTrees(dir, ["/usr/lib", "/usr/share", "/usr/bin"], 180 * MB, { maxFile: 16 << 20 }),
  },
  libs: {
    description:
      "shared libraries (ELF *.so* below /usr/lib with their symlinks), 12 of them with 2-8 further hard-linked names like Mesa's DRI drivers, and 3 libraries over 100 MB",
    make: makeLibs,
  },
  mixed: {
    description:
      "1 GiB mixed tree: /usr/share, /usr/bin, /usr/lib as they are (symlinks and hard links kept), two files over 100 MB, repeated with a changed tail when the machine has less",
    make: makeMixed,
  },
};

interface Stats {
  bytes: number;
  files: number;
  hardLinks: number;
  symlinks: number;
  bigFiles: number;
}

/** The corpus `name`, made under `cacheDir` on first use and reused afterwards. */
export async function corpus(name: CorpusName, cacheDir: string): Promise<Corpus> {
  const dir = join(cacheDir, `corpus-${name}`);
  const marker = `${dir}.json`;
  const { description } = RECIPES[name];
  if (existsSync(marker) && existsSync(dir)) {
    const saved = JSON.parse(await readFile(marker, "utf8")) as Stats & { recipe: number };
    if (saved.recipe === RECIPE) return { name, dir, description, ...saved };
  }
  const tmp = `${dir}.tmp`;
  await rm(tmp, { recursive: true, force: true });
  await rm(dir, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  const stats = await RECIPES[name].make(tmp);
  await rename(tmp, dir);
  await writeFile(marker, JSON.stringify({ recipe: RECIPE, ...stats }));
  return { name, dir, description, ...stats };
}

function emptyStats(): Stats {
  return { bytes: 0, files: 0, hardLinks: 0, symlinks: 0, bigFiles: 0 };
}

interface CopyOptions {
  readonly maxFile?: number;
  /** Directories not to enter. */
  readonly skip?: ReadonlySet<string>;
  /** Keep symlinks and hard links (small: no, every name is a separate copy as before). */
  readonly links?: boolean;
  /** Which regular files to take (default all). */
  readonly accept?: (abs: string, size: number) => boolean;
  /** Which symlinks to take (default all, when links is set). */
  readonly acceptLink?: (abs: string) => boolean;
  /** Destination below `dest` (default: the source path below /). */
  readonly place?: (abs: string) => string;
  /** Bytes appended to each copied file (makes repeated passes differ, so no tool can deduplicate them). */
  readonly tail?: string;
  readonly copied?: string[];
}

/** Copy files from `roots` (walked in sorted order) into `dest` until `budget` bytes are copied. */
async function copyTrees(
  dest: string,
  roots: readonly string[],
  budget: number,
  o: CopyOptions = {},
  stats: Stats = emptyStats(),
): Promise<Stats> {
  const inodes = new Map<string, string>();
  const place = o.place ?? ((abs: string) => join(dest, relative("/", abs)));
  const walk = async (dir: string): Promise<boolean> => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch {
      return false;
    }
    for (const name of names) {
      if (stats.bytes >= budget) return true;
      const abs = join(dir, name);
      let st;
      try {
        st = lstatSync(abs);
      } catch {
        continue;
      }
      if (st.isDirectory()) {
        if (/node_modules|^\/usr\/lib\/(modules|debug)$/.test(abs) || o.skip?.has(abs)) continue;
        if (await walk(abs)) return true;
        continue;
      }
      // systemd refuses an extension carrying an os-release: the build would (rightly) stop.
      if (abs === "/usr/lib/os-release") continue;
      const to = place(abs);
      if (st.isSymbolicLink()) {
        if (!o.links || (o.acceptLink && !o.acceptLink(abs))) continue;
        await mkdir(dirname(to), { recursive: true });
        await symlink(await readlink(abs), to);
        stats.symlinks++;
        continue;
      }
      if (!st.isFile() || st.size === 0 || (o.maxFile !== undefined && st.size > o.maxFile)) continue;
      if (o.accept && !o.accept(abs, st.size)) continue;
      const id = `${st.dev}:${st.ino}`;
      const first = o.links && st.nlink > 1 ? inodes.get(id) : undefined;
      await mkdir(dirname(to), { recursive: true });
      if (first !== undefined) {
        await link(first, to);
        stats.hardLinks++;
        continue;
      }
      try {
        await copyFile(abs, to);
        if (o.tail) await writeFile(to, o.tail, { flag: "a" });
      } catch {
        continue; // unreadable: skip
      }
      if (o.links && st.nlink > 1) inodes.set(id, to);
      stats.bytes += st.size + (o.tail?.length ?? 0);
      stats.files++;
      o.copied?.push(to);
    }
    return false;
  };
  for (const r of roots) if (await walk(r)) break;
  return stats;
}

/** A shared library: *.so or *.so.N... starting with the ELF magic. */
function isSharedLibrary(abs: string): boolean {
  if (!/\.so(\.[0-9][0-9.]*)?$/.test(abs)) return false;
  const b = Buffer.alloc(4);
  let fd: number | undefined;
  try {
    fd = openSync(abs, "r");
    return readSync(fd, b, 0, 4, 0) === 4 && b.toString("latin1") === "\x7fELF";
  } catch {
    return false;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** Write `size` bytes to `file` by concatenating `sources` (from index `start`, cycling). */
async function concatenate(file: string, sources: readonly string[], start: number, size: number) {
  await mkdir(dirname(file), { recursive: true });
  const out = createWriteStream(file);
  let written = 0;
  for (let i = start; written < size; i++) {
    const src = sources[i % sources.length]!;
    for await (const chunk of createReadStream(src)) {
      const c = chunk as Buffer;
      const piece = c.subarray(0, Math.min(c.length, size - written));
      if (!out.write(piece)) await new Promise<void>((r) => out.once("drain", () => r()));
      written += piece.length;
      if (written >= size) break;
    }
  }
  out.end();
  await finished(out);
}

async function makeLibs(dest: string): Promise<Stats> {
  const copied: string[] = [];
  // The multiarch directory first (every Debian machine has its libraries there), then the rest of /usr/lib.
  const multiarch = readdirSync("/usr/lib")
    .filter((d) => /-linux-gnu/.test(d))
    .sort()
    .map((d) => join("/usr/lib", d));
  const libs: CopyOptions = {
    links: true,
    accept: (abs) => isSharedLibrary(abs),
    acceptLink: (abs) => /\.so(\.[0-9][0-9.]*)?$/.test(abs),
    copied,
  };
  const stats = await copyTrees(dest, multiarch, 250 * MB, libs);
  await copyTrees(dest, ["/usr/lib"], 250 * MB, { ...libs, skip: new Set(multiarch) }, stats);
  // Mesa-like groups: the 12 largest libraries get 2..8 further names in usr/lib/dri.
  const bySize = copied
    .map((p) => ({ p, size: lstatSync(p).size }))
    .sort((a, b) => b.size - a.size || (a.p < b.p ? -1 : 1));
  for (const [i, { p }] of bySize.slice(0, 12).entries()) {
    for (let k = 0; k < 2 + (i % 7); k++) {
      const name = join(dest, "usr/lib/dri", `${i}_${k}_${p.slice(p.lastIndexOf("/") + 1)}`);
      await mkdir(dirname(name), { recursive: true });
      await link(p, name);
      stats.hardLinks++;
    }
  }
  await addBigFiles(dest, "usr/lib/big", copied, [105, 120, 135], stats);
  return stats;
}

async function addBigFiles(dest: string, under: string, from: string[], sizesMb: number[], stats: Stats) {
  const sorted = [...from].sort();
  for (const [i, mb] of sizesMb.entries()) {
    await concatenate(join(dest, under, `libhuge-${i + 1}.so`), sorted, i * 37, mb * MB);
    stats.bytes += mb * MB;
    stats.files++;
    stats.bigFiles++;
  }
}

async function makeMixed(dest: string): Promise<Stats> {
  const target = 1 << 30;
  const big = [120, 130];
  const budget = target - big.reduce((a, b) => a + b, 0) * MB;
  const copied: string[] = [];
  const roots = ["/usr/share", "/usr/bin", "/usr/lib"];
  // Shares of the tree: documentation-like data, programs, libraries and everything else below /usr/lib.
  const stats = emptyStats();
  let upTo = 0;
  for (const [root, share] of [
    ["/usr/share", 0.4],
    ["/usr/bin", 0.1],
    ["/usr/lib", 0.5],
  ] as const) {
    upTo += share * budget;
    await copyTrees(dest, [root], upTo, { links: true, maxFile: 64 << 20, copied }, stats);
  }
  // A machine with less than 1 GiB below /usr: further passes under usr/lib/pass-N, each file with
  // another tail so that neither mksquashfs nor anything else can deduplicate them.
  for (let pass = 2; stats.bytes < budget && pass < 20; pass++) {
    const before = stats.bytes;
    await copyTrees(
      dest,
      roots,
      budget,
      {
        maxFile: 64 << 20,
        links: true,
        acceptLink: () => false,
        place: (abs) => join(dest, "usr/lib", `pass-${pass}`, relative("/usr", abs)),
        tail: `\n# corpus pass ${pass}\n`,
        copied,
      },
      stats,
    );
    if (stats.bytes === before) break;
  }
  await addBigFiles(
    dest,
    "usr/lib/big",
    copied.filter((p) => /\.so/.test(p)),
    big,
    stats,
  );
  return stats;
}
