// Hard links end to end: directory, tar and .deb sources into squashfs, erofs and directory output, read back
// with unsquashfs, fsck.erofs and kernel mounts (one inode per group, content stored once), reproducibly.
import { execa } from "execa";
import { randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, link, lstat, mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { pipeline } from "node:stream/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildExtension, hostArch, readBase, specFromObject, type BuildResult } from "../../src/index.js";
import type { BaseRelease } from "../../src/base/base.js";
import { mksquashfsFlags } from "../../src/image/squashfs.js";
import { treeToTar } from "../../src/image/tar-writer.js";
import { TreeBuilder } from "../../src/tree/tree.js";
import { buildRpm } from "../helpers/rpm.js";
import { needRoot, needTools } from "../helpers/tools.js";

const BIG = 1 << 20; // incompressible, so "stored once" shows in the image size
/** The link groups the fixture has after the default strip (usr/share/doc goes). */
const GROUPS = [
  ["usr/bin/big", "usr/lib/dri/a_dri.so", "usr/lib/dri/b_dri.so", "usr/lib/libbig.so.1"],
  ["usr/share/perl/x.pm", "usr/share/perl/y.pm"],
];
const SOLO = ["usr/bin/solo", "usr/share/perl/z.pm"];

/**
 * The same tree made in two orders (so the inode numbers and the name created first differ): a 1 MiB
 * library with three more names (and a fourth under usr/share/doc, stripped by default), a pair of text
 * files, files that are not linked.
 */
async function makeSource(dir: string, blob: Buffer, order: "forward" | "reverse"): Promise<void> {
  for (const d of ["usr/bin", "usr/lib/dri", "usr/share/perl", "usr/share/doc/big"])
    await mkdir(join(dir, d), { recursive: true });
  const big = order === "forward" ? GROUPS[0]! : [...GROUPS[0]!].reverse();
  const names = [...big, "usr/share/doc/big/copy.so"];
  await writeFile(join(dir, names[0]!), blob);
  await chmod(join(dir, names[0]!), 0o755);
  for (const n of names.slice(1)) await link(join(dir, names[0]!), join(dir, n));
  const [x, y] = order === "forward" ? GROUPS[1]! : [...GROUPS[1]!].reverse();
  await writeFile(join(dir, x!), "package x;\n");
  await link(join(dir, x!), join(dir, y!));
  await writeFile(join(dir, "usr/share/perl/z.pm"), "package x;\n");
  await writeFile(join(dir, "usr/bin/solo"), "#!/bin/sh\n");
}

/** name -> "inode/nlink" under a mounted or extracted root. */
async function inodes(root: string, names: string[]): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const n of names) {
    const st = await lstat(join(root, n));
    out.set(n, `${st.ino}/${st.nlink}`);
  }
  return out;
}

/** Every name of a group shares one inode with nlink = group size; distinct groups and solo files do not. */
function expectGroups(seen: Map<string, string>): void {
  const all = new Set<string>();
  for (const g of GROUPS) {
    const ids = new Set(g.map((n) => seen.get(n)));
    expect(ids.size, `one inode for ${g.join(", ")}`).toBe(1);
    const id = [...ids][0]!;
    expect(id.endsWith(`/${g.length}`), `nlink of ${g[0]} is ${g.length}: ${id}`).toBe(true);
    all.add(id);
  }
  for (const s of SOLO) {
    expect(seen.get(s)).toMatch(/\/1$/);
    all.add(seen.get(s)!);
  }
  expect(all.size).toBe(GROUPS.length + SOLO.length);
}

async function mounted<T>(image: string, type: string, dir: string, use: (mnt: string) => Promise<T>) {
  const mnt = await mkdtemp(join(dir, "mnt-"));
  await execa("mount", ["-o", "loop,ro", "-t", type, image, mnt]);
  try {
    return await use(mnt);
  } finally {
    await execa("umount", [mnt]);
  }
}

const ALL = [...GROUPS.flat(), ...SOLO];

