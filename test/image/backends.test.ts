// squashfs and erofs backends, read back with independent tools, rebuilt for reproducibility, merged for real.
import { execa } from "execa";
import { mkdir, mkdtemp, readFile, rm, stat, utimes } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hostArch } from "../../src/base/arch.js";
import { writeImage, type ImageWriteOptions } from "../../src/image/index.js";
import { inspectImage } from "../../src/image/inspect.js";
import { digestFile } from "../../src/util/fs.js";
import { mergeInScratchRoot } from "../helpers/sysext.js";
import { needRoot, needTools } from "../helpers/tools.js";
import {
  diffTree,
  EPOCH,
  getXattr,
  imageOptions,
  makeFixture,
  readTreeFromDisk,
  type Fixture,
} from "./fixture.js";

const NAME = "testext";
const tools = {
  squashfs: ["mksquashfs", "unsquashfs", "getfattr", "setfattr"],
  erofs: ["mkfs.erofs", "fsck.erofs", "dump.erofs", "getfattr", "setfattr"],
} as const;

describe.each(["squashfs", "erofs"] as const)("%s backend", (format) => {
  let dir: string;
  let fx: Fixture;
  let image: string;

  const build = (out: string) => writeImage(imageOptions(fx.tree, out, format, dir));

  beforeAll(async () => {
    needRoot();
    await needTools(...tools[format], "systemd-sysext", "systemd-dissect", "unshare");
    dir = await mkdtemp(join(tmpdir(), `sysextkit-${format}-`));
    fx = await makeFixture(dir, NAME, { devices: true });
    image = join(dir, `${NAME}.raw`);
    await build(image);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads back entry by entry with the file system's own tools", async () => {
    const mnt = join(dir, "readback");
    await mkdir(mnt);
    if (format === "squashfs") {
      await rm(mnt, { recursive: true });
      await execa("unsquashfs", ["-no-progress", "-quiet", "-d", mnt, image]);
      const { stdout } = await execa("unsquashfs", ["-lln", image]);
      for (const line of stdout.split("\n").filter((l) => l.includes("squashfs-root")))
        expect(line).toMatch(/^\S+ 0\/0 /);
    } else {
      await execa("fsck.erofs", [image]);
      await execa("mount", ["-o", "loop,ro", "-t", "erofs", image, mnt]);
    }
    try {
      const seen = await readTreeFromDisk(mnt);
      expect(diffTree(fx, seen, EPOCH)).toEqual([]);
      expect(seen.get("usr/share/null")?.rdev).toBe((1 << 8) | 3);
      const rel = join(mnt, `usr/lib/extension-release.d/extension-release.${NAME}`);
      expect(await getXattr(rel, "user.extension-release.strict")).toBe("0");
      expect(
        await getXattr(join(mnt, "usr/lib/tool/hello.txt"), "user.extension-release.strict"),
      ).toBeUndefined();
    } finally {
      if (format === "erofs") await execa("umount", [mnt]);
    }
  });

  it("is a whole number of 4096-byte blocks", async () => {
    expect((await stat(image)).size % 4096).toBe(0);
  });

  it("is byte-identical when rebuilt with other source mtimes, umask, cwd and TZ", async () => {
    const again = join(dir, `again-${NAME}.raw`);
    const oldUmask = process.umask(0o077);
    const oldCwd = process.cwd();
    const oldTz = process.env.TZ;
    try {
      await utimes(fx.sourceFile, 12345, 67890);
      process.chdir(dir);
      process.env.TZ = "Pacific/Kiritimati";
      await build(again);
    } finally {
      process.umask(oldUmask);
      process.chdir(oldCwd);
      if (oldTz === undefined) delete process.env.TZ;
      else process.env.TZ = oldTz;
    }
    expect((await digestFile(again)).sha256).toBe((await digestFile(image)).sha256);
  });

  it("merges with systemd-sysext on a matching host and not on another VERSION_ID", async () => {
    const script = 'cat "$ROOT/usr/lib/tool/hello.txt"; test -u "$ROOT/usr/bin/su-tool" && echo SETUID';
    const yes = await mergeInScratchRoot({
      images: [{ file: image, as: `${NAME}.raw` }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.0" } },
      script,
    });
    expect(yes.exitCode, yes.mergeOutput).toBe(0);
    expect(yes.output).toContain("hello from the extension");
    expect(yes.output).toContain("SETUID");
    const no = await mergeInScratchRoot({
      images: [{ file: image, as: `${NAME}.raw` }],
      host: { osRelease: { ID: "testos", VERSION_ID: "2.0" } },
      script: 'test -e "$ROOT/usr/lib/tool/hello.txt" && echo PRESENT || echo ABSENT',
    });
    expect(no.exitCode).toBe(0);
    expect(no.mergeOutput).toContain("incompatible");
    expect(no.output).toContain("ABSENT");
  });

  it("merges under another name thanks to user.extension-release.strict=0", async () => {
    const r = await mergeInScratchRoot({
      images: [{ file: image, as: "renamed.raw" }],
      host: { osRelease: { ID: "testos", VERSION_ID: "1.0" } },
      script: 'cat "$ROOT/usr/lib/tool/hello.txt"',
    });
    expect(r.exitCode, r.mergeOutput).toBe(0);
    expect(r.output).toContain("hello from the extension");
  });

  it("is recognised by systemd-dissect with its extension-release", async () => {
    const r = await execa("systemd-dissect", [image], { reject: false, all: true });
    expect(r.all).toContain("ID=testos");
    expect(r.all).toContain("VERSION_ID=1.0");
    expect(r.all).toContain(`ARCHITECTURE=${hostArch()}`);
    expect(r.all).toMatch(/✓ extension for system/);
  });

  it("is read back by inspectImage", async () => {
    const info = await inspectImage(image);
    expect(info.format).toBe(format);
    expect(info.size).toBe((await stat(image)).size);
    expect(info.sha256).toBe((await digestFile(image)).sha256);
    expect(info.releaseFiles).toEqual([`extension-release.${NAME}`]);
    expect(info.release).toMatchObject({ ID: "testos", VERSION_ID: "1.0", SYSEXT_NAME: `Test ${NAME}` });
    expect(info.strictXattr).toBe("0");
    const paths = info.files.map((f) => f.path);
    expect(paths).toEqual(fx.tree.entries.map((e) => e.path));
    expect(info.files.find((f) => f.path === "usr/bin/su-tool")?.mode).toBe(0o4755);
    expect(info.files.find((f) => f.path === "usr/bin/tool")).toMatchObject({
      type: "file",
      size: 300_000,
      mode: 0o755,
    });
    expect(info.files.find((f) => f.path === "usr/lib/tool/link")).toMatchObject({
      type: "symlink",
      target: "../../bin/tool",
    });
    expect(info.files.find((f) => f.path === "usr/share/readonly")).toMatchObject({
      type: "dir",
      mode: 0o555,
    });
  });

  it("fails with IO naming the origin when a source file is shorter than its entry", async () => {
    const short = join(dir, "short.bin");
    await execa("truncate", ["-s", "10", short]);
    const { TreeBuilder } = await import("../../src/tree/tree.js");
    const b = new TreeBuilder();
    b.add({
      type: "file",
      path: "usr/x",
      mode: 0o644,
      size: 100,
      content: { kind: "file", path: short, offset: 0, size: 100 },
      origin: "source 'shrunk'",
    });
    await expect(
      writeImage(imageOptions(b.build(), join(dir, "bad.raw"), format, dir)),
    ).rejects.toMatchObject({ code: "IO", message: expect.stringContaining("source 'shrunk'") });
  });
});

describe("compression choices", () => {
  let dir: string;
  let fx: Fixture;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-comp-"));
    fx = await makeFixture(dir, NAME);
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const opts = (
    format: "squashfs" | "erofs",
    out: string,
    compression: ImageWriteOptions["compression"],
    level?: number,
  ) => imageOptions(fx.tree, out, format, dir, { compression, compressionLevel: level });

  it.each([
    ["zstd", 19, "zstd"],
    ["gzip", 9, "gzip"],
    ["xz", undefined, "xz"],
    ["lz4", undefined, "lz4"],
    ["none", undefined, "Data is uncompressed"],
  ] as const)("squashfs %s", async (comp, level, expected) => {
    await needTools("mksquashfs", "unsquashfs");
    const out = join(dir, `c-${comp}.raw`);
    await writeImage(opts("squashfs", out, comp, level));
    const { stdout } = await execa("unsquashfs", ["-s", out]);
    expect(stdout).toContain(expected);
    expect((await stat(out)).size % 4096).toBe(0);
    const x = join(dir, `x-${comp}`);
    await execa("unsquashfs", ["-no-progress", "-quiet", "-d", x, out]);
    expect(await readFile(join(x, "usr/lib/tool/hello.txt"), "utf8")).toBe("hello from the extension\n");
  });

  it("squashfs rejects a level the compressor does not have", async () => {
    await expect(writeImage(opts("squashfs", join(dir, "l.raw"), "xz", 5))).rejects.toMatchObject({
      code: "FORMAT_UNSUPPORTED",
    });
    await expect(writeImage(opts("squashfs", join(dir, "l.raw"), "gzip", 12))).rejects.toMatchObject({
      code: "FORMAT_UNSUPPORTED",
    });
  });

  it.each(["zstd", "gzip", "xz"] as const)("erofs refuses %s with FORMAT_UNSUPPORTED", async (comp) => {
    await needTools("mkfs.erofs");
    const out = join(dir, `e-${comp}.raw`);
    await expect(writeImage(opts("erofs", out, comp))).rejects.toMatchObject({
      code: "FORMAT_UNSUPPORTED",
      hint: expect.stringContaining("squashfs"),
    });
  });

  it.each([
    ["lz4hc", 9],
    ["lz4", undefined],
    ["none", undefined],
  ] as const)("erofs %s", async (comp, level) => {
    await needTools("mkfs.erofs", "fsck.erofs", "setfattr");
    const out = join(dir, `e-${comp}.raw`);
    await writeImage(opts("erofs", out, comp, level));
    await execa("fsck.erofs", [out]);
    expect((await stat(out)).size % 4096).toBe(0);
    const info = await inspectImage(out);
    expect(info.release?.ID).toBe("testos");
  });
});
