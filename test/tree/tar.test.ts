// Tests for the tar source and the streaming tar reader: compressions, member types, PAX xattrs, safety.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, link, mkdir, readFile, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import tar from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SysextError } from "../../src/errors.js";
import { sourceSchema } from "../../src/spec/schema.js";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { addSource } from "../../src/tree/sources/index.js";
import { openDecompressed, readTarStream } from "../../src/tree/sources/tar-reader.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { haveTools } from "../helpers/tools.js";
import { entryText, readContent, scratchContext } from "./source-context.js";

type PackEntry = { header: Parameters<ReturnType<typeof tar.pack>["entry"]>[0]; data?: string };

let ctx: SourceContext;
let cleanup: () => Promise<void>;
let tools = false;
beforeAll(async () => {
  ({ ctx, cleanup } = await scratchContext());
  tools = await haveTools("tar", "gzip", "xz", "zstd", "bzip2");
  if (!tools) return;
  const root = join(ctx.specDir, "tree");
  await mkdir(join(root, "usr/bin"), { recursive: true });
  await mkdir(join(root, "usr/lib/empty"), { recursive: true });
  await writeFile(join(root, "usr/bin/tool"), "#!/bin/sh\necho tool\n");
  await chmod(join(root, "usr/bin/tool"), 0o755);
  await link(join(root, "usr/bin/tool"), join(root, "usr/bin/tool-hard"));
  await symlink("tool", join(root, "usr/bin/tool-soft"));
  await writeFile(join(root, "usr/lib/zero"), "");
  await chmod(join(root, "usr/lib/empty"), 0o700);
  const plain = join(ctx.specDir, "plain.bin");
  await execa("tar", ["--format=posix", "--sort=name", "-cf", plain, "-C", root, "."]);
  const compress = async (tool: string, out: string) => {
    const { stdout } = await execa(tool, ["-c", plain], { encoding: "buffer" });
    await writeFile(join(ctx.specDir, out), stdout);
  };
  await compress("gzip", "gz.bin");
  await compress("xz", "xz.bin");
  await compress("zstd", "zst.bin");
  await compress("bzip2", "bz2.bin");
});
afterAll(() => cleanup());

const add = (builder: TreeBuilder, raw: unknown) => addSource(builder, sourceSchema.parse(raw), ctx);

async function rejection(p: Promise<unknown>): Promise<SysextError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof SysextError) return e;
    throw e;
  }
  throw new Error("expected a SysextError");
}

