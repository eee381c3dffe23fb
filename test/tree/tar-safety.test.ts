// Tests for the tar source's safety: names and links that escape, and broken or truncated archives.
import { readFile, stat, truncate, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { describe, expect, it } from "vitest";
import { openDecompressed, readTarStream } from "../../src/tree/sources/tar-reader.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { rejection } from "../helpers/errors.js";
import { entryText } from "./source-context.js";
import { packTar, type PackEntry, useTarScratch } from "./tar-fixtures.js";

const t = useTarScratch();

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
    await packTar(t.dir, `evil-${label.replace(/ /g, "-")}.tar`, entries);
    const e = await rejection(
      t.add(new TreeBuilder(), { type: "tar", path: `evil-${label.replace(/ /g, "-")}.tar` }),
    );
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("names the archive and the member in the message", async () => {
    await packTar(t.dir, "named.tar", [
      { header: { name: "ok" }, data: "1" },
      { header: { name: "../evil" }, data: "x" },
    ]);
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: "named.tar" }));
    expect(e.message).toContain("named.tar");
    expect(e.message).toContain("../evil");
  });

  it("does not let strip hide a '..' component", async () => {
    await packTar(t.dir, "strip.tar", [{ header: { name: "../x" }, data: "x" }]);
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: "strip.tar", strip: 1 }));
    expect(e.code).toBe("PATH_ESCAPE");
  });

  it("keeps a hardlink to a member that 'to' relocates inside the tree", async () => {
    await packTar(t.dir, "hl.tar", [
      { header: { name: "pkg/bin/a", mode: 0o750 }, data: "A" },
      { header: { name: "pkg/bin/b", type: "link", linkname: "pkg/bin/a" } },
    ]);
    const b = new TreeBuilder();
    await t.add(b, { type: "tar", path: "hl.tar", strip: 1, to: "/usr" });
    expect(await entryText(b.get("usr/bin/b"))).toBe("A");
    expect(b.get("usr/bin/b")?.mode).toBe(0o750);
  });
});

describe("broken archives -> ARCHIVE_INVALID", () => {
  it("refuses garbage", async () => {
    await writeFile(join(t.dir, "garbage.tar"), Buffer.alloc(4096, "not a tar archive "));
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: "garbage.tar" }));
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
    const src = join(t.dir, name);
    const cut = join(t.dir, `cut-${name}`);
    await writeFile(cut, await readFile(src));
    await truncate(cut, Math.floor((await stat(src)).size * fraction));
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: `cut-${name}` }));
    expect(e.code).toBe("ARCHIVE_INVALID");
    expect(e.location?.file).toBe(cut);
  });

  it("refuses a corrupt xz stream even when the tar data looks complete", async () => {
    const data = await readFile(join(t.dir, "xz.bin"));
    data[data.length - 20] = (data[data.length - 20] ?? 0) ^ 0xff;
    await writeFile(join(t.dir, "corrupt.xz"), data);
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: "corrupt.xz" }));
    expect(e.code).toBe("ARCHIVE_INVALID");
  });

  it("stops the decompressor when it fails before reading (a bad 'to')", async () => {
    // A decompressor nobody reads would block on its pipe and keep the program from exiting.
    const input = await openDecompressed(join(t.dir, "xz.bin"));
    const e = await rejection(
      readTarStream(new TreeBuilder(), input, {
        to: "../outside",
        strip: 0,
        exclude: [],
        onConflict: "error",
        origin: "tar xz.bin",
        blobFile: join(t.workDir, "unused"),
      }),
      "PATH_ESCAPE",
    );
    expect(e.location?.field).toBe("to");
    expect((input as Readable).destroyed).toBe(true);
  });

  it("reports a missing archive as SOURCE_INVALID", async () => {
    const e = await rejection(t.add(new TreeBuilder(), { type: "tar", path: "missing.tar" }));
    expect(e.code).toBe("SOURCE_INVALID");
    expect(e.location?.field).toBe("path");
  });
});
