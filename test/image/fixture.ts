// Shared test fixture for the image backends: a tree with every entry kind, and an independent reader.
import { execa } from "execa";
import { createHash, randomBytes } from "node:crypto";
import { lstat, readdir, readFile, readlink, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { hostArch } from "../../src/base/arch.js";
import type { ImageWriteOptions } from "../../src/image/index.js";
import { comparePaths } from "../../src/tree/paths.js";
import { TreeBuilder, type Tree } from "../../src/tree/tree.js";
import type { TreeEntry } from "../../src/tree/types.js";

export const EPOCH = 1_700_000_000;
export const LONG_DIR = `usr/share/${"d".repeat(60)}/${"e".repeat(60)}`;

/** Options for writeImage: `tree` as `format` at `out`, defaults for compression and block size, EPOCH. */
export function imageOptions(
  tree: Tree,
  out: string,
  format: ImageWriteOptions["format"],
  workDir: string,
  extra: Partial<ImageWriteOptions> = {},
): ImageWriteOptions {
  return {
    tree,
    out,
    format,
    compression: undefined,
    compressionLevel: undefined,
    blockSize: undefined,
    epoch: EPOCH,
    workDir,
    ...extra,
  };
}

export interface Fixture {
  tree: Tree;
  /** Expected sha256 of every regular file, by path. */
  digests: Map<string, string>;
  sourceFile: string;
}

const enc = (s: string) => new TextEncoder().encode(s);

/** A tree for image `name` whose release file says ID=testos VERSION_ID=1.0 and this host's architecture. */
export async function makeFixture(
  dir: string,
  name: string,
  opts: { devices?: boolean } = {},
): Promise<Fixture> {
  const sourceFile = join(dir, "source.bin");
  const blob = randomBytes(400_000);
  await writeFile(sourceFile, blob);
  const b = new TreeBuilder();
  const digests = new Map<string, string>();
  const file = (path: string, mode: number, data: Uint8Array, extra: Partial<TreeEntry> = {}) => {
    b.add({
      type: "file",
      path,
      mode,
      size: data.length,
      content: { kind: "bytes", data },
      origin: "test",
      ...extra,
    } as TreeEntry);
    digests.set(path, sha(data));
  };
  const range = (path: string, mode: number, offset: number, size: number) => {
    b.add({
      type: "file",
      path,
      mode,
      size,
      content: { kind: "file", path: sourceFile, offset, size },
      origin: "test",
    });
    digests.set(path, sha(blob.subarray(offset, offset + size)));
  };
  b.add({ type: "dir", path: "usr", mode: 0o755, origin: "test" });
  range("usr/bin/tool", 0o755, 1000, 300_000);
  range("usr/lib/tool/small.bin", 0o640, 7, 13);
  range("usr/lib/tool/empty", 0o644, 0, 0);
  file("usr/bin/su-tool", 0o4755, enc("#!/bin/sh\necho setuid\n"));
  file("usr/lib/tool/hello.txt", 0o644, enc("hello from the extension\n"));
  file(`${LONG_DIR}/ünïcödé file.txt`, 0o600, enc("long path\n"));
  b.add({ type: "dir", path: "usr/share/private", mode: 0o700, origin: "test" });
  b.add({ type: "dir", path: "usr/share/readonly", mode: 0o555, origin: "test" });
  file("usr/share/readonly/inside", 0o444, enc("ro\n"));
  b.add({
    type: "symlink",
    path: "usr/lib/tool/link",
    mode: 0o777,
    target: "../../bin/tool",
    origin: "test",
  });
  b.add({ type: "symlink", path: "usr/bin/abs", mode: 0o777, target: "/usr/bin/tool", origin: "test" });
  if (opts.devices) {
    b.add({ type: "char", path: "usr/share/null", mode: 0o666, devMajor: 1, devMinor: 3, origin: "test" });
    b.add({ type: "fifo", path: "usr/share/fifo", mode: 0o600, origin: "test" });
  }
  file(
    `usr/lib/extension-release.d/extension-release.${name}`,
    0o644,
    enc(`ID=testos\nVERSION_ID=1.0\nARCHITECTURE=${hostArch()}\nSYSEXT_NAME="Test ${name}"\n`),
    { xattrs: { "user.extension-release.strict": "0" } },
  );
  return { tree: b.build(), digests, sourceFile };
}

export function sha(data: Uint8Array): string {
  return createHash("sha256").update(data).digest("hex");
}

export interface SeenEntry {
  type: string;
  mode: number;
  uid: number;
  gid: number;
  mtime: number;
  target?: string;
  sha256?: string;
  rdev?: number;
}

/** Read a directory tree (an extraction or a mount) with lstat, independent of our code. */
export async function readTreeFromDisk(root: string): Promise<Map<string, SeenEntry>> {
  const out = new Map<string, SeenEntry>();
  const visit = async (rel: string) => {
    for (const n of (await readdir(join(root, rel))).sort()) {
      const p = rel ? `${rel}/${n}` : n;
      const abs = join(root, p);
      const st = await lstat(abs);
      const type = st.isDirectory()
        ? "dir"
        : st.isSymbolicLink()
          ? "symlink"
          : st.isFile()
            ? "file"
            : st.isCharacterDevice()
              ? "char"
              : st.isFIFO()
                ? "fifo"
                : "other";
      const e: SeenEntry = {
        type,
        mode: st.mode & 0o7777,
        uid: st.uid,
        gid: st.gid,
        mtime: Math.floor(st.mtimeMs / 1000),
      };
      if (type === "symlink") e.target = await readlink(abs);
      if (type === "file") e.sha256 = sha(await readFile(abs));
      if (type === "char") e.rdev = st.rdev;
      out.set(p, e);
      if (type === "dir") await visit(p);
    }
  };
  await visit("");
  return out;
}

/** Compare what was read back with the tree, entry by entry; returns a list of differences. */
export function diffTree(fx: Fixture, seen: Map<string, SeenEntry>, epoch: number): string[] {
  const problems: string[] = [];
  const expected = [...fx.tree.entries].sort((a, b) => comparePaths(a.path, b.path));
  if (seen.size !== expected.length) problems.push(`entry count ${seen.size} != ${expected.length}`);
  for (const e of expected) {
    const s = seen.get(e.path);
    if (!s) {
      problems.push(`missing ${e.path}`);
      continue;
    }
    if (s.type !== e.type) problems.push(`${e.path}: type ${s.type} != ${e.type}`);
    if (e.type !== "symlink" && s.mode !== e.mode)
      problems.push(`${e.path}: mode ${s.mode.toString(8)} != ${e.mode.toString(8)}`);
    if (s.uid !== 0 || s.gid !== 0) problems.push(`${e.path}: owner ${s.uid}/${s.gid}`);
    if (s.mtime !== epoch) problems.push(`${e.path}: mtime ${s.mtime} != ${epoch}`);
    if (e.type === "symlink" && s.target !== e.target)
      problems.push(`${e.path}: target ${s.target} != ${e.target}`);
    if (e.type === "file" && s.sha256 !== fx.digests.get(e.path)) problems.push(`${e.path}: content differs`);
  }
  return problems;
}

export async function getXattr(file: string, name: string): Promise<string | undefined> {
  const r = await execa("getfattr", ["--absolute-names", "--only-values", "-h", "-n", name, file], {
    reject: false,
  });
  return r.exitCode === 0 ? String(r.stdout) : undefined;
}