/** Write an archive with tar-stream pack (can hold names GNU tar would refuse to create). */
async function packTar(name: string, entries: PackEntry[]): Promise<string> {
  const file = join(ctx.specDir, name);
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

describe("tar source: compressions by magic bytes", () => {
  it.each(["plain.bin", "gz.bin", "xz.bin", "zst.bin", "bz2.bin"])("reads %s", async (name) => {
    if (!tools) return;
    const b = new TreeBuilder();
    const r = await add(b, { type: "tar", path: name, to: "/opt/x" });
    const tree = b.build();
    expect(tree.entries.map((e) => `${e.type}:${e.path}`)).toEqual([
      "dir:opt",
      "dir:opt/x",
      "dir:opt/x/usr",
      "dir:opt/x/usr/bin",
      "file:opt/x/usr/bin/tool",
      "file:opt/x/usr/bin/tool-hard",
      "symlink:opt/x/usr/bin/tool-soft",
      "dir:opt/x/usr/lib",
      "dir:opt/x/usr/lib/empty",
      "file:opt/x/usr/lib/zero",
    ]);
    expect(r.entries).toBe(8);
    const tool = b.get("opt/x/usr/bin/tool");
    const hard = b.get("opt/x/usr/bin/tool-hard");
    expect(tool?.mode).toBe(0o755);
    expect(await entryText(tool)).toBe("#!/bin/sh\necho tool\n");
    // The hard link shares the content of its target.
    expect(hard?.type === "file" && tool?.type === "file" && hard.content).toEqual(
      tool?.type === "file" && tool.content,
    );
    expect(hard?.mode).toBe(0o755);
    expect(b.get("opt/x/usr/bin/tool-soft")).toMatchObject({ type: "symlink", target: "tool" });
    expect(b.get("opt/x/usr/lib/empty")?.mode).toBe(0o700);
    expect(await entryText(b.get("opt/x/usr/lib/zero"))).toBe("");
    const content = tool?.type === "file" ? tool.content : undefined;
    expect(content?.kind === "file" && content.path.startsWith(ctx.workDir)).toBe(true);
  });

  it("strips components and honours exclude relative to the stripped root", async () => {
    if (!tools) return;
    const b = new TreeBuilder();
    await add(b, { type: "tar", path: "xz.bin", strip: 2, exclude: ["lib/zero", "bin/*-soft"] });
    // GNU tar counts the leading "." of "./usr/bin/tool" as a component.
    expect([...b.paths()].sort()).toEqual(["bin", "bin/tool", "bin/tool-hard", "lib", "lib/empty"]);
  });

  it("strips the same components as GNU tar --strip-components", async () => {
    if (!tools) return;
    for (const strip of [1, 2, 3]) {
      const out = join(ctx.workDir, `gnu-strip-${strip}`);
      await mkdir(out);
      await execa("tar", ["-xf", join(ctx.specDir, "plain.bin"), `--strip-components=${strip}`, "-C", out]);
      const { stdout } = await execa("find", [".", "-mindepth", "1", "-printf", "%P\n"], { cwd: out });
      const b = new TreeBuilder();
      await add(b, { type: "tar", path: "plain.bin", strip });
      expect([...b.paths()].sort()).toEqual(stdout.split("\n").filter(Boolean).sort());
    }
  });

  it("reads a compressed tar embedded at an offset of a larger file", async () => {
    if (!tools) return;
    const xz = await readFile(join(ctx.specDir, "xz.bin"));
    const wrapped = join(ctx.specDir, "wrapped.bin");
    await writeFile(wrapped, Buffer.concat([Buffer.alloc(100, 7), xz, Buffer.alloc(33, 9)]));
    const b = new TreeBuilder();
    const n = await readTarStream(b, await openDecompressed(wrapped, 100, xz.length), {
      to: "/",
      strip: 0,
      exclude: [],
      onConflict: "error",
      origin: "ar member data.tar.xz",
      blobFile: join(ctx.workDir, "embedded"),
      onEntry: (path) => path !== "usr/lib/zero",
    });
    expect(n).toBe(7);
    expect(b.has("usr/lib/zero")).toBe(false);
    expect(await entryText(b.get("usr/bin/tool"))).toBe("#!/bin/sh\necho tool\n");
  });

  it("streams a large member into the blob file intact", async () => {
    if (!tools) return;
    const big = join(ctx.specDir, "big");
    await mkdir(big);
    const chunk = createHash("sha512").update("seed").digest();
    const data = Buffer.concat(
      Array.from({ length: (24 << 20) / chunk.length }, (_, i) => chunk.map((c) => c ^ i)),
    );
    await writeFile(join(big, "blob"), data);
    const tarFile = join(ctx.specDir, "big.tar.zst");
    await execa("tar", ["--zstd", "-cf", tarFile, "-C", big, "blob"]);
    const b = new TreeBuilder();
    await add(b, { type: "tar", path: "big.tar.zst" });
    const e = b.get("blob");
    expect(e?.type === "file" && e.size).toBe(data.length);
    const got = e?.type === "file" ? await readContent(e.content) : Buffer.alloc(0);
    expect(createHash("sha256").update(got).digest("hex")).toBe(
      createHash("sha256").update(data).digest("hex"),
    );
  });
});

describe("tar member types built with tar-stream", () => {
  it("keeps PAX xattrs, devices, fifos and overlay whiteouts", async () => {
    await packTar("types.tar", [
      { header: { name: "usr/", type: "directory", mode: 0o755 } },
      {
        header: {
          name: "usr/bin/cap",
          mode: 0o755,
          pax: { "SCHILY.xattr.security.capability": "caps", "SCHILY.xattr.user.x": "1" },
        },
        data: "ELF",
      },
      { header: { name: "usr/null", type: "character-device", devmajor: 1, devminor: 3, mode: 0o666 } },
      { header: { name: "usr/sda", type: "block-device", devmajor: 8, devminor: 0, mode: 0o660 } },
      { header: { name: "usr/pipe", type: "fifo", mode: 0o644 } },
      { header: { name: "usr/lib/.wh.gone" }, data: "" },
      { header: { name: "usr/share/.wh..wh..opq" }, data: "" },
      { header: { name: "usr/same" }, data: "first" },
      { header: { name: "usr/same" }, data: "second" },
    ]);
    const b = new TreeBuilder();
    await add(b, { type: "tar", path: "types.tar" });
    expect(b.get("usr/bin/cap")?.xattrs).toEqual({ "security.capability": "caps", "user.x": "1" });
    expect(b.get("usr/null")).toMatchObject({ type: "char", devMajor: 1, devMinor: 3, mode: 0o666 });
    expect(b.get("usr/sda")).toMatchObject({ type: "block", devMajor: 8, devMinor: 0 });
    expect(b.get("usr/pipe")?.type).toBe("fifo");
    expect(b.get("usr/lib/.wh.gone")?.type).toBe("file");
    expect(b.get("usr/share/.wh..wh..opq")?.type).toBe("file");
    // A member repeated within one archive: the later copy wins, like tar extraction.
    expect(await entryText(b.get("usr/same"))).toBe("second");
  });

  it("appends several archives to one blob file at the right offsets", async () => {
    const a = await packTar("a.tar", [{ header: { name: "a" }, data: "AAAA" }]);
    const c = await packTar("c.tar", [{ header: { name: "c" }, data: "CC" }]);
    const b = new TreeBuilder();
    const opts = {
      to: "/",
      strip: 0,
      exclude: [],
      onConflict: "error",
      origin: "x",
      blobFile: join(ctx.workDir, "shared"),
    } as const;
    await readTarStream(b, await openDecompressed(a), opts);
    await readTarStream(b, await openDecompressed(c), opts);
    expect(await entryText(b.get("a"))).toBe("AAAA");
    expect(await entryText(b.get("c"))).toBe("CC");
    expect((await stat(join(ctx.workDir, "shared"))).size).toBe(6);
  });
});

describe("tar safety (node-tar style regressions)", () => {
  it.each<[string, PackEntry[]]>([
    ["dotdot", [{ header: { name: "../x" }, data: "x" }]],
    ["absolute", [{ header: { name: "/etc/passwd" }, data: "root::0:0" }]],
    ["inner dotdot", [{ header: { name: "a/../../x" }, data: "x" }]],
    [
      "escaping symlink then write through it",
      [
        { header: { name: "usr/x", type: "symlink", linkname: "../../.." } },
        { header: { name: "usr/x/y" }, data: "pwned" },
      ],
    ],
    [
      "in-tree symlink then write through it",
      [
        { header: { name: "usr/x", type: "symlink", linkname: "../opt" } },
        { header: { name: "usr/x/y" }, data: "pwned" },
      ],
    ],
    [
      "hardlink out of the tree",
      [{ header: { name: "usr/shadow", type: "link", linkname: "../../etc/shadow" } }],
    ],
    ["absolute hardlink", [{ header: { name: "usr/shadow", type: "link", linkname: "/etc/shadow" } }]],
    [
      "hardlink to a later member",
      [
        { header: { name: "usr/l", type: "link", linkname: "usr/f" } },
        { header: { name: "usr/f" }, data: "f" },
      ],
    ],
    [
      "hardlink to a directory",
      [
        { header: { name: "usr/d/", type: "directory" } },
        { header: { name: "usr/l", type: "link", linkname: "usr/d" } },
      ],
    ],
  ])("%s -> PATH_ESCAPE", async (label, entries) => {
    await packTar(`evil-${label.replace(/ /g, "-")}.tar`, entries);
    const e = await rejection(
      add(new TreeBuilder(), { type: "tar", path: `evil-${label.replace(/ /g, "-")}.tar` }),
    );
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("names the archive and the member in the message", async () => {
    await packTar("named.tar", [
      { header: { name: "ok" }, data: "1" },
      { header: { name: "../evil" }, data: "x" },
    ]);
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: "named.tar" }));
    expect(e.message).toContain("named.tar");
    expect(e.message).toContain("../evil");
  });

  it("does not let strip hide a '..' component", async () => {
    await packTar("strip.tar", [{ header: { name: "../x" }, data: "x" }]);
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: "strip.tar", strip: 1 }));
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("keeps a hardlink to a member that 'to' relocates inside the tree", async () => {
    await packTar("hl.tar", [
      { header: { name: "pkg/bin/a", mode: 0o750 }, data: "A" },
      { header: { name: "pkg/bin/b", type: "link", linkname: "pkg/bin/a" } },
    ]);
    const b = new TreeBuilder();
    await add(b, { type: "tar", path: "hl.tar", strip: 1, to: "/usr" });
    expect(await entryText(b.get("usr/bin/b"))).toBe("A");
    expect(b.get("usr/bin/b")?.mode).toBe(0o750);
  });
});

