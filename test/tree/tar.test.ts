// Tests for the tar source and the streaming tar reader: compressions, member types, PAX xattrs, blob offsets.
import { execa } from "execa";
import { createHash } from "node:crypto";
import { mkdir, readFile, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openDecompressed, readTarStream } from "../../src/tree/sources/tar-reader.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { entryText, readContent } from "./source-context.js";
import { packTar, TAR_FILES, useTarScratch } from "./tar-fixtures.js";

const t = useTarScratch();

describe("tar source: compressions by magic bytes", () => {
  it.each(TAR_FILES)("reads %s", async (name) => {
    const b = new TreeBuilder();
    const r = await t.add(b, { type: "tar", path: name, to: "/opt/x" });
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
    expect(content?.kind === "file" && content.path.startsWith(t.workDir)).toBe(true);
  });

  it("strips components and honours exclude relative to the stripped root", async () => {
    const b = new TreeBuilder();
    await t.add(b, { type: "tar", path: "xz.bin", strip: 2, exclude: ["lib/zero", "bin/*-soft"] });
    // GNU tar counts the leading "." of "./usr/bin/tool" as a component.
    expect([...b.paths()].sort()).toEqual(["bin", "bin/tool", "bin/tool-hard", "lib", "lib/empty"]);
  });

  it("strips the same components as GNU tar --strip-components", async () => {
    for (const strip of [1, 2, 3]) {
      const out = join(t.workDir, `gnu-strip-${strip}`);
      await mkdir(out);
      await execa("tar", ["-xf", join(t.dir, "plain.bin"), `--strip-components=${strip}`, "-C", out]);
      const { stdout } = await execa("find", [".", "-mindepth", "1", "-printf", "%P\n"], { cwd: out });
      const b = new TreeBuilder();
      await t.add(b, { type: "tar", path: "plain.bin", strip });
      expect([...b.paths()].sort()).toEqual(stdout.split("\n").filter(Boolean).sort());
    }
  });

  it("reads a compressed tar embedded at an offset of a larger file", async () => {
    const xz = await readFile(join(t.dir, "xz.bin"));
    const wrapped = join(t.dir, "wrapped.bin");
    await writeFile(wrapped, Buffer.concat([Buffer.alloc(100, 7), xz, Buffer.alloc(33, 9)]));
    const b = new TreeBuilder();
    const n = await readTarStream(b, await openDecompressed(wrapped, 100, xz.length), {
      to: "/",
      strip: 0,
      exclude: [],
      onConflict: "error",
      origin: "ar member data.tar.xz",
      blobFile: join(t.workDir, "embedded"),
      onEntry: (path) => path !== "usr/lib/zero",
    });
    expect(n).toBe(7);
    expect(b.has("usr/lib/zero")).toBe(false);
    expect(await entryText(b.get("usr/bin/tool"))).toBe("#!/bin/sh\necho tool\n");
  });

  it("streams a large member into the blob file intact", async () => {
    const big = join(t.dir, "big");
    await mkdir(big);
    const chunk = createHash("sha512").update("seed").digest();
    const data = Buffer.concat(
      Array.from({ length: (24 << 20) / chunk.length }, (_, i) => chunk.map((c) => c ^ i)),
    );
    await writeFile(join(big, "blob"), data);
    const tarFile = join(t.dir, "big.tar.zst");
    await execa("tar", ["--zstd", "-cf", tarFile, "-C", big, "blob"]);
    const b = new TreeBuilder();
    await t.add(b, { type: "tar", path: "big.tar.zst" });
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
    await packTar(t.dir, "types.tar", [
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
    await t.add(b, { type: "tar", path: "types.tar" });
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
    const a = await packTar(t.dir, "a.tar", [{ header: { name: "a" }, data: "AAAA" }]);
    const c = await packTar(t.dir, "c.tar", [{ header: { name: "c" }, data: "CC" }]);
    const b = new TreeBuilder();
    const opts = {
      to: "/",
      strip: 0,
      exclude: [],
      onConflict: "error",
      origin: "x",
      blobFile: join(t.workDir, "shared"),
    } as const;
    await readTarStream(b, await openDecompressed(a), opts);
    await readTarStream(b, await openDecompressed(c), opts);
    expect(await entryText(b.get("a"))).toBe("AAAA");
    expect(await entryText(b.get("c"))).toBe("CC");
    expect((await stat(join(t.workDir, "shared"))).size).toBe(6);
  });
});
