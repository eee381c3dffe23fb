// Test fixtures for the tar source: one small tree archived with GNU tar in every compression, and tar-stream archives.
import { execa } from "execa";
import { createWriteStream } from "node:fs";
import { chmod, link, mkdir, symlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { afterAll, beforeAll } from "vitest";
import type { SourceContext, SourceResult } from "../../src/tree/sources/context.js";
import type { TreeBuilder } from "../../src/tree/tree.js";
import { needTools } from "../helpers/tools.js";
import { addRaw, scratchContext } from "./source-context.js";

export type PackEntry = { header: Parameters<ReturnType<typeof tar.pack>["entry"]>[0]; data?: string };

/** The archives makeTarFiles writes into a directory, all of the same tree (8 entries below "."). */
export const TAR_FILES = ["plain.bin", "gz.bin", "xz.bin", "zst.bin", "bz2.bin"] as const;

/**
 * Write the tree (usr/bin/tool 0755, a hard and a soft link to it, an empty file, an 0700 directory) as
 * plain.bin with GNU tar, and gz.bin, xz.bin, zst.bin and bz2.bin compressed by the tools themselves.
 */
export async function makeTarFiles(dir: string): Promise<void> {
  const root = join(dir, "tree");
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await mkdir(join(root, "usr/lib/empty"), { recursive: true });
  await writeFile(join(root, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
  await chmod(join(root, "usr/bin/tool"), 0o755);
  await link(join(root, "usr/bin/tool"), join(root, "usr/bin/tool-hard"));
  await symlink("tool", join(root, "usr/bin/tool-soft"));
  await writeFile(join(root, "usr/lib/zero"), "");
  await chmod(join(root, "usr/lib/empty"), 0o700);
  const plain = join(dir, "plain.bin");
  await execa("tar", ["--format=posix", "--sort=name", "-cf", plain, "-C", root, "."]);
  const compress = async (tool: string, out: string) => {
    // stripFinalNewline: false, or a compressed stream that happens to end in 0x0a loses that byte (#11).
    const { stdout } = await execa(tool, ["-c", plain], { encoding: "buffer", stripFinalNewline: false });
    await writeFile(join(dir, out), stdout);
  };
  await compress("gzip", "gz.bin");
  await compress("xz", "xz.bin");
  await compress("zstd", "zst.bin");
  await compress("bzip2", "bz2.bin");
}

/** Write an archive with tar-stream pack (it can hold names GNU tar would refuse to create). */
export async function packTar(dir: string, name: string, entries: PackEntry[]): Promise<string> {
  const file = join(dir, name);
  const pack = tar.pack();
  const done = pipeline(pack, createWriteStream(file));
  for (const e of entries) {
    await new Promise<void>((resolve, reject) =>
      pack.entry(e.header, e.data ?? "", (err) => (err ? reject(err) : resolve())),
    );
  }
  pack.finalize();
  await done;
  return file;
}

/** A scratch context with the tar files of makeTarFiles in its spec directory (a missing tool fails the tests). */
export interface TarScratch {
  /** The spec directory: where the archives are, and where relative source paths start. */
  readonly dir: string;
  readonly workDir: string;
  /** Validate a raw source and add it to `builder` in this context. */
  add(builder: TreeBuilder, raw: unknown): Promise<SourceResult>;
}

/** Register hooks that create (before all tests) and remove (after them) a TarScratch. */
export function useTarScratch(): TarScratch {
  let ctx: SourceContext | undefined;
  let cleanup: (() => Promise<void>) | undefined;
  beforeAll(async () => {
    ({ ctx, cleanup } = await scratchContext());
    await needTools("tar", "gzip", "xz", "zstd", "bzip2");
    await makeTarFiles(ctx.specDir);
  });
  afterAll(() => cleanup?.());
  const current = (): SourceContext => {
    if (!ctx) throw new Error("the tar scratch context is made in beforeAll");
    return ctx;
  };
  return {
    get dir() {
      return current().specDir;
    },
    get workDir() {
      return current().workDir;
    },
    add: (builder, raw) => addRaw(builder, raw, current()),
  };
}