describe("broken archives -> ARCHIVE_INVALID", () => {
  it("refuses garbage", async () => {
    await writeFile(join(ctx.specDir, "garbage.tar"), Buffer.alloc(4096, "not a tar archive "));
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: "garbage.tar" }));
    expect(e.code).toBe("ARCHIVE_INVALID");
    expect(e.message).toContain("garbage.tar");
  });

  it.each([
    ["plain.bin", 0.5],
    ["gz.bin", 0.5],
    ["xz.bin", 0.6],
    ["zst.bin", 0.6],
    ["bz2.bin", 0.6],
  ])("refuses %s truncated", async (name, fraction) => {
    if (!tools) return;
    const src = join(ctx.specDir, name);
    const cut = join(ctx.specDir, `cut-${name}`);
    await writeFile(cut, await readFile(src));
    await truncate(cut, Math.floor((await stat(src)).size * fraction));
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: `cut-${name}` }));
    expect(e.code).toBe("ARCHIVE_INVALID");
    expect(e.location?.file).toBe(cut);
  });

  it("refuses a corrupt xz stream even when the tar data looks complete", async () => {
    if (!tools) return;
    const data = await readFile(join(ctx.specDir, "xz.bin"));
    data[data.length - 20] = (data[data.length - 20] ?? 0) ^ 0xff;
    await writeFile(join(ctx.specDir, "corrupt.xz"), data);
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: "corrupt.xz" }));
    expect(e.code).toBe("ARCHIVE_INVALID");
  });

  it("reports a missing archive as SOURCE_INVALID", async () => {
    const e = await rejection(add(new TreeBuilder(), { type: "tar", path: "missing.tar" }));
    expect(e.code).toBe("SOURCE_INVALID");
    expect(e.location?.field).toBe("path");
  });
});
