// inspectImage edge cases (big directories, compressed release files, directory images) and the directory backend.
import { execa } from "execa";
import { mkdir, mkdtemp, readdir, rm, stat, symlink, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { writeImage } from "../../src/image/index.js";
import { detectFormat, inspectImage, parsePermissions } from "../../src/image/inspect.js";
import { TreeBuilder, type Tree } from "../../src/tree/tree.js";
import { BIN } from "../helpers/cli.js";
import { runWithoutTools } from "../helpers/masked.js";
import { needRoot, needTools } from "../helpers/tools.js";
import { diffTree, EPOCH, imageOptions, makeFixture, readTreeFromDisk } from "./fixture.js";

const enc = (s: string) => new TextEncoder().encode(s);

describe("inspectImage", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "sysextkit-inspect-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const bigTree = () => {
    const b = new TreeBuilder();
    for (let i = 0; i < 400; i++) {
      const data = enc(`file ${i}\n`);
      b.add({
        type: "file",
        path: `usr/share/many/${"n".repeat(40)}-${String(i).padStart(4, "0")}`,
        mode: 0o644,
        size: data.length,
        content: { kind: "bytes", data },
        origin: "t",
      });
    }
    // A release file large and repetitive enough that erofs stores it compressed.
    const release = enc(
      `ID=_any\n${"# padding comment line that compresses well\n".repeat(600)}SYSEXT_ID=big\n`,
    );
    b.add({
      type: "file",
      path: "usr/lib/extension-release.d/extension-release.other",
      mode: 0o644,
      size: release.length,
      content: { kind: "bytes", data: release },
      xattrs: { "user.extension-release.strict": "false" },
      origin: "t",
    });
    return b.build();
  };

  it.each(["squashfs", "erofs"] as const)(
    "lists multi-block directories and compressed release files (%s)",
    async (format) => {
      await needTools("mksquashfs", "mkfs.erofs", "unsquashfs", "fsck.erofs", "setfattr");
      const tree = bigTree();
      const out = join(dir, `big-${format}.raw`);
      await writeImage(imageOptions(tree, out, format, dir));
      if (format === "erofs") {
        const { stdout } = await execa("dump.erofs", [
          "--path=/usr/lib/extension-release.d/extension-release.other",
          out,
        ]);
        expect(stdout).toMatch(/Layout: [13]/); // really compressed: exercises the extraction fallback
      }
      const info = await inspectImage(out);
      expect(info.files.map((f) => f.path)).toEqual(tree.entries.map((e) => e.path));
      // Named "big-<format>", so the single other release file is the one reported.
      expect(info.releaseFiles).toEqual(["extension-release.other"]);
      expect(info.release).toMatchObject({ ID: "_any", SYSEXT_ID: "big" });
      expect(info.strictXattr).toBe("false");
    },
  );

  it("writes and reads the directory format", async () => {
    needRoot();
    await needTools("setfattr");
    const fx = await makeFixture(dir, "dirext", { devices: true });
    const out = join(dir, "dirext");
    await writeImage(imageOptions(fx.tree, out, "directory", dir));
    expect(diffTree(fx, await readTreeFromDisk(out), EPOCH)).toEqual([]);
    const info = await inspectImage(out);
    expect(info.format).toBe("directory");
    expect(info.sha256).toBeUndefined();
    expect(info.release).toMatchObject({ ID: "testos", VERSION_ID: "1.0" });
    expect(info.strictXattr).toBe("0");
  });

  it("never follows a symlink out of a directory image to read release files", async () => {
    const host = join(dir, "host-files");
    await mkdir(join(host, "extension-release.d"), { recursive: true });
    await writeFile(join(host, "extension-release.d/extension-release.linked"), "ID=host-secret\n");
    const image = join(dir, "linked");
    await mkdir(join(image, "usr"), { recursive: true });
    await symlink(host, join(image, "usr/lib"));
    const info = await inspectImage(image);
    expect(info.format).toBe("directory");
    expect(info.releaseFiles).toEqual([]);
    expect(info.release).toBeUndefined();
    expect(info.files.map((f) => `${f.type}:${f.path}`)).toEqual(["dir:usr", "symlink:usr/lib"]);
  });

  it("reports a truncated erofs image as IMAGE_INVALID", async () => {
    await needTools("mkfs.erofs", "setfattr");
    const fx = await makeFixture(dir, "cut");
    const out = join(dir, "cut.raw");
    await writeImage(imageOptions(fx.tree, out, "erofs", dir, { compression: "none" }));
    await truncate(out, 1024 + 128);
    await expect(inspectImage(out)).rejects.toMatchObject({ code: "IMAGE_INVALID" });
  });

  it("the directory backend refuses a hand-made tree that would write outside its output", async () => {
    const outside = await mkdtemp(join(dir, "outside-"));
    const data = enc("x");
    const file = (path: string) =>
      ({ type: "file", path, mode: 0o644, size: 1, content: { kind: "bytes", data }, origin: "t" }) as const;
    const trees: Tree[] = [
      { entries: [{ type: "dir", path: "usr", mode: 0o755, origin: "t" }, file("usr/../../escaped")] },
      {
        entries: [
          { type: "symlink", path: "usr", target: outside, mode: 0o777, origin: "t" },
          file("usr/escaped"),
        ],
      },
    ];
    for (const [i, tree] of trees.entries()) {
      await expect(
        writeImage(imageOptions(tree, join(dir, `escape-${i}`), "directory", dir)),
      ).rejects.toMatchObject({ code: "PATH_ESCAPE" });
    }
    expect(await readdir(outside)).toEqual([]);
    await expect(stat(join(dir, "escaped"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("refuses files that are no file system image", async () => {
    const junk = join(dir, "junk.raw");
    await writeFile(junk, Buffer.alloc(8192, 7));
    await expect(detectFormat(junk)).rejects.toMatchObject({ code: "FORMAT_UNSUPPORTED" });
  });

  it("parses ls-style permissions", () => {
    expect(parsePermissions("rwsr-xr-x")).toBe(0o4755);
    expect(parsePermissions("rwxr-sr-T")).toBe(0o3754);
    expect(parsePermissions("r--r--r--")).toBe(0o444);
  });

  it("reports mksquashfs failures as TOOL_FAILED", async () => {
    await needTools("mksquashfs");
    const b = new TreeBuilder();
    b.add({ type: "dir", path: "usr", mode: 0o755, origin: "t" });
    const out = join(dir, "no/such/dir/x.raw");
    await expect(writeImage(imageOptions(b.build(), out, "squashfs", dir))).rejects.toMatchObject({
      code: "TOOL_FAILED",
    });
  });

  // Defect: inspecting a squashfs image needed getfattr (package attr), which building it never needs.
  it.each(["squashfs", "directory"] as const)(
    "reads a %s image back without getfattr (package attr not installed)",
    async (format) => {
      needRoot();
      await needTools("mksquashfs", "unsquashfs", "setfattr", "unshare");
      const src = join(dir, `noattr-src-${format}`);
      const rel = join(src, "usr/lib/extension-release.d");
      await mkdir(rel, { recursive: true });
      await writeFile(join(rel, "extension-release.other"), "ID=_any\n");
      await execa("setfattr", [
        "-n",
        "user.extension-release.strict",
        "-v",
        "0",
        join(rel, "extension-release.other"),
      ]);
      const image = format === "squashfs" ? join(dir, "noattr.raw") : src;
      if (format === "squashfs")
        await execa("mksquashfs", [src, image, "-noappend", "-quiet", "-no-progress", "-all-root"]);
      const r = await runWithoutTools(["getfattr", "setfattr"], process.execPath, [
        BIN,
        "inspect",
        image,
        "--json",
      ]);
      expect(r.stderr).toBe("");
      expect(r.exitCode).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ format, strictXattr: "0", release: { ID: "_any" } });
      // The masking works: the same namespace does not find getfattr.
      const probe = await runWithoutTools(["getfattr"], "sh", ["-c", "command -v getfattr || echo none"]);
      expect(probe.stdout.trim()).toBe("none");
    },
  );
});
