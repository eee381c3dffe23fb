// Hard-link groups in the tree: naming by first path, transforms, and every source that has hard links.
import { execa } from "execa";
import { chmod, link, mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { SourceContext } from "../../src/tree/sources/context.js";
import { addDebSource } from "../../src/tree/sources/deb.js";
import { applyTransforms } from "../../src/tree/transform.js";
import { TreeBuilder, treeContentSize, type Tree } from "../../src/tree/tree.js";
import type { FileEntry } from "../../src/tree/types.js";
import { thrown } from "../helpers/errors.js";
import { needTools } from "../helpers/tools.js";
import { addRaw, debContext, debSource, readContent, scratchContext } from "./source-context.js";
import { packTar } from "./tar-fixtures.js";
import { ctx as transformCtx, spec, tree } from "./transform-fixtures.js";

/** path -> link (group name) of every hard-linked file of a built tree. */
const groups = (t: Tree): Record<string, string> =>
  Object.fromEntries(
    t.entries.flatMap((e) => (e.type === "file" && e.link !== undefined ? [[e.path, e.link]] : [])),
  );

const fileOf = (b: TreeBuilder, p: string): FileEntry => {
  const e = b.get(p);
  if (e?.type !== "file") throw new Error(`${p} is not a file`);
  return e;
};

describe("TreeBuilder hard-link groups", () => {
  it("names a group after its first path, whatever the order names were added in", () => {
    const b = tree({ "usr/lib/z/libfoo.so.1": "ELF" });
    b.addHardLink("usr/lib/a/foo_dri.so", "usr/lib/z/libfoo.so.1", "test");
    b.addHardLink("usr/bin/foo", "usr/lib/a/foo_dri.so", "test");
    const t = b.build();
    expect(groups(t)).toEqual({
      "usr/bin/foo": "usr/bin/foo",
      "usr/lib/a/foo_dri.so": "usr/bin/foo",
      "usr/lib/z/libfoo.so.1": "usr/bin/foo",
    });
    expect(treeContentSize(t)).toBe(3); // stored once
    const again = tree({ "usr/bin/foo": "ELF" });
    again.addHardLink("usr/lib/z/libfoo.so.1", "usr/bin/foo", "test");
    again.addHardLink("usr/lib/a/foo_dri.so", "usr/bin/foo", "test");
    expect(groups(again.build())).toEqual(groups(t));
  });

  it("keys from newLinkGroup group files; a group left with one name is a plain file", () => {
    const b = new TreeBuilder();
    const data = new TextEncoder().encode("x");
    const content = { kind: "bytes", data } as const;
    const link = b.newLinkGroup();
    const solo = b.newLinkGroup();
    expect(link).not.toBe(solo);
    for (const p of ["opt/a", "opt/b"])
      b.add({ type: "file", path: p, mode: 0o644, size: 1, content, origin: "t", link });
    b.add({ type: "file", path: "opt/c", mode: 0o644, size: 1, content, origin: "t", link: solo });
    const t = b.build();
    expect(groups(t)).toEqual({ "opt/a": "opt/a", "opt/b": "opt/a" });
    expect(t.entries.find((e) => e.path === "opt/c")).not.toHaveProperty("link");
  });

  it("refuses a hard link to something that is not a regular file", () => {
    const b = tree({}, { "usr/bin/s": "x" });
    expect(thrown(() => b.addHardLink("usr/bin/t", "usr/bin/s", "test")).code).toBe("SOURCE_INVALID");
    expect(thrown(() => b.addHardLink("usr/bin/t", "usr/bin/nope", "test")).message).toMatch(
      /not in the tree/,
    );
  });

  it("splits names whose mode or content a later source changed, never one inode with two modes", () => {
    const b = tree({ "usr/bin/a": "1" });
    b.addHardLink("usr/bin/b", "usr/bin/a", "test");
    b.addHardLink("usr/bin/c", "usr/bin/a", "test");
    b.replace({ ...fileOf(b, "usr/bin/c"), mode: 0o755 });
    const t = b.build();
    expect(groups(t)).toEqual({ "usr/bin/a": "usr/bin/a", "usr/bin/b": "usr/bin/a" });
    // A source replacing one name with its own file takes it out of the group.
    const r = tree({ "usr/bin/a": "1" });
    r.addHardLink("usr/bin/b", "usr/bin/a", "test");
    const data = new TextEncoder().encode("2");
    r.add(
      {
        type: "file",
        path: "usr/bin/b",
        mode: 0o644,
        size: 1,
        content: { kind: "bytes", data },
        origin: "o",
      },
      "replace",
    );
    expect(groups(r.build())).toEqual({});
  });

  it("keeps groups through relocate, strip and /usr moves; the first remaining name leads", () => {
    const b = tree({ "etc/foo/foo.conf": "conf", "lib/x/libx.so": "elf" });
    b.addHardLink("usr/share/foo/default.conf", "etc/foo/foo.conf", "test");
    b.addHardLink("usr/share/doc/foo/example.conf", "etc/foo/foo.conf", "test");
    b.addHardLink("usr/share/doc/x/libx.so", "lib/x/libx.so", "test");
    b.addHardLink("bin/x", "lib/x/libx.so", "test");
    const s = spec({ relocate: [{ from: "etc/foo", to: "usr/share/foo/etc", link: "setup-unit" }] });
    applyTransforms(b, s, transformCtx(true));
    const t = b.build();
    // etc/foo moved under usr/share/foo/etc; the doc name was stripped; the other names stay one inode.
    expect(groups(t)).toEqual({
      "usr/bin/x": "usr/bin/x",
      "usr/lib/x/libx.so": "usr/bin/x",
      "usr/share/foo/default.conf": "usr/share/foo/default.conf",
      "usr/share/foo/etc/foo.conf": "usr/share/foo/default.conf",
    });
  });

  it("makes a plain file of the last name when stripping removes the others", () => {
    const b = tree({ "usr/share/doc/a/README": "r" });
    b.addHardLink("usr/share/a/README", "usr/share/doc/a/README", "test");
    applyTransforms(b, spec(), transformCtx(true));
    const t = b.build();
    expect(groups(t)).toEqual({});
    expect(t.entries.find((e) => e.path === "usr/share/a/README")?.type).toBe("file");
  });
});

describe("sources with hard links", () => {
  let ctx: SourceContext;
  let cleanup: () => Promise<void>;
  beforeAll(async () => {
    ({ ctx, cleanup } = await scratchContext());
  });
  afterAll(() => cleanup());

  it("directory: names of one device+inode form a group, content read from one of them", async () => {
    const root = join(ctx.specDir, "linked");
    await mkdir(join(root, "usr/lib/dri"), { recursive: true });
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await writeFile(join(root, "usr/lib/dri/radeon_dri.so"), "driver");
    await chmod(join(root, "usr/lib/dri/radeon_dri.so"), 0o755);
    for (const n of ["usr/lib/dri/iris_dri.so", "usr/lib/dri/swrast_dri.so", "usr/bin/drv"])
      await link(join(root, "usr/lib/dri/radeon_dri.so"), join(root, n));
    await writeFile(join(root, "usr/bin/other"), "driver"); // same bytes, another inode: not linked
    const b = new TreeBuilder();
    await addRaw(b, { type: "directory", path: "linked", exclude: ["usr/bin/drv"] }, ctx);
    // A second directory source of the same files links across sources too.
    await addRaw(b, { type: "directory", path: "linked/usr/lib/dri", to: "/opt/dri" }, ctx);
    const t = b.build();
    const lead = "opt/dri/iris_dri.so";
    expect(groups(t)).toEqual({
      "opt/dri/iris_dri.so": lead,
      "opt/dri/radeon_dri.so": lead,
      "opt/dri/swrast_dri.so": lead,
      "usr/lib/dri/iris_dri.so": lead,
      "usr/lib/dri/radeon_dri.so": lead,
      "usr/lib/dri/swrast_dri.so": lead,
    });
    const contents = new Set(
      t.entries.flatMap((e) => (e.type === "file" && e.link ? [JSON.stringify(e.content)] : [])),
    );
    expect(contents.size).toBe(1);
    expect(t.entries.find((e) => e.path === lead)?.mode).toBe(0o755);
    expect(treeContentSize(t)).toBe(12); // "driver" once for the group, once for usr/bin/other
  });

  it("directory: a name whose other names are outside the source is a plain file", async () => {
    const root = join(ctx.specDir, "half");
    await mkdir(join(root, "usr/bin"), { recursive: true });
    await writeFile(join(ctx.specDir, "outside"), "secret");
    await link(join(ctx.specDir, "outside"), join(root, "usr/bin/inside"));
    const b = new TreeBuilder();
    await addRaw(b, { type: "directory", path: "half" }, ctx);
    const t = b.build();
    expect(groups(t)).toEqual({});
    expect(t.entries.map((e) => e.path)).toEqual(["usr", "usr/bin", "usr/bin/inside"]);
  });

  it("tar: hard-link members join their target's group, with the target's mode and xattrs", async () => {
    const file = await packTar(ctx.specDir, "links.tar", [
      { header: { name: "usr/bin/tool", mode: 0o755, pax: { "SCHILY.xattr.user.k": "v" } }, data: "t" },
      { header: { name: "usr/bin/tool2", type: "link", linkname: "usr/bin/tool", mode: 0o600 } },
      { header: { name: "usr/sbin/tool3", type: "link", linkname: "usr/bin/tool2" } },
    ]);
    const b = new TreeBuilder();
    await addRaw(b, { type: "tar", path: file }, ctx);
    const t = b.build();
    expect(groups(t)).toEqual({
      "usr/bin/tool": "usr/bin/tool",
      "usr/bin/tool2": "usr/bin/tool",
      "usr/sbin/tool3": "usr/bin/tool",
    });
    for (const e of t.entries.filter((x) => x.type === "file")) {
      expect(e.mode).toBe(0o755);
      expect(e.xattrs).toEqual({ "user.k": "v" });
    }
  });

  it("tar: when the target's name lost a conflict (keep), its other names stay linked", async () => {
    const file = await packTar(ctx.specDir, "keep.tar", [
      { header: { name: "a" }, data: "archive" },
      { header: { name: "b", type: "link", linkname: "a" } },
      { header: { name: "c", type: "link", linkname: "a" } },
    ]);
    const b = tree({ "opt/a": "earlier" });
    await addRaw(b, { type: "tar", path: file, to: "/opt", onConflict: "keep" }, ctx);
    const t = b.build();
    expect(groups(t)).toEqual({ "opt/b": "opt/b", "opt/c": "opt/b" });
    expect((await readContent(fileOf(b, "opt/b").content)).toString()).toBe("archive");
    expect((await readContent(fileOf(b, "opt/a").content)).toString()).toBe("earlier");
  });

  it("deb: hard links in the data tarball become one group", async () => {
    await needTools("dpkg-deb", "tar", "ar");
    const stage = join(ctx.specDir, "debroot");
    await mkdir(join(stage, "DEBIAN"), { recursive: true });
    await mkdir(join(stage, "usr/bin"), { recursive: true });
    await writeFile(
      join(stage, "DEBIAN/control"),
      "Package: linked\nVersion: 1.0\nArchitecture: amd64\nMaintainer: T <t@example.org>\nDescription: d\n",
    );
    await writeFile(join(stage, "usr/bin/perl"), "#!perl");
    await chmod(join(stage, "usr/bin/perl"), 0o755);
    await link(join(stage, "usr/bin/perl"), join(stage, "usr/bin/perl5.36.0"));
    const deb = join(ctx.specDir, "linked_1.0_amd64.deb");
    await execa("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", stage, deb]);
    const b = new TreeBuilder();
    const dctx = await debContext(ctx.specDir);
    await addDebSource(b, debSource({ packages: [deb] }), dctx);
    expect(groups(b.build())).toEqual({
      "usr/bin/perl": "usr/bin/perl",
      "usr/bin/perl5.36.0": "usr/bin/perl",
    });
  });
});