describe("hard links", () => {
  let dir: string;
  let base: BaseRelease;
  const blob = randomBytes(BIG);
  const build = (name: string, source: unknown, format: "squashfs" | "erofs" | "directory", out = "out") =>
    buildExtension({
      spec: specFromObject({ name, sources: [source] }, dir),
      base,
      outDir: join(dir, out),
      format,
      epoch: 1_700_000_000,
    });

  beforeAll(async () => {
    await needTools("mksquashfs", "unsquashfs", "mkfs.erofs", "fsck.erofs", "tar", "dpkg-deb", "mount");
    needRoot();
    dir = await mkdtemp(join(tmpdir(), "sysextkit-hardlinks-"));
    await writeFile(join(dir, "os-release"), "ID=testos\nVERSION_ID=1\n");
    base = await readBase({ path: join(dir, "os-release"), arch: hostArch() });
    await makeSource(join(dir, "src"), blob, "forward");
    await makeSource(join(dir, "src-reverse"), blob, "reverse");
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  describe.each(["squashfs", "erofs"] as const)("%s", (format) => {
    let r: BuildResult;
    beforeAll(async () => {
      r = await build("linked", { type: "directory", path: "src" }, format, `out-${format}`);
    });

    it("mounts with one inode per link group, nlink > 1, and the content stored once", async () => {
      await mounted(r.image, format, dir, async (mnt) => {
        expectGroups(await inodes(mnt, ALL));
        expect((await stat(join(mnt, "usr/lib/dri/a_dri.so"))).size).toBe(BIG);
      });
      // Four names of 1 MiB of random bytes: one copy in the image (erofs does not deduplicate content).
      expect(r.size).toBeLessThan(BIG * 1.2);
      if (format === "squashfs") {
        const { stdout } = await execa("unsquashfs", ["-lln", r.image]);
        for (const n of GROUPS[0]!)
          expect(stdout).toMatch(new RegExp(`0/0 +${BIG} .* squashfs-root/${n}\\n`));
        // unsquashfs recreates hard links for names of one inode.
        const x = join(dir, "extracted");
        await execa("unsquashfs", ["-no-progress", "-quiet", "-d", x, r.image]);
        expectGroups(await inodes(x, ALL));
      } else {
        await execa("fsck.erofs", [r.image]);
      }
    });

    it("has the same inodes and link counts as the reference tool on the same tree", async () => {
      // Our directory output is the tree as the image has it; the reference builds from it directly.
      const tree = (await build("linked", { type: "directory", path: "src" }, "directory", `ref-${format}`))
        .image;
      const ref = join(dir, `ref-${format}.img`);
      if (format === "squashfs") {
        await execa("mksquashfs", [
          tree,
          ref,
          ...mksquashfsFlags({
            compression: undefined,
            compressionLevel: undefined,
            blockSize: undefined,
            epoch: 0,
          }),
        ]);
      } else {
        await execa("mkfs.erofs", ["--quiet", "-T0", "--all-root", ref, tree]);
      }
      const count = async (img: string) =>
        mounted(img, format, dir, async (mnt) => {
          const seen = await inodes(mnt, ALL);
          return [...seen.keys()].map((n) => `${n} ${seen.get(n)!.split("/")[1]}`);
        });
      expect(await count(r.image)).toEqual(await count(ref));
      if (format === "squashfs") {
        const inodeCount = async (img: string) =>
          /Number of inodes (\d+)/.exec((await execa("unsquashfs", ["-stat", img])).stdout)?.[1];
        expect(await inodeCount(r.image)).toBe(await inodeCount(ref));
      }
    });

    it("is byte-identical when the source's inodes and creation order differ", async () => {
      const again = await build(
        "linked",
        { type: "directory", path: "src-reverse" },
        format,
        `rev-${format}`,
      );
      expect(again.sha256).toBe(r.sha256);
    });
  });

  it("directory output recreates the hard links", async () => {
    const r = await build("linked", { type: "directory", path: "src" }, "directory", "out-dir");
    expectGroups(await inodes(r.image, ALL));
    const top = await readdir(r.image);
    expect(top).toEqual(["usr"]);
  });

  it.for(["squashfs", "erofs"] as const)(
    "tar and .deb sources keep their hard links (%s)",
    async (format) => {
      const src = join(dir, "src");
      const tarFile = join(dir, "linked.tar.zst");
      await execa("tar", ["--zstd", "--sort=name", "-cf", tarFile, "-C", src, "usr"]);
      const deb = join(dir, "debroot");
      await rm(deb, { recursive: true, force: true });
      await execa("cp", ["-a", src, deb]);
      await mkdir(join(deb, "DEBIAN"));
      await writeFile(
        join(deb, "DEBIAN/control"),
        "Package: linked\nVersion: 1.0\nArchitecture: all\nMaintainer: T <t@example.org>\nDescription: d\n",
      );
      const debFile = join(dir, "linked_1.0_all.deb");
      await execa("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", deb, debFile]);
      const fromTar = await build("linked", { type: "tar", path: tarFile }, format, `tar-${format}`);
      const fromDeb = await build(
        "linked",
        { type: "deb", dir: ".", packages: [debFile], skipDependencyCheck: true },
        format,
        `deb-${format}`,
      );
      for (const r of [fromTar, fromDeb]) {
        await mounted(r.image, format, dir, async (mnt) => expectGroups(await inodes(mnt, ALL)));
        expect(r.size).toBeLessThan(BIG * 1.2);
      }
    },
  );

  it("the tar stream carries the content once and hard-link members naming the first path", async () => {
    const b = new TreeBuilder();
    const data = randomBytes(5000);
    b.add({
      type: "file",
      path: "usr/lib/z.so",
      mode: 0o755,
      size: data.length,
      content: { kind: "bytes", data },
      origin: "test",
      xattrs: { "user.k": "v" },
    });
    b.addHardLink("usr/bin/a", "usr/lib/z.so", "test");
    b.addHardLink("usr/lib/dri/m_dri.so", "usr/lib/z.so", "test");
    const file = join(dir, "links.tar");
    await pipeline(treeToTar(b.build(), { epoch: 0 }), createWriteStream(file));
    const { stdout } = await execa("tar", ["-tvf", file]);
    expect(stdout).toMatch(/^-rwxr-xr-x root\/root +5000 .* usr\/bin\/a$/m);
    expect(stdout).toMatch(/^hrwxr-xr-x root\/root +0 .* usr\/lib\/dri\/m_dri\.so link to usr\/bin\/a$/m);
    expect(stdout).toMatch(/^hrwxr-xr-x root\/root +0 .* usr\/lib\/z\.so link to usr\/bin\/a$/m);
    expect((await stat(file)).size).toBeLessThan(5000 + 20 * 512);
    const x = join(dir, "untarred");
    await mkdir(x);
    await execa("tar", ["--xattrs", "--xattrs-include=user.*", "-xf", file, "-C", x]);
    const ids = await inodes(x, ["usr/bin/a", "usr/lib/dri/m_dri.so", "usr/lib/z.so"]);
    expect(new Set(ids.values())).toEqual(new Set(["" + (await lstat(join(x, "usr/bin/a"))).ino + "/3"]));
    expect(Buffer.compare(await readFile(join(x, "usr/lib/z.so")), data)).toBe(0);
  });

  it("an RPM's hard-link set is one inode in the image (rpmbuild package, kernel mount)", async () => {
    await needTools("rpmbuild");
    const rpm = await buildRpm(
      {
        name: "linked",
        version: "1",
        files: { "/usr/lib/linked/libx.so.1": { content: "ELF".repeat(5000), mode: 0o755 } },
        hardlinks: {
          "/usr/bin/x": "/usr/lib/linked/libx.so.1",
          "/usr/lib/dri/x_dri.so": "/usr/lib/linked/libx.so.1",
        },
      },
      join(dir, "rpms"),
    );
    const names = ["usr/bin/x", "usr/lib/dri/x_dri.so", "usr/lib/linked/libx.so.1"];
    for (const format of ["squashfs", "erofs"] as const) {
      const r = await build("linked", { type: "rpm", packages: [rpm] }, format, `rpm-${format}`);
      await mounted(r.image, format, dir, async (mnt) => {
        const ids = await inodes(mnt, names);
        expect(new Set(ids.values()).size, JSON.stringify([...ids])).toBe(1);
        expect([...ids.values()][0]).toMatch(/\/3$/);
      });
    }
  });
});
